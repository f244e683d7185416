package sandboxtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/mailgrant/mailgrant/flows/sandbox"
)

// callback is a loopback listener that records what the browser brings back.
type callback struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []url.Values
}

func newCallback(t *testing.T) *callback {
	t.Helper()
	c := &callback{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		c.mu.Lock()
		c.got = append(c.got, r.Form)
		c.mu.Unlock()
		_, _ = w.Write([]byte("<p>You can close this window.</p>"))
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// localhostURL is the listener's URL with host localhost, as mailgrant sends.
func (c *callback) localhostURL(path string) string {
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(c.srv.URL, "http://"))
	return "http://localhost:" + port + path
}

func (c *callback) last(t *testing.T) url.Values {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) == 0 {
		t.Fatal("the browser never reached the callback")
	}
	return c.got[len(c.got)-1]
}

// openBrowser runs xdg-open (the fake browser) as pkg/browser does.
func openBrowser(t *testing.T, u string) error {
	t.Helper()
	out, err := exec.Command("xdg-open", u).CombinedOutput()
	if err != nil {
		t.Logf("xdg-open output: %s", out)
	}
	return err
}

func pkce() (string, string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestFakeBrowser(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		action   string
		mode     string
		wantUser string
		wantErr  string
	}{
		{name: "accepts as the preselected user", wantUser: sandbox.AdeleVance.UPN},
		{name: "picks the user from the environment", user: sandbox.MeganBowen.UPN, wantUser: sandbox.MeganBowen.UPN},
		{name: "cancels", action: "cancel", wantErr: "access_denied"},
		{name: "submits form_post responses", mode: "form_post", wantUser: sandbox.AdeleVance.UPN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given a sandbox, the fake browser and a loopback callback
			srv := Start(t, sandbox.Options{})
			logPath := InstallFakeBrowser(t)
			t.Setenv("MAILGRANT_FAKE_BROWSER_USER", tt.user)
			t.Setenv("MAILGRANT_FAKE_BROWSER_ACTION", tt.action)
			if os.Getenv("MAILGRANT_LOGIN_HOST") != srv.URL() || os.Getenv("MAILGRANT_GRAPH_HOST") != srv.URL() {
				t.Fatal("hosts not set")
			}
			cb := newCallback(t)
			verifier, challenge := pkce()
			redirect := cb.localhostURL("/cb")
			params := url.Values{
				"client_id": {sandbox.PublicApp.ClientID}, "response_type": {"code"}, "redirect_uri": {redirect},
				"scope": {"offline_access openid Mail.Send"}, "state": {"s1"},
				"code_challenge": {challenge}, "code_challenge_method": {"S256"},
			}
			if tt.mode != "" {
				params.Set("response_mode", tt.mode)
			}
			authURL := srv.URL() + "/organizations/oauth2/v2.0/authorize?" + params.Encode()

			// When the browser is opened on the authorize URL
			if err := openBrowser(t, authURL); err != nil {
				t.Fatal(err)
			}

			// Then it visited the page and came back to the callback
			log, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(log)), "\n")
			if lines[0] != authURL || len(lines) < 3 || !strings.HasPrefix(lines[len(lines)-1], redirect) {
				t.Fatalf("log:\n%s", log)
			}
			q := cb.last(t)
			if q.Get("state") != "s1" {
				t.Fatalf("callback got %v", q)
			}
			if tt.wantErr != "" {
				if q.Get("error") != tt.wantErr {
					t.Fatalf("callback got %v", q)
				}
				return
			}
			// And the code redeems for the chosen user.
			resp, err := http.PostForm(srv.URL()+"/organizations/oauth2/v2.0/token", url.Values{
				"client_id": {sandbox.PublicApp.ClientID}, "grant_type": {"authorization_code"}, "code": {q.Get("code")},
				"redirect_uri": {redirect}, "code_verifier": {verifier},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
				t.Fatalf("token: %d %v", resp.StatusCode, err)
			}
			parts := strings.Split(tok.AccessToken, ".")
			claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
			if !strings.Contains(string(claims), `"upn":"`+tt.wantUser+`"`) {
				t.Errorf("token for the wrong user: %s", claims)
			}
		})
	}

	t.Run("grants admin consent", func(t *testing.T) {
		srv := Start(t, sandbox.Options{})
		InstallFakeBrowser(t)
		cb := newCallback(t)
		u := srv.URL() + "/" + sandbox.TenantID + "/v2.0/adminconsent?" + url.Values{
			"client_id": {sandbox.DaemonApp.ClientID}, "scope": {"https://graph.microsoft.com/.default"},
			"redirect_uri": {cb.localhostURL("/consent")}, "state": {"c1"},
		}.Encode()
		if err := openBrowser(t, u); err != nil {
			t.Fatal(err)
		}
		if q := cb.last(t); q.Get("admin_consent") != "True" || q.Get("tenant") != sandbox.TenantID || q.Get("error") != "" {
			t.Fatalf("callback got %v", q)
		}
	})

	t.Run("submits a marked form on a tiny local page", func(t *testing.T) {
		InstallFakeBrowser(t)
		var mu sync.Mutex
		var posted url.Values
		mux := http.NewServeMux()
		mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/form", http.StatusFound)
		})
		mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`<html><body>
<form method="get" action="/elsewhere"><input type="hidden" name="no" value="no"></form>
<form method="post" action="/submit" data-sandbox-form="signin">
<input type="hidden" name="state" value="a&amp;b&quot;c">
<input type="radio" name="user" value="one@example.com">
<input type="radio" name="user" value="two@example.com" checked>
<button type="submit" name="action" value="accept">Accept</button>
</form></body></html>`))
		})
		mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			mu.Lock()
			posted = r.PostForm
			mu.Unlock()
			http.Redirect(w, r, "/done", http.StatusFound)
		})
		mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("done")) })
		page := httptest.NewServer(mux)
		defer page.Close()
		if err := openBrowser(t, page.URL+"/start"); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if posted.Get("state") != `a&b"c` || posted.Get("user") != "two@example.com" || posted.Get("action") != "accept" || posted.Has("no") {
			t.Fatalf("posted %v", posted)
		}
	})

	t.Run("fails when the first page cannot be fetched", func(t *testing.T) {
		InstallFakeBrowser(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		err = openBrowser(t, "http://"+addr+"/nothing")
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
			t.Fatalf("want a non-zero exit, got %v", err)
		}
	})
}
