package sandbox

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// jsonMail is a small sendMail JSON body.
func jsonMail(to, from string) string {
	f := ""
	if from != "" {
		f = `,"from":{"emailAddress":{"address":"` + from + `"}}`
	}
	rcpt := ""
	if to != "" {
		rcpt = `{"emailAddress":{"address":"` + to + `"}}`
	}
	return `{"message":{"subject":"Hello","body":{"contentType":"Text","content":"Hi there"},"toRecipients":[` + rcpt + `]` + f +
		`,"attachments":[{"@odata.type":"#microsoft.graph.fileAttachment","name":"a.txt","contentType":"text/plain","contentBytes":"aGVsbG8="}]},"saveToSentItems":false}`
}

const mimeMail = "From: Adele Vance <adele.vance@mailgrant-sandbox.onmicrosoft.com>\r\n" +
	"To: someone@example.com, other@example.net\r\n" +
	"Subject: =?utf-8?q?Caf=C3=A9_report?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=BOUND\r\n\r\n" +
	"--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello =E2=9C=93\r\n" +
	"--BOUND\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=r.csv\r\n\r\na,b\r\n" +
	"--BOUND--\r\n"

func TestGraph(t *testing.T) {
	clock := newClock()
	s := startServer(t, Options{Clock: clock})
	if err := s.GrantAdminConsent(DaemonApp.ClientID); err != nil {
		t.Fatal(err)
	}
	adele := delegatedToken(t, s, "organizations", PublicApp, AdeleVance.UPN, mailScope)["access_token"].(string)
	adeleShared := delegatedToken(t, s, "organizations", PublicApp, AdeleVance.UPN, mailScope+" Mail.Send.Shared")["access_token"].(string)
	megan := delegatedToken(t, s, "organizations", PublicApp, MeganBowen.UPN, mailScope+" Mail.Send.Shared")["access_token"].(string)
	sam := delegatedToken(t, s, "consumers", PublicApp, SamPersonal.UPN, mailScope)["access_token"].(string)
	s.SetFaults(FaultMissingScope)
	noSend := delegatedToken(t, s, "organizations", PublicApp, AdeleVance.UPN, mailScope)["access_token"].(string)
	s.SetFaults()
	daemon := appToken(t, s, DaemonApp)
	rbac := appToken(t, s, RBACApp)
	// Expired: issued by a server whose clock is two hours behind.
	past := newClockAt(clock.Now().Add(-2 * time.Hour))
	expired := appToken(t, startServer(t, Options{Clock: past}), DaemonApp)
	forged := adele[:strings.LastIndex(adele, ".")+1] + "AAAA"

	tests := []struct {
		name        string
		method      string
		path        string
		token       string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
		wantMessage string
		check       func(t *testing.T, r response, sent []SentMessage)
	}{
		{name: "me", method: "GET", path: "/v1.0/me", token: adele, wantStatus: 200, check: func(t *testing.T, r response, _ []SentMessage) {
			m := r.JSON(t)
			if m["id"] != AdeleVance.ID || m["displayName"] != AdeleVance.DisplayName || m["mail"] != AdeleVance.UPN || m["userPrincipalName"] != AdeleVance.UPN {
				t.Errorf("me: %v", m)
			}
		}},
		{name: "me for a personal account", method: "GET", path: "/v1.0/me", token: sam, wantStatus: 200},
		{name: "me app-only", method: "GET", path: "/v1.0/me", token: daemon, wantStatus: 400, wantCode: "BadRequest", wantMessage: "/me request is only valid with delegated authentication flow."},
		{name: "user by UPN", method: "GET", path: "/v1.0/users/" + MeganBowen.UPN, token: daemon, wantStatus: 200},
		{name: "user by id", method: "GET", path: "/v1.0/users/" + LeeGu.ID, token: adele, wantStatus: 200, check: func(t *testing.T, r response, _ []SentMessage) {
			if m := r.JSON(t); m["mail"] != nil {
				t.Errorf("user without mailbox has mail %v", m["mail"])
			}
		}},
		{name: "unknown user", method: "GET", path: "/v1.0/users/nobody@" + TenantDomain, token: daemon, wantStatus: 404, wantCode: "Request_ResourceNotFound"},
		{name: "no token", method: "GET", path: "/v1.0/me", wantStatus: 401, wantCode: "InvalidAuthenticationToken"},
		{name: "bad signature", method: "GET", path: "/v1.0/me", token: forged, wantStatus: 401, wantCode: "InvalidAuthenticationToken"},
		{name: "not a JWT", method: "GET", path: "/v1.0/me", token: "opaque", wantStatus: 401, wantCode: "InvalidAuthenticationToken"},
		{name: "expired token", method: "GET", path: "/v1.0/users/" + MeganBowen.UPN, token: expired, wantStatus: 401, wantCode: "InvalidAuthenticationToken"},
		{name: "unknown segment", method: "GET", path: "/v1.0/groups", token: adele, wantStatus: 400, wantCode: "BadRequest"},

		{name: "send as self", method: "POST", path: "/v1.0/me/sendMail", token: adele, contentType: "application/json", body: jsonMail("someone@example.com", ""), wantStatus: 202,
			check: func(t *testing.T, r response, sent []SentMessage) {
				if r.Body != "" {
					t.Errorf("body %q", r.Body)
				}
				m := sent[len(sent)-1]
				if m.From != AdeleVance.UPN || m.Mailbox != AdeleVance.UPN || m.Subject != "Hello" || m.Body != "Hi there" ||
					len(m.To) != 1 || m.To[0] != "someone@example.com" || m.Attachments != 1 || m.MIME || m.AppOnly || m.SaveToSentItems || m.ClientID != PublicApp.ClientID {
					t.Errorf("sent %+v", m)
				}
			}},
		{name: "send as personal account", method: "POST", path: "/v1.0/me/sendMail", token: sam, contentType: "application/json", body: jsonMail("x@example.com", ""), wantStatus: 202},
		{name: "send without Mail.Send", method: "POST", path: "/v1.0/me/sendMail", token: noSend, contentType: "application/json", body: jsonMail("x@example.com", ""), wantStatus: 403, wantCode: "ErrorAccessDenied", wantMessage: "Access is denied. Check credentials and try again."},
		{name: "send as shared mailbox without Mail.Send.Shared", method: "POST", path: "/v1.0/users/" + InfoMailbox.UPN + "/sendMail", token: adele, contentType: "application/json", body: jsonMail("x@example.com", ""), wantStatus: 403, wantCode: "ErrorSendAsDenied"},
		{name: "send as shared mailbox with Send As", method: "POST", path: "/v1.0/users/" + InfoMailbox.UPN + "/sendMail", token: adeleShared, contentType: "application/json", body: jsonMail("x@example.com", ""), wantStatus: 202,
			check: func(t *testing.T, _ response, sent []SentMessage) {
				if m := sent[len(sent)-1]; m.From != InfoMailbox.UPN || m.Mailbox != InfoMailbox.UPN {
					t.Errorf("sent %+v", m)
				}
			}},
		{name: "from the shared mailbox via me", method: "POST", path: "/v1.0/me/sendMail", token: adeleShared, contentType: "application/json", body: jsonMail("x@example.com", InfoMailbox.UPN), wantStatus: 202},
		{name: "from a mailbox without Send As", method: "POST", path: "/v1.0/me/sendMail", token: megan, contentType: "application/json", body: jsonMail("x@example.com", InfoMailbox.UPN), wantStatus: 403, wantCode: "ErrorSendAsDenied"},
		{name: "app-only tenant-wide as anyone", method: "POST", path: "/v1.0/users/" + AlexWilber.UPN + "/sendMail", token: daemon, contentType: "application/json", body: jsonMail("x@example.com", ""), wantStatus: 202,
			check: func(t *testing.T, _ response, sent []SentMessage) {
				if m := sent[len(sent)-1]; !m.AppOnly || m.Mailbox != AlexWilber.UPN {
					t.Errorf("sent %+v", m)
				}
			}},
		{name: "app-only me/sendMail", method: "POST", path: "/v1.0/me/sendMail", token: daemon, contentType: "application/json", body: jsonMail("x@example.com", ""), wantStatus: 400, wantCode: "BadRequest"},
		{name: "rbac in scope", method: "POST", path: "/v1.0/users/" + MeganBowen.UPN + "/sendMail", token: rbac, contentType: "application/json", body: jsonMail("x@example.com", ""), wantStatus: 202},
		{name: "rbac out of scope", method: "POST", path: "/v1.0/users/" + AlexWilber.UPN + "/sendMail", token: rbac, contentType: "application/json", body: jsonMail("x@example.com", ""), wantStatus: 403, wantCode: "ErrorAccessDenied", wantMessage: "Access to OData is disabled."},
		{name: "unknown user", method: "POST", path: "/v1.0/users/ghost@" + TenantDomain + "/sendMail", token: daemon, contentType: "application/json", body: jsonMail("x@example.com", ""), wantStatus: 404, wantCode: "ErrorInvalidUser"},
		{name: "user without mailbox", method: "POST", path: "/v1.0/users/" + LeeGu.UPN + "/sendMail", token: daemon, contentType: "application/json", body: jsonMail("x@example.com", ""), wantStatus: 404, wantCode: "MailboxNotEnabledForRESTAPI", wantMessage: "REST API is not yet supported for this mailbox."},
		{name: "no recipients", method: "POST", path: "/v1.0/me/sendMail", token: adele, contentType: "application/json", body: jsonMail("", ""), wantStatus: 400, wantCode: "ErrorInvalidRecipients"},
		{name: "bad JSON", method: "POST", path: "/v1.0/me/sendMail", token: adele, contentType: "application/json", body: `{"message":`, wantStatus: 400, wantCode: "RequestBodyRead"},
		{name: "bad attachment bytes", method: "POST", path: "/v1.0/me/sendMail", token: adele, contentType: "application/json", body: strings.Replace(jsonMail("x@example.com", ""), "aGVsbG8=", "!!", 1), wantStatus: 400, wantCode: "RequestBodyRead"},
		{name: "MIME", method: "POST", path: "/v1.0/me/sendMail", token: adele, contentType: "text/plain", body: base64.StdEncoding.EncodeToString([]byte(mimeMail)), wantStatus: 202,
			check: func(t *testing.T, _ response, sent []SentMessage) {
				m := sent[len(sent)-1]
				if !m.MIME || m.Subject != "Café report" || len(m.To) != 2 || m.To[1] != "other@example.net" || m.Body != "Hello ✓" || m.Attachments != 1 || m.From != AdeleVance.UPN {
					t.Errorf("sent %+v", m)
				}
			}},
		{name: "MIME invalid base64", method: "POST", path: "/v1.0/me/sendMail", token: adele, contentType: "text/plain", body: "not*base64", wantStatus: 400, wantCode: "ErrorMimeContentInvalidBase64String"},
		{name: "GET sendMail", method: "GET", path: "/v1.0/me/sendMail", token: adele, wantStatus: 405, wantCode: "Request_BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustRequest(t, tt.method, s.URL()+tt.path, tt.body)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			before := len(s.Sent())
			r := do(t, req)
			if tt.wantCode != "" {
				e := wantGraphError(t, r, tt.wantStatus, tt.wantCode)
				if tt.wantMessage != "" && e["message"] != tt.wantMessage {
					t.Errorf("message %q, want %q", e["message"], tt.wantMessage)
				}
				if len(s.Sent()) != before {
					t.Errorf("a refused message was recorded")
				}
				return
			}
			if r.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", r.Status, tt.wantStatus, r.Body)
			}
			if tt.method == "POST" && len(s.Sent()) != before+1 {
				t.Errorf("Sent() grew by %d", len(s.Sent())-before)
			}
			if tt.check != nil {
				tt.check(t, r, s.Sent())
			}
		})
	}
}

