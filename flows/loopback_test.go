package flows

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// noFollow is a client that does not follow redirects and cannot hang a test.
var noFollow = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// startLoopback opens a loopback for a profile and waits on it with handle;
// the returned channel gets wait's result.
func startLoopback(t *testing.T, handle func(context.Context, url.Values) error) (*loopback, string, chan error) {
	t.Helper()
	p := store.Profile{Name: "work-mail", Account: "adele@contoso.com"}
	l, err := newLoopback(time.Minute, pageText{subject: pageSubject(p), heading: "Signed in", failed: "Sign-in not completed", lines: []string{"You are signed in. mailgrant is now checking that it can send mail with this sign-in."}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	done := make(chan error, 1)
	go func() { done <- l.wait(context.Background(), handle) }()
	return l, "http://127.0.0.1:" + strconv.Itoa(l.port), done
}

// get fetches base+path with Host set to host (when not empty).
func get(t *testing.T, base, path, host string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
	} {
		if h.Get(k) != want {
			t.Errorf("%s: %s = %q, want %q", what, k, h.Get(k), want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: Content-Security-Policy = %q", what, csp)
	}
}

// TestLoopbackRedirectsToACleanPage: the redirect carrying code and state is
// answered with a 303 to a path without them; the page there says the
// sign-in worked and that mailgrant is still checking (not "authorized"),
// names the profile, and sends the reader back to the terminal.
func TestLoopbackRedirectsToACleanPage(t *testing.T) {
	l, base, done := startLoopback(t, func(context.Context, url.Values) error { return nil })
	resp, _ := get(t, base, "/?code=secret-code&state="+url.QueryEscape(l.state), "localhost:"+strconv.Itoa(l.port))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != resultPath {
		t.Fatalf("redirect answered %d Location %q, want 303 %s", resp.StatusCode, resp.Header.Get("Location"), resultPath)
	}
	checkSecurityHeaders(t, "redirect", resp.Header)
	resp, page := get(t, base, resultPath, "")
	checkSecurityHeaders(t, "result page", resp.Header)
	for _, want := range []string{"Signed in", "checking", "Return to the terminal", "work-mail (adele@contoso.com)"} {
		if !strings.Contains(page, want) {
			t.Errorf("result page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(strings.ToLower(page), "authorized") || strings.Contains(page, "secret-code") {
		t.Errorf("result page claims authorization before the checks, or shows the code:\n%s", page)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestLoopbackErrorPageIsForHumans: an error redirect shows what happened in
// a sentence, the code, what to do and "return to the terminal"; a cancel
// does not tell the user to ask an admin.
func TestLoopbackErrorPageIsForHumans(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  []string
		avoid string
	}{
		{"error=access_denied&error_description=AADSTS65004%3A+User+declined", []string{"Sign-in cancelled", "AADSTS65004", "Return to the terminal", "run the command again"}, "admin"},
		{"error=invalid_request&error_description=AADSTS50011%3A+redirect+mismatch", []string{"Sign-in not completed", "The redirect URI is not registered", "AADSTS50011", "To fix it: in Entra", "Return to the terminal"}, "\u2717 Not completed \u2014"},
	} {
		l, base, done := startLoopback(t, func(_ context.Context, q url.Values) error { return ParseRedirectError(q) })
		resp, _ := get(t, base, "/?"+tc.query+"&state="+url.QueryEscape(l.state), "")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: status %d, want 303", tc.query, resp.StatusCode)
		}
		_, page := get(t, base, resultPath, "")
		for _, want := range tc.want {
			if !strings.Contains(page, want) {
				t.Errorf("%s: page lacks %q:\n%s", tc.query, want, page)
			}
		}
		if strings.Contains(page, tc.avoid) {
			t.Errorf("%s: page says %q:\n%s", tc.query, tc.avoid, page)
		}
		<-done
	}
}

// TestLoopbackRefusesOtherHosts: a request whose Host is not a loopback name
// with this port (DNS rebinding, another port) is refused, and the sign-in
// keeps waiting for the real redirect.
func TestLoopbackRefusesOtherHosts(t *testing.T) {
	l, base, done := startLoopback(t, func(context.Context, url.Values) error { return nil })
	port := strconv.Itoa(l.port)
	for _, host := range []string{"evil.example:" + port, "localhost:1", "127.0.0.1", "localhost.evil.example:" + port} {
		resp, page := get(t, base, "/?code=x&state="+url.QueryEscape(l.state), host)
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %s: status %d, want 421", host, resp.StatusCode)
		}
		checkSecurityHeaders(t, "Host "+host, resp.Header)
		if !strings.Contains(page, "still waiting") {
			t.Errorf("Host %s: the page does not say the sign-in is still waiting:\n%s", host, page)
		}
	}
	for _, host := range []string{"LOCALHOST:" + port, "[::1]:" + port} {
		resp, _ := get(t, base, "/nope", host)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("Host %s: status %d, want 404 (accepted host, unknown path)", host, resp.StatusCode)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("the flow ended on a refused request: %v", err)
	default:
	}
	resp, _ := get(t, base, "/?code=x&state="+url.QueryEscape(l.state), "127.0.0.1:"+port)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the real redirect: status %d", resp.StatusCode)
	}
	get(t, base, resultPath, "")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestLoopbackWrongStatePage: a redirect with another state says the real
// sign-in is still waiting.
func TestLoopbackWrongStatePage(t *testing.T) {
	_, base, _ := startLoopback(t, func(context.Context, url.Values) error { return nil })
	resp, page := get(t, base, "/?code=x&state=stale", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "The real sign-in is still waiting") || !strings.Contains(page, "Return to the terminal") {
		t.Fatalf("wrong state: %d\n%s", resp.StatusCode, page)
	}
	checkSecurityHeaders(t, "wrong state", resp.Header)
}

// TestLoopbackCloseCutsTricklingRequests: a client that sends its request a
// byte at a time does not keep the listener alive after close.
func TestLoopbackCloseCutsTricklingRequests(t *testing.T) {
	l, base, _ := startLoopback(t, func(context.Context, url.Values) error { return nil })
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /?code=x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { l.close(); close(closed) }()
	// The server must drop the connection well before its 5 s header timeout.
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = bufio.NewReader(c).ReadByte()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the trickling connection is still open after close")
	}
	<-closed
}

// TestLoopbackDropsAStalledRequest: issue 11 item 4. A client that starts a
// request and never finishes it is dropped after the read timeouts, while
// the sign-in keeps waiting for the real redirect.
func TestLoopbackDropsAStalledRequest(t *testing.T) {
	header, read := loopbackHeaderTimeout, loopbackReadTimeout
	loopbackHeaderTimeout, loopbackReadTimeout = 200*time.Millisecond, 400*time.Millisecond
	t.Cleanup(func() { loopbackHeaderTimeout, loopbackReadTimeout = header, read })
	_, base, done := startLoopback(t, func(context.Context, url.Values) error { return nil })
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /?code=x HTTP/1.1\r\nHost: "+strings.TrimPrefix(base, "http://")+"\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	// Well past the shortened timeouts, far short of the real ones.
	_ = c.SetReadDeadline(time.Now().Add(4 * time.Second))
	_, err = io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a stalled request still holds its connection open")
	}
	select {
	case err := <-done:
		t.Fatalf("the sign-in stopped waiting: %v", err)
	default:
	}
}
