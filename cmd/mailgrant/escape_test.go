package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRedirectErrorCannotDriveTheTerminal: issue 11 item 2, reproduced as
// reported. While setup waits for the browser, another program on this
// machine sends the loopback listener an error redirect whose error and
// error_description carry escape sequences (clear screen, set the window
// title, move the cursor, colour a fake success line). mailgrant reports
// the failure with the text kept and every control character removed.
func TestRedirectErrorCannotDriveTheTerminal(t *testing.T) {
	env(t, "mailgrant-sandbox", "esc-user")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := mailgrantProcess(ctx, t, "--sandbox", "--no-browser", "setup", "--non-interactive", "--profile", "esc-user")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The authorize URL carries the redirect URI (the listener's port) and
	// the state, as any local program watching the terminal could read.
	var out strings.Builder
	sc := bufio.NewScanner(stderr)
	var authURL *url.URL
	for authURL == nil && sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "http") && strings.Contains(s, "state=") {
			authURL, _ = url.Parse(s)
		}
	}
	if authURL == nil {
		t.Fatalf("no authorize URL printed:\n%s", out.String())
	}
	q := authURL.Query()
	redirect, _ := url.Parse(q.Get("redirect_uri"))
	evil := url.Values{
		"state":             {q.Get("state")},
		"error":             {"evil\x1b[2J"},
		"error_description": {"\x1b]0;PWNED\x07\x1b[1A\x1b[2K\x1b[32m✓ Saved: everything is fine\u202e"},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + redirect.Port() + "/?" + evil.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rest, _ := io.ReadAll(stderr)
	out.Write(rest)
	_ = cmd.Wait()
	got := out.String()
	if strings.ContainsAny(got, "\x1b\x07\u202e") {
		t.Fatalf("control characters reached the terminal: %q", got)
	}
	if !strings.Contains(got, "everything is fine") || cmd.ProcessState.ExitCode() == 0 {
		t.Fatalf("the failure was not reported (exit %d):\n%s", cmd.ProcessState.ExitCode(), got)
	}
}