func TestGraphThrottleAndLatency(t *testing.T) {
	t.Run("every 2nd request is 429 with Retry-After", func(t *testing.T) {
		s := startServer(t, Options{Faults: []string{FaultThrottle}})
		tok := appToken(t, s, RBACApp)
		statuses := []int{}
		for i := 0; i < 4; i++ {
			r := graphGet(t, s, "/v1.0/users/"+AdeleVance.UPN, tok)
			statuses = append(statuses, r.Status)
			if r.Status == http.StatusTooManyRequests {
				wantGraphError(t, r, 429, "TooManyRequests")
				if r.Header.Get("Retry-After") != "1" {
					t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
				}
			}
		}
		if statuses[0] != 200 || statuses[1] != 429 || statuses[2] != 200 || statuses[3] != 429 {
			t.Errorf("statuses %v", statuses)
		}
		if n := s.RequestCount("/v1.0/"); n != 4 {
			t.Errorf("RequestCount = %d", n)
		}
	})
	t.Run("ThrottleEvery and SetFaults", func(t *testing.T) {
		s := startServer(t, Options{ThrottleEvery: 3})
		tok := appToken(t, s, RBACApp)
		s.SetFaults(FaultThrottle)
		var got []int
		for i := 0; i < 3; i++ {
			got = append(got, graphGet(t, s, "/v1.0/users/"+AdeleVance.UPN, tok).Status)
		}
		s.SetFaults()
		got = append(got, graphGet(t, s, "/v1.0/users/"+AdeleVance.UPN, tok).Status)
		if got[0] != 200 || got[1] != 200 || got[2] != 429 || got[3] != 200 {
			t.Errorf("statuses %v", got)
		}
	})
	t.Run("latency respects the request context", func(t *testing.T) {
		s := startServer(t, Options{GraphLatency: 5 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/v1.0/me", nil)
		start := time.Now()
		if _, err := http.DefaultClient.Do(req); err == nil {
			t.Fatal("want a timeout")
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("took %v", time.Since(start))
		}
	})
	t.Run("latency is added", func(t *testing.T) {
		s := startServer(t, Options{GraphLatency: 50 * time.Millisecond})
		start := time.Now()
		graphGet(t, s, "/v1.0/me", "")
		if time.Since(start) < 50*time.Millisecond {
			t.Errorf("no latency")
		}
	})
	t.Run("body over 35 MB is 413", func(t *testing.T) {
		s := startServer(t, Options{})
		if err := s.GrantAdminConsent(DaemonApp.ClientID); err != nil {
			t.Fatal(err)
		}
		tok := appToken(t, s, DaemonApp)
		req := mustRequest(t, http.MethodPost, s.URL()+"/v1.0/users/"+AdeleVance.UPN+"/sendMail", "")
		// Chunked, so the server has to read past the cap to find out.
		req.Body = io.NopCloser(strings.NewReader(strings.Repeat(" ", maxGraphBody+1)))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		wantGraphError(t, do(t, req), 413, "RequestEntityTooLarge")
		if len(s.Sent()) != 0 {
			t.Errorf("recorded")
		}
	})
}

func TestUserInfoAndIndex(t *testing.T) {
	s := startServer(t, Options{})
	tok := delegatedToken(t, s, "organizations", PublicApp, MeganBowen.UPN, mailScope)["access_token"].(string)
	if m := graphGet(t, s, "/oidc/userinfo", tok).JSON(t); m["sub"] != MeganBowen.ID || m["email"] != MeganBowen.UPN {
		t.Errorf("userinfo %v", m)
	}
	wantGraphError(t, graphGet(t, s, "/oidc/userinfo", appToken(t, s, DaemonApp)), 400, "BadRequest")
	r := get(t, s.URL()+"/")
	if r.Status != 200 || !strings.Contains(r.Body, TenantID) || strings.Contains(r.Body, DaemonApp.Secret) {
		t.Errorf("index: %d", r.Status)
	}
}
