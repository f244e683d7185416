package flows_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
	"github.com/mailgrant/mailgrant/store"
)

// These tests send over real HTTP to the sandbox on loopback and read what
// its Graph recorded (Server.Sent) and how often it was called.

// startSandbox serves a sandbox for opts (device codes polled every second)
// and returns it with an Env pointing at it.
func startSandbox(tb testing.TB, opts sandbox.Options) (*sandbox.Server, *flows.Env) {
	tb.Helper()
	if opts.DeviceInterval == 0 {
		opts.DeviceInterval = 1
	}
	srv := sandboxtest.Start(tb, opts)
	env, err := flows.NewEnv(flows.EnvOptions{}.EnvFromEnvironment())
	if err != nil {
		tb.Fatal(err)
	}
	return srv, env
}

// userProfile is a send-as-user profile for a sandbox user of PublicApp.
func userProfile(name, upn string, perms ...string) store.Profile {
	if len(perms) == 0 {
		perms = []string{"Mail.Send", "User.Read"}
	}
	return store.Profile{Name: name, Scenario: store.SendAsUser, Tenant: sandbox.TenantID, ClientID: sandbox.PublicApp.ClientID, Account: upn, Permissions: perms, Credential: store.CredentialNone}
}

// deviceSignIn signs upn in with the device code flow, approving the code
// on the sandbox as the user would on another device.
func deviceSignIn(tb testing.TB, srv *sandbox.Server, env *flows.Env, p store.Profile) *flows.Token {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	flow, err := flows.StartDeviceCode(ctx, env, p, flows.DeviceCodeOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.ApproveDevice(flow.UserCode, p.Account, true); err != nil {
		tb.Fatal(err)
	}
	tok, err := flow.Wait(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// appOnly returns an app-only profile of scenario sc for app, whose secret
// is in a new memory store, with admin consent granted for send-as-any.
func appOnly(tb testing.TB, srv *sandbox.Server, sc store.Scenario, app sandbox.App) (store.Profile, *store.Memory) {
	tb.Helper()
	p := store.Profile{Name: "app-" + string(sc), Scenario: sc, Tenant: sandbox.TenantID, ClientID: app.ClientID, Account: sandbox.AdeleVance.UPN, Permissions: []string{"Mail.Send"}, Credential: store.CredentialSecret}
	if sc == store.SendAsAny {
		if err := srv.GrantAdminConsent(app.ClientID); err != nil {
			tb.Fatal(err)
		}
	}
	mem := store.NewMemory()
	if err := mem.Set(p.Name, store.KindClientSecret, app.Secret); err != nil {
		tb.Fatal(err)
	}
	return p, mem
}

// appOnlyToken is appOnly plus a token from AccessToken.
func appOnlyToken(tb testing.TB, srv *sandbox.Server, env *flows.Env, sc store.Scenario, app sandbox.App) (store.Profile, *flows.Token) {
	tb.Helper()
	p, mem := appOnly(tb, srv, sc, app)
	tok, err := flows.AccessToken(context.Background(), env, mem, p)
	if err != nil {
		tb.Fatal(err)
	}
	return p, tok
}

// recordingTransport keeps the Content-Type and body of every sendMail
// request it passes on.
type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recordedRequest
}

type recordedRequest struct {
	contentType string
	body        []byte
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/sendMail") && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		r.mu.Lock()
		r.reqs = append(r.reqs, recordedRequest{contentType: req.Header.Get("Content-Type"), body: body})
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

func (r *recordingTransport) last(t *testing.T) recordedRequest {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no sendMail request was made")
	}
	return r.reqs[len(r.reqs)-1]
}

// wrapTransport puts a RoundTripper around env's client's transport.
func wrapTransport(env *flows.Env, wrap func(http.RoundTripper) http.RoundTripper) {
	c := *env.HTTP
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = wrap(next)
	env.HTTP = &c
}

func TestSendJSONMessage(t *testing.T) {
	// Given an app-only profile that may send as any mailbox.
	srv, env := startSandbox(t, sandbox.Options{})
	rec := &recordingTransport{}
	wrapTransport(env, func(next http.RoundTripper) http.RoundTripper { rec.next = next; return rec })
	p, tok := appOnlyToken(t, srv, env, store.SendAsAny, sandbox.DaemonApp)
	pdf := []byte("%PDF-1.4 not really")
	m := flows.Message{
		To:      []string{"Megan Bowen <" + sandbox.MeganBowen.UPN + ">"},
		Cc:      []string{sandbox.AlexWilber.UPN},
		Bcc:     []string{sandbox.InfoMailbox.UPN},
		Subject: "Quarterly report",
		Body:    "<p>Hello</p>",
		HTML:    true,
		Attachments: []flows.Attachment{
			{Name: "report.pdf", ContentType: flows.AttachmentContentType("report.pdf"), Content: pdf},
			{Name: "data.unknownext", Content: []byte{0, 1, 2}},
		},
		SkipSentItems: true,
	}

	// When it sends without --from.
	if err := flows.Send(context.Background(), env, p, tok, m); err != nil {
		t.Fatal(err)
	}

	// Then Graph recorded it as sent by the profile's account, with every
	// recipient, both attachments and the HTML body, outside Sent Items.
	sent := srv.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d messages", len(sent))
	}
	s := sent[0]
	if s.Mailbox != sandbox.AdeleVance.UPN || s.From != sandbox.AdeleVance.UPN || !s.AppOnly || s.MIME {
		t.Errorf("sender: %+v", s)
	}
	if !slices.Equal(s.To, []string{sandbox.MeganBowen.UPN}) || !slices.Equal(s.Cc, []string{sandbox.AlexWilber.UPN}) || !slices.Equal(s.Bcc, []string{sandbox.InfoMailbox.UPN}) {
		t.Errorf("recipients: to %v cc %v bcc %v", s.To, s.Cc, s.Bcc)
	}
	if s.Subject != m.Subject || s.Body != m.Body || s.ContentType != "HTML" || s.Attachments != 2 || s.SaveToSentItems {
		t.Errorf("message: %+v", s)
	}
	// And the request carried Graph's fileAttachment shape.
	req := rec.last(t)
	if req.contentType != "application/json" {
		t.Errorf("Content-Type %q", req.contentType)
	}
	var body struct {
		Message struct {
			To []struct {
				EmailAddress struct{ Address, Name string } `json:"emailAddress"`
			} `json:"toRecipients"`
			Attachments []struct {
				ODataType    string `json:"@odata.type"`
				Name         string `json:"name"`
				ContentType  string `json:"contentType"`
				ContentBytes string `json:"contentBytes"`
			} `json:"attachments"`
		} `json:"message"`
		SaveToSentItems *bool `json:"saveToSentItems"`
	}
	if err := json.Unmarshal(req.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Message.To[0].EmailAddress.Name != "Megan Bowen" {
		t.Errorf("recipient name lost: %+v", body.Message.To)
	}
	a := body.Message.Attachments
	if len(a) != 2 || a[0].ODataType != "#microsoft.graph.fileAttachment" || a[0].Name != "report.pdf" || a[0].ContentType != "application/pdf" || a[1].ContentType != "application/octet-stream" {
		t.Fatalf("attachments: %+v", a)
	}
	if got, _ := base64.StdEncoding.DecodeString(a[0].ContentBytes); !bytes.Equal(got, pdf) {
		t.Errorf("contentBytes do not decode to the file")
	}
	if body.SaveToSentItems == nil || *body.SaveToSentItems {
		t.Errorf("saveToSentItems: %v", body.SaveToSentItems)
	}
}

func TestSendTextDefaultsLeaveSaveToSentItemsOut(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	rec := &recordingTransport{}
	wrapTransport(env, func(next http.RoundTripper) http.RoundTripper { rec.next = next; return rec })
	p, tok := appOnlyToken(t, srv, env, store.SendAsAny, sandbox.DaemonApp)
	if err := flows.Send(context.Background(), env, p, tok, flows.Message{To: []string{sandbox.MeganBowen.UPN}, Body: "plain"}); err != nil {
		t.Fatal(err)
	}
	if s := srv.Sent()[0]; s.ContentType != "Text" || !s.SaveToSentItems {
		t.Errorf("got %+v", s)
	}
	if bytes.Contains(rec.last(t).body, []byte("saveToSentItems")) {
		t.Errorf("saveToSentItems sent although it is Graph's default: %s", rec.last(t).body)
	}
}

const validMIME = "From: Adele Vance <adele.vance@mailgrant-sandbox.onmicrosoft.com>\r\n" +
	"To: megan.bowen@mailgrant-sandbox.onmicrosoft.com\r\n" +
	"Cc: \"Alex W\" <alex.wilber@mailgrant-sandbox.onmicrosoft.com>\r\n" +
	"Subject: =?utf-8?q?R=C3=A9sum=C3=A9?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hello from a pipe.\r\n" +
	"--b1\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Disposition: attachment; filename=\"a.bin\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAECAwQF\r\n" +
	"--b1--\r\n"

func TestSendMIME(t *testing.T) {
	// Given a delegated profile and a whole MIME message.
	srv, env := startSandbox(t, sandbox.Options{})
	rec := &recordingTransport{}
	wrapTransport(env, func(next http.RoundTripper) http.RoundTripper { rec.next = next; return rec })
	p := userProfile("mime", sandbox.AdeleVance.UPN)
	tok := deviceSignIn(t, srv, env, p)

	// When it is sent.
	if err := flows.Send(context.Background(), env, p, tok, flows.Message{MIME: []byte(validMIME)}); err != nil {
		t.Fatal(err)
	}

	// Then Graph got it as base64 text/plain, headers and parts intact.
	req := rec.last(t)
	if req.contentType != "text/plain" {
		t.Errorf("Content-Type %q", req.contentType)
	}
	if raw, err := base64.StdEncoding.DecodeString(string(req.body)); err != nil || string(raw) != validMIME {
		t.Errorf("body is not the message in base64: %v", err)
	}
	s := srv.Sent()[0]
	if !s.MIME || s.Mailbox != sandbox.AdeleVance.UPN || s.Subject != "Résumé" || s.Attachments != 1 || s.Body != "Hello from a pipe." ||
		!slices.Equal(s.To, []string{sandbox.MeganBowen.UPN}) || !slices.Equal(s.Cc, []string{sandbox.AlexWilber.UPN}) {
		t.Errorf("sent %+v", s)
	}
}

func TestParseMIME(t *testing.T) {
	s, err := flows.ParseMIME([]byte(validMIME))
	if err != nil {
		t.Fatal(err)
	}
	if s.From != sandbox.AdeleVance.UPN || s.Subject != "Résumé" || s.Recipients() != 2 {
		t.Errorf("summary %+v", s)
	}
	// A message with LF line ends and no body is fine too.
	if _, err := flows.ParseMIME([]byte("To: a@example.com\nSubject: hi\n")); err != nil {
		t.Errorf("LF message: %v", err)
	}

	tests := []struct {
		name string
		raw  string
		want string // in the problem
	}{
		{"empty", "", "empty"},
		{"blanks", "\r\n\r\n", "empty"},
		{"plain text", "Hello there, this is not mail\n", "line 1 is not a header"},
		{"starts with a blank line", "\nTo: a@example.com\n\nx", "line 1 is blank"},
		{"starts folded", " To: a@example.com\n\nx", "line 1 starts with white space"},
		{"missing blank line", "To: a@example.com\nSubject: x\nbody text here\n", "line 3 is not a header"},
		{"bad To", "To: not an address\n\nbody", "the To header"},
		{"bad From", "To: a@example.com\nFrom: @@\n\nbody", "the From header"},
		{"no recipient", "Subject: x\n\nbody", "no recipient"},
		{"bad Content-Type", "To: a@example.com\nContent-Type: text/plain; =\n\nx", "Content-Type"},
		{"multipart without boundary", "To: a@example.com\nContent-Type: multipart/mixed\n\nx", "no boundary"},
		{"multipart without parts", "To: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n\nno parts here\n", "no parts"},
		{"multipart not closed", "To: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nhello\n", "part 1: the message ends inside it"},
		{"bad base64 part", "To: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n\nok\n--zz\nContent-Disposition: attachment; filename=x.bin\nContent-Transfer-Encoding: base64\n\n!!!notbase64\n--zz--\n", "part 2 (x.bin)"},
		{"unknown encoding", "To: a@example.com\nContent-Transfer-Encoding: rot13\n\nx", "unknown Content-Transfer-Encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := flows.ParseMIME([]byte(tt.raw))
			var ie *flows.InputError
			if !errors.As(err, &ie) || ie.Field != "mime" || !strings.Contains(ie.Problem, tt.want) {
				t.Fatalf("got %v, want an InputError on mime saying %q", err, tt.want)
			}
		})
	}

	t.Run("too large", func(t *testing.T) {
		raw := append([]byte("To: a@example.com\n\n"), bytes.Repeat([]byte("x"), flows.MaxMIMEBytes)...)
		_, err := flows.ParseMIME(raw)
		if err == nil || !strings.Contains(err.Error(), "35.0 MB") {
			t.Fatalf("got %v", err)
		}
	})
}

// FuzzParseMIME checks that ParseMIME never panics, that what it accepts
// net/mail reads with at least one recipient, and that what it refuses is an
// InputError on the mime field.
func FuzzParseMIME(f *testing.F) {
	f.Add([]byte(validMIME))
	f.Add([]byte("To: a@example.com\n\nhi"))
	f.Add([]byte("garbage"))
	f.Add([]byte("To: a@example.com\nContent-Type: multipart/alternative; boundary=q\n\n--q\nContent-Type: multipart/mixed; boundary=r\n\n--r\n\nx\n--r--\n--q--\n"))
	f.Add([]byte("To: a@example.com\nContent-Transfer-Encoding: quoted-printable\n\n=ZZ"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := flows.ParseMIME(raw)
		if err != nil {
			var ie *flows.InputError
			if !errors.As(err, &ie) || ie.Field != "mime" || ie.Problem == "" {
				t.Fatalf("error is not an InputError on mime: %#v", err)
			}
			return
		}
		if s.Recipients() == 0 {
			t.Fatal("accepted a message without recipients")
		}
		if _, err := mail.ReadMessage(bytes.NewReader(raw)); err != nil {
			t.Fatalf("accepted a message net/mail cannot read: %v", err)
		}
	})
}

func TestMessageValidate(t *testing.T) {
	big := make([]byte, 2<<20)
	tests := []struct {
		name      string
		m         flows.Message
		wantField string
		want      string
	}{
		{"no recipient", flows.Message{Subject: "x"}, "to", "no recipient"},
		{"bad to", flows.Message{To: []string{"ann"}}, "to", `"ann" is not an email address`},
		{"bad cc", flows.Message{To: []string{"a@example.com"}, Cc: []string{"b@"}}, "cc", "is not an email address"},
		{"bad from", flows.Message{From: "info", To: []string{"a@example.com"}}, "from", "is not an email address"},
		{"one file too large", flows.Message{To: []string{"a@example.com"}, Attachments: []flows.Attachment{{Name: "huge.iso", Content: make([]byte, 4<<20)}}}, "attach", "huge.iso (4.0 MB) is too large for a single request (Graph's limit is about 3 MB of attachments)"},
		{"files too large together", flows.Message{To: []string{"a@example.com"}, Attachments: []flows.Attachment{{Name: "a.bin", Content: big}, {Name: "b.bin", Content: big}}}, "attach", "b.bin (2.0 MB) brings the attachments to 4.0 MB"},
		{"body too large", flows.Message{To: []string{"a@example.com"}, Body: string(make([]byte, 3<<20)), Attachments: []flows.Attachment{{Name: "a.bin", Content: big}}}, "body-file", "too large for a single request"},
		{"MIME kept out of Sent Items", flows.Message{MIME: []byte("To: a@example.com\n\nx"), SkipSentItems: true}, "save-to-sent", "cannot be kept out of Sent Items"},
		{"MIME garbage", flows.Message{MIME: []byte("nope")}, "mime", "not a header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Validate()
			var ie *flows.InputError
			if !errors.As(err, &ie) || ie.Field != tt.wantField || !strings.Contains(ie.Problem, tt.want) {
				t.Fatalf("got %v, want %s: …%s…", err, tt.wantField, tt.want)
			}
		})
	}
	ok := flows.Message{To: []string{"Ann <a@example.com>"}, Attachments: []flows.Attachment{{Name: "a.bin", Content: big}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("a valid message: %v", err)
	}
}

func TestSendAsAnotherMailboxDelegated(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	ctx := context.Background()
	shared := userProfile("shared", sandbox.AdeleVance.UPN, "Mail.Send", "Mail.Send.Shared", "User.Read")
	sharedTok := deviceSignIn(t, srv, env, shared)

	// Adele holds Send As on info@: Graph takes it via /users/info@/sendMail.
	if err := flows.Send(ctx, env, shared, sharedTok, flows.Message{From: sandbox.InfoMailbox.UPN, To: []string{sandbox.MeganBowen.UPN}, Subject: "from info"}); err != nil {
		t.Fatalf("send as info@: %v", err)
	}
	if s := srv.Sent()[0]; s.Mailbox != sandbox.InfoMailbox.UPN || s.From != sandbox.InfoMailbox.UPN || s.AppOnly {
		t.Errorf("sent %+v", s)
	}

	// --from naming her own account (in other case) is a plain /me send.
	if err := flows.Send(ctx, env, shared, sharedTok, flows.Message{From: strings.ToUpper(sandbox.AdeleVance.UPN), To: []string{sandbox.MeganBowen.UPN}}); err != nil {
		t.Fatal(err)
	}
	if s := srv.Sent()[1]; s.Mailbox != sandbox.AdeleVance.UPN {
		t.Errorf("sent %+v", s)
	}

	// She has no rights on Megan's mailbox: the hint names Exchange rights.
	err := flows.Send(ctx, env, shared, sharedTok, flows.Message{From: sandbox.MeganBowen.UPN, To: []string{sandbox.AlexWilber.UPN}})
	fe := flows.AsError(err)
	if fe == nil || fe.Code != "ErrorSendAsDenied" || fe.HTTPStatus != 403 || !strings.Contains(fe.Hint, "Send As") || !strings.Contains(fe.Hint, "carries Mail.Send.Shared") {
		t.Fatalf("send as megan: %+v", fe)
	}

	// Without Mail.Send.Shared the hint says that is what is missing.
	plain := userProfile("plain", sandbox.AdeleVance.UPN)
	plainTok := deviceSignIn(t, srv, env, plain)
	err = flows.Send(ctx, env, plain, plainTok, flows.Message{From: sandbox.InfoMailbox.UPN, To: []string{sandbox.MeganBowen.UPN}})
	fe = flows.AsError(err)
	if fe == nil || fe.Code != "ErrorSendAsDenied" || !strings.Contains(fe.Hint, "lacks Mail.Send.Shared") || strings.Contains(fe.Hint, plainTok.AccessToken) {
		t.Fatalf("send without Mail.Send.Shared: %+v", fe)
	}
	if n := len(srv.Sent()); n != 2 {
		t.Errorf("%d messages accepted, want 2", n)
	}
}

func TestSendAppOnlyMailbox(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	ctx := context.Background()
	p, tok := appOnlyToken(t, srv, env, store.RBAC, sandbox.RBACApp)

	// In scope, named with --from.
	if err := flows.Send(ctx, env, p, tok, flows.Message{From: sandbox.MeganBowen.UPN, To: []string{sandbox.AdeleVance.UPN}}); err != nil {
		t.Fatal(err)
	}
	if s := srv.Sent()[0]; s.Mailbox != sandbox.MeganBowen.UPN {
		t.Errorf("sent %+v", s)
	}
	// Out of the RBAC scope: ErrorAccessDenied, explained as the scope.
	fe := flows.AsError(flows.Send(ctx, env, p, tok, flows.Message{From: sandbox.AlexWilber.UPN, To: []string{sandbox.AdeleVance.UPN}}))
	if fe == nil || fe.Code != "ErrorAccessDenied" || !strings.Contains(fe.Hint, "RBAC scope") {
		t.Fatalf("out of scope: %+v", fe)
	}
	// No --from and no account: bad input, not a request.
	p.Account = ""
	before := srv.RequestCount("/v1.0/")
	var ie *flows.InputError
	if err := flows.Send(ctx, env, p, tok, flows.Message{To: []string{sandbox.AdeleVance.UPN}}); !errors.As(err, &ie) || ie.Field != "from" {
		t.Fatalf("got %v", err)
	}
	if srv.RequestCount("/v1.0/") != before {
		t.Error("a request was made for bad input")
	}
}

func TestSendRetriesThrottledRequests(t *testing.T) {
	tests := []struct {
		name string
		// stripRetryAfter removes Retry-After from 429 answers, so the
		// client must back off on its own.
		stripRetryAfter bool
	}{
		{name: "Retry-After honoured"},
		{name: "no Retry-After: exponential back-off", stripRetryAfter: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given a Graph that throttles every 2nd request.
			srv, env := startSandbox(t, sandbox.Options{Faults: []string{sandbox.FaultThrottle}, ThrottleEvery: 2})
			var throttled, withHeader int
			wrapTransport(env, func(next http.RoundTripper) http.RoundTripper {
				return roundTripFunc(func(r *http.Request) (*http.Response, error) {
					resp, err := next.RoundTrip(r)
					if err == nil && resp.StatusCode == http.StatusTooManyRequests {
						throttled++
						if resp.Header.Get("Retry-After") != "" {
							withHeader++
						}
						if tt.stripRetryAfter {
							resp.Header.Del("Retry-After")
						}
					}
					return resp, err
				})
			})
			p, tok := appOnlyToken(t, srv, env, store.SendAsAny, sandbox.DaemonApp)

			// When two messages go out (the second's first try is throttled).
			start := time.Now()
			for range 2 {
				if err := flows.Send(context.Background(), env, p, tok, flows.Message{To: []string{sandbox.MeganBowen.UPN}}); err != nil {
					t.Fatalf("a throttled send was not retried: %v", err)
				}
			}

			// Then both were accepted after one retry that waited ~1 s.
			if got := srv.RequestCount("/v1.0/"); got != 3 {
				t.Errorf("%d Graph requests, want 3", got)
			}
			if throttled != 1 || withHeader != 1 {
				t.Errorf("%d throttled answers (%d with Retry-After), want 1", throttled, withHeader)
			}
			if len(srv.Sent()) != 2 {
				t.Errorf("%d sent", len(srv.Sent()))
			}
			if took := time.Since(start); took < 900*time.Millisecond {
				t.Errorf("the retry came after %s, before Retry-After / the back-off", took)
			}
		})
	}
}

func TestSendGivesUpWhenThrottlingLasts(t *testing.T) {
	if testing.Short() {
		t.Skip("waits through three Retry-After periods")
	}
	// Given a Graph that throttles every request.
	srv, env := startSandbox(t, sandbox.Options{Faults: []string{sandbox.FaultThrottle}, ThrottleEvery: 1})
	p, tok := appOnlyToken(t, srv, env, store.SendAsAny, sandbox.DaemonApp)
	fe := flows.AsError(flows.Send(context.Background(), env, p, tok, flows.Message{To: []string{sandbox.MeganBowen.UPN}}))
	if fe == nil || fe.Code != "TooManyRequests" || fe.HTTPStatus != 429 || !strings.Contains(fe.Message, "after 3 retries") {
		t.Fatalf("got %+v", fe)
	}
	if got := srv.RequestCount("/v1.0/"); got != 4 {
		t.Errorf("%d requests, want 1 + 3 retries", got)
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
