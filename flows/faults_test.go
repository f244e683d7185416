package flows_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// rawServer answers every connection with respond, on loopback: it can send
// what an HTTP library would not (truncated bodies, resets, silence).
func rawServer(t *testing.T, respond func(n int, c net.Conn)) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var count atomic.Int32
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(count.Add(1))
			go func() {
				defer c.Close()
				// Read the request head and body (form posts are small).
				r := bufio.NewReader(c)
				req, err := http.ReadRequest(r)
				if err == nil {
					buf := make([]byte, 64<<10)
					_, _ = req.Body.Read(buf)
				}
				respond(n, c)
				select {
				case <-done:
				case <-time.After(50 * time.Millisecond):
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &count
}

func reply(status int, headers, body string) func(int, net.Conn) {
	return func(_ int, c net.Conn) {
		fmt.Fprintf(c, "HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s", status, len(body), headers, body)
	}
}

const goodToken = `{"token_type":"Bearer","expires_in":3599,"access_token":"at","refresh_token":"rt-new","scope":"Mail.Send User.Read"}`

// TestTokenEndpointFaults is the fault matrix of a refresh: each row says
// whether the refresh succeeds (after bounded retries) or which error the
// admin sees, and checks the stored refresh token is unchanged on failure.
func TestTokenEndpointFaults(t *testing.T) {
	tests := []struct {
		name       string
		respond    func(n int, c net.Conn)
		wantCode   flows.Code
		wantCalls  int32
		wantInText string
	}{
		{name: "500 with an Entra error", respond: reply(500, "Content-Type: application/json\r\n", `{"error":"server_error","error_description":"AADSTS90033: boom","error_codes":[90033]}`), wantCode: "AADSTS90033", wantCalls: 1},
		{name: "503 then success, Retry-After honoured", respond: func(n int, c net.Conn) {
			if n == 1 {
				reply(503, "Retry-After: 0.05\r\nContent-Type: application/json\r\n", `{"error":"temporarily_unavailable"}`)(n, c)
				return
			}
			reply(200, "Content-Type: application/json\r\n", goodToken)(n, c)
		}, wantCalls: 2},
		{name: "Retry-After longer than the request timeout is still honoured", respond: func(n int, c net.Conn) {
			if n == 1 {
				reply(503, "Retry-After: 0.8\r\n", "")(n, c)
				return
			}
			reply(200, "Content-Type: application/json\r\n", goodToken)(n, c)
		}, wantCalls: 2},
		{name: "429 without Retry-After, backoff, then success", respond: func(n int, c net.Conn) {
			if n == 1 {
				reply(429, "", "")(n, c)
				return
			}
			reply(200, "Content-Type: application/json\r\n", goodToken)(n, c)
		}, wantCalls: 2},
		{name: "503 every time: bounded retries", respond: reply(503, "Retry-After: 0\r\n", "<html>down</html>"), wantCode: "http-503", wantCalls: 3, wantInText: "HTTP 503"},
		{name: "502 from a proxy, HTML", respond: reply(502, "Content-Type: text/html\r\n", "<html>bad gateway</html>"), wantCode: "http-502", wantCalls: 1, wantInText: "HTTPS_PROXY"},
		{name: "200 but not JSON", respond: reply(200, "Content-Type: application/json\r\n", "<html>captive portal</html>"), wantCode: "bad-response", wantCalls: 1, wantInText: "captive portal"},
		{name: "200 with a wrong content type", respond: reply(200, "Content-Type: text/plain\r\n", goodToken), wantCode: "bad-response", wantCalls: 1},
		{name: "truncated body", respond: func(_ int, c net.Conn) {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n%s", goodToken[:20])
		}, wantCode: "bad-response", wantCalls: 1},
		{name: "oversized body is capped", respond: reply(200, "Content-Type: application/json\r\n", `{"access_token":"`+strings.Repeat("a", 2<<20)+`"}`), wantCode: "bad-response", wantCalls: 1},
		{name: "connection reset", respond: func(_ int, c net.Conn) {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
		}, wantCode: "network", wantCalls: 1},
		{name: "no answer: timeout", respond: func(_ int, c net.Conn) { time.Sleep(2 * time.Second) }, wantCode: "timeout", wantCalls: 1, wantInText: "did not answer in time"},
		{name: "slow body: timeout", respond: func(_ int, c net.Conn) {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", len(goodToken))
			time.Sleep(2 * time.Second)
		}, wantCode: "", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, calls := rawServer(t, tt.respond)
			env, err := flows.NewEnv(flows.EnvOptions{LoginHost: base, GraphHost: base, HTTP: &http.Client{Timeout: 500 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			env.RetryBase = 10 * time.Millisecond
			p := store.Profile{Name: "f", Scenario: store.SendAsUser, Tenant: "contoso.onmicrosoft.com", ClientID: "1b2c3d4e-1111-2222-3333-444455556666", Account: "m@contoso.com", Permissions: []string{"Mail.Send"}}
			mem := store.NewMemory()
			_ = mem.Set("f", store.KindRefreshToken, "rt-old")
			tok, err := flows.AccessToken(context.Background(), env, mem, p)
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			stored, _ := mem.Get("f", store.KindRefreshToken)
			if tt.wantCalls > 1 && tt.wantCode == "" {
				if err != nil || tok.AccessToken != "at" || stored != "rt-new" {
					t.Fatalf("want success after a retry, got %v, %v, stored %q", tok, err, stored)
				}
				return
			}
			var fe *flows.Error
			if !errors.As(err, &fe) {
				t.Fatalf("want an explained error, got %v", err)
			}
			t.Logf("observed after %d request(s): %s: %s (hint: %s)", calls.Load(), fe.Code, fe.Message, fe.Hint)
			if tt.wantCode != "" && fe.Code != tt.wantCode {
				t.Errorf("code %q, want %q (%s)", fe.Code, tt.wantCode, fe.Message)
			}
			host := strings.TrimPrefix(base, "http://")
			if fe.Hint == "" || (!strings.Contains(fe.Message, host) && !strings.HasPrefix(string(fe.Code), "AADSTS")) {
				t.Errorf("the error does not name the host and what to check: %q / %q", fe.Message, fe.Hint)
			}
			if tt.wantInText != "" && !strings.Contains(fe.Message+" "+fe.Hint, tt.wantInText) {
				t.Errorf("%q not in %q / %q", tt.wantInText, fe.Message, fe.Hint)
			}
			if stored != "rt-old" {
				t.Errorf("a failed refresh changed the stored refresh token to %q", stored)
			}
		})
	}
}

func TestGraphFaults(t *testing.T) {
	tests := []struct {
		name      string
		respond   func(n int, c net.Conn)
		wantErr   bool
		wantCalls int32
	}{
		{name: "429 with Retry-After then 200", respond: func(n int, c net.Conn) {
			if n == 1 {
				reply(429, "Retry-After: 0.05\r\n", `{"error":{"code":"TooManyRequests"}}`)(n, c)
				return
			}
			reply(200, "Content-Type: application/json\r\n", `{"userPrincipalName":"m@contoso.com"}`)(n, c)
		}, wantCalls: 2},
		{name: "503 every time: bounded", respond: reply(503, "Retry-After: 0\r\n", ""), wantErr: true, wantCalls: 4},
		{name: "500 not retried", respond: reply(500, "", `{"error":{"code":"generalException","message":"x"}}`), wantErr: true, wantCalls: 1},
		{name: "non-JSON 200", respond: reply(200, "", "<html>"), wantErr: true, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, calls := rawServer(t, tt.respond)
			env, err := flows.NewEnv(flows.EnvOptions{LoginHost: base, GraphHost: base, HTTP: &http.Client{Timeout: time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			env.RetryBase = 10 * time.Millisecond
			_, err = env.GetMe(context.Background(), "token")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if err != nil {
				var fe *flows.Error
				if !errors.As(err, &fe) || fe.Message == "" {
					t.Fatalf("unexplained: %v", err)
				}
			}
		})
	}
}

func TestDNSAndProxyFailures(t *testing.T) {
	p := store.Profile{Name: "f", Scenario: store.SendAsUser, Tenant: "contoso.onmicrosoft.com", ClientID: "1b2c3d4e-1111-2222-3333-444455556666", Account: "m@contoso.com", Permissions: []string{"Mail.Send"}}
	mem := store.NewMemory()
	_ = mem.Set("f", store.KindRefreshToken, "rt-old")

	env, _ := flows.NewEnv(flows.EnvOptions{LoginHost: "login.mailgrant-test.invalid", HTTP: &http.Client{Timeout: 5 * time.Second}})
	_, err := flows.AccessToken(context.Background(), env, mem, p)
	var fe *flows.Error
	if !errors.As(err, &fe) || fe.Code != "dns" || !strings.Contains(fe.Message, "login.mailgrant-test.invalid") {
		t.Fatalf("DNS failure: %v", err)
	}

	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	proxy, _ := url.Parse("http://" + dead.Addr().String())
	dead.Close()
	env, _ = flows.NewEnv(flows.EnvOptions{LoginHost: "login.mailgrant-test.invalid", HTTP: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}})
	_, err = flows.AccessToken(context.Background(), env, mem, p)
	if !errors.As(err, &fe) || fe.Code != "proxy" || !strings.Contains(fe.Hint, "HTTPS_PROXY") {
		t.Fatalf("proxy failure: %v", err)
	}
	if stored, _ := mem.Get("f", store.KindRefreshToken); stored != "rt-old" {
		t.Fatal("the stored refresh token changed")
	}
}
