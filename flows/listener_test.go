package flows

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// startTestFlow starts a sign-in whose token endpoint is never reached.
func startTestFlow(t *testing.T, timeout time.Duration) *AuthCodeFlow {
	t.Helper()
	env, err := NewEnv(EnvOptions{LoginHost: "http://127.0.0.1:1", GraphHost: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	p := store.Profile{Name: "t", Scenario: store.SendAsUser, Tenant: "contoso.onmicrosoft.com", ClientID: "1b2c3d4e-1111-2222-3333-444455556666", Account: "m@contoso.com", Permissions: []string{"Mail.Send"}}
	f, err := StartAuthCode(context.Background(), env, p, AuthCodeOptions{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func TestAuthorizeURL(t *testing.T) {
	f := startTestFlow(t, time.Minute)
	u, err := url.Parse(f.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	redirect, _ := url.Parse(q.Get("redirect_uri"))
	if redirect.Hostname() != "localhost" || redirect.Port() == "" || redirect.Path != "" {
		t.Errorf("redirect_uri %q is not http://localhost:PORT", q.Get("redirect_uri"))
	}
	for k, want := range map[string]string{"response_type": "code", "code_challenge_method": "S256", "login_hint": "m@contoso.com", "client_id": "1b2c3d4e-1111-2222-3333-444455556666"} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 20 {
		t.Errorf("weak PKCE challenge or state: %q %q", q.Get("code_challenge"), q.Get("state"))
	}
	if !strings.Contains(q.Get("scope"), "offline_access") || !strings.Contains(q.Get("scope"), "Mail.Send") {
		t.Errorf("scope %q", q.Get("scope"))
	}
	if u.Path != "/contoso.onmicrosoft.com/oauth2/v2.0/authorize" {
		t.Errorf("path %q", u.Path)
	}
}

// TestListenerLoopbackOnly: both loopback addresses answer, no other does.
func TestListenerLoopbackOnly(t *testing.T) {
	f := startTestFlow(t, time.Minute)
	port := strings.TrimPrefix(f.RedirectURI(), "http://localhost:")
	resp, err := http.Get("http://127.0.0.1:" + port + "/nope")
	if err != nil {
		t.Fatalf("127.0.0.1 does not answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unexpected path answered %d, want 404", resp.StatusCode)
	}
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		ln.Close()
		resp, err := http.Get("http://[::1]:" + port + "/nope")
		if err != nil {
			t.Fatalf("::1 does not answer: %v", err)
		}
		resp.Body.Close()
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		host := net.JoinHostPort(ipn.IP.String(), port)
		if c, err := net.DialTimeout("tcp", host, 300*time.Millisecond); err == nil {
			c.Close()
			t.Errorf("listener answers on %s", host)
		}
	}
}

func TestCallbackRefusesWrongStateAndKeepsWaiting(t *testing.T) {
	f := startTestFlow(t, time.Minute)
	base := "http://127.0.0.1:" + strings.TrimPrefix(f.RedirectURI(), "http://localhost:")
	// A client with a timeout: if the state check were gone, the request
	// would wait for a token exchange that never comes, and the test must
	// fail rather than hang.
	client := &http.Client{Timeout: 10 * time.Second}
	for _, q := range []string{"?code=x", "?code=x&state=wrong"} {
		resp, err := client.Get(base + "/" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
		}
	}
	// The flow still waits: an error redirect with the right state ends it.
	state, _ := url.Parse(f.URL())
	done := make(chan error, 1)
	go func() { _, err := f.Wait(context.Background()); done <- err }()
	resp, err := client.Get(base + "/?error=access_denied&error_description=AADSTS65004%3A+declined&state=" + url.QueryEscape(state.Query().Get("state")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	err = <-done
	var fe *Error
	if !errors.As(err, &fe) || fe.Code != "AADSTS65004" {
		t.Fatalf("want AADSTS65004, got %v", err)
	}
	// The listener is closed after one use: a replay gets no answer.
	if resp, err := client.Get(base + "/?code=x&state=" + url.QueryEscape(state.Query().Get("state"))); err == nil {
		resp.Body.Close()
		t.Fatalf("a second callback was answered with %d", resp.StatusCode)
	}
}

func TestWaitTimeoutAndCancel(t *testing.T) {
	f := startTestFlow(t, 50*time.Millisecond)
	_, err := f.Wait(context.Background())
	var fe *Error
	if !errors.As(err, &fe) || fe.Code != "timeout" || fe.Hint == "" {
		t.Fatalf("want a timeout error with a hint, got %v", err)
	}
	f = startTestFlow(t, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Wait(ctx); !errors.As(err, &fe) || fe.Code != "cancelled" {
		t.Fatalf("want cancelled, got %v", err)
	}
	port := strings.TrimPrefix(f.RedirectURI(), "http://localhost:")
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 300*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("listener still open after cancel")
	}
}
