package relay

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/clock"
	"github.com/mailgrant/mailgrant/store"
)

func TestPatterns(t *testing.T) {
	tests := []struct {
		pattern, addr string
		want          bool
	}{
		{"scanner@contoso.com", "Scanner@Contoso.com", true},
		{"scanner@contoso.com", "printer@contoso.com", false},
		{"*@contoso.com", "anyone@contoso.com", true},
		{"*@contoso.com", "anyone@sub.contoso.com", false},
		{"*@contoso.com", "anyone@evilcontoso.com", false},
		{"*@*.contoso.com", "anyone@sub.contoso.com", true},
		{"*@*.contoso.com", "anyone@contoso.com", false},
		{"*@*.contoso.com", "anyone@evil-contoso.com", false},
		{"*", "x@y.z", true},
		{"*", "not-an-address", false},
	}
	for _, tt := range tests {
		p, err := ValidPattern(tt.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		if got := MatchPattern(p, tt.addr); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v", tt.pattern, tt.addr, got)
		}
	}
	for _, bad := range []string{"", "contoso.com", "@contoso.com", "a*@contoso.com", "*@*", "*@con*so.com", "a@b@c", "a b@c.d", "x@y,z@w"} {
		if _, err := ValidPattern(bad); err == nil {
			t.Errorf("ValidPattern(%q) accepted", bad)
		}
	}
}

func TestRouterMostSpecificWins(t *testing.T) {
	var routes []Route
	for _, s := range []string{"*=catchall", "*@contoso.com=mailer", "scanner@contoso.com=scanner", "*@*.contoso.com=subs"} {
		r, err := ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, r)
	}
	r, err := NewRouter(routes, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{
		"scanner@contoso.com":   "scanner",
		"ann@contoso.com":       "mailer",
		"ann@eu.contoso.com":    "subs",
		"ann@fabrikam.com":      "catchall",
		"Scanner@CONTOSO.com":   "scanner",
		"<ann@contoso.com>":     "mailer",
		"Ann <ann@contoso.com>": "mailer",
	} {
		if got, ok := r.Profile(addr); !ok || got != want {
			t.Errorf("Profile(%q) = %q %v, want %q", addr, got, ok, want)
		}
	}
	if _, err := NewRouter([]Route{{Pattern: "*", Profile: "a"}, {Pattern: "*", Profile: "b"}}, "", nil); err == nil {
		t.Error("one pattern routed to two profiles was accepted")
	}
}

func TestSendAsPatterns(t *testing.T) {
	user := store.Profile{Scenario: store.SendAsUser, Account: "Megan@Contoso.com"}
	anyP := store.Profile{Scenario: store.SendAsAny, Account: "adele@contoso.com"}
	rbac := store.Profile{Scenario: store.RBAC, Account: "adele@contoso.com", RBACMailboxes: []string{"a@contoso.com", "b@contoso.com"}}
	if got := strings.Join(SendAsPatterns(user), ","); got != "megan@contoso.com" {
		t.Errorf("delegated: %s", got)
	}
	if got := strings.Join(SendAsPatterns(anyP), ","); got != "*@contoso.com" {
		t.Errorf("app-only: %s", got)
	}
	if got := strings.Join(SendAsPatterns(rbac), ","); got != "a@contoso.com,b@contoso.com" {
		t.Errorf("rbac: %s", got)
	}
	// Without --route, a delegated default profile sends only as itself.
	r, _ := NewRouter(nil, "megan", SendAsPatterns(user))
	if _, ok := r.Profile("megan@contoso.com"); !ok {
		t.Error("the account itself refused")
	}
	if _, ok := r.Profile("ceo@contoso.com"); ok {
		t.Error("a delegated profile's router accepts another sender: an open relay")
	}
}

func TestUsersFile(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "correct horsf") {
		t.Fatal("argon2id check is wrong")
	}
	// bcrypt hashes (htpasswd -B) work too.
	b, _ := bcrypt.GenerateFromPassword([]byte("wp-password"), bcrypt.MinCost)
	bc := string(b)
	content := "# comment\n\nprinter:" + h + ":scanner@contoso.com,*@eu.contoso.com\nwp:" + bc + "\n"
	u, err := ParseUsers(strings.NewReader(content), "users")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := u.Lookup("printer")
	if !ok || len(p.AllowFrom) != 2 || !p.MayUse("scanner@contoso.com") || p.MayUse("ceo@contoso.com") {
		t.Fatalf("printer: %+v", p)
	}
	if wp, ok := u.Lookup("wp"); !ok || !wp.MayUse("anyone@anywhere.com") || !CheckPassword(wp.Hash, "wp-password") {
		t.Fatal("wp")
	}
	again, err := ParseUsers(strings.NewReader(string(u.Format())), "users")
	if err != nil || again.Len() != 2 {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"nohash\n", "a:plaintext\n", "a b:" + h + "\n", "a:" + h + ":not a pattern\n", "a:" + h + "\na:" + h + "\n"} {
		_, err := ParseUsers(strings.NewReader(bad), "users")
		var ue *UsersFileError
		if !errors.As(err, &ue) || ue.Line == 0 {
			t.Errorf("%q: %v", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), h) {
			t.Errorf("an error quotes a hash: %v", err)
		}
	}
}

func FuzzParseUsers(f *testing.F) {
	h, _ := HashPassword("seed-password")
	f.Add("printer:" + h + ":scanner@contoso.com\n")
	b, _ := bcrypt.GenerateFromPassword([]byte("seed"), bcrypt.MinCost)
	f.Add("# c\nwp:" + string(b) + "\n")
	f.Add("a:$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5\n")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUsers(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		// What parses formats back to the same users.
		again, err := ParseUsers(strings.NewReader(string(u.Format())), "fuzz")
		if err != nil || again.Len() != u.Len() {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

func TestLockout(t *testing.T) {
	now := clock.NewFake(time.Unix(1_000_000, 0))
	l := &Lockout{Failures: 3, Window: time.Minute, LockFor: 10 * time.Minute, Delay: 100 * time.Millisecond, MaxDelay: time.Second, Clock: now}
	if d := l.Fail("10.0.0.1"); d != 100*time.Millisecond {
		t.Errorf("first delay %s", d)
	}
	if d := l.Fail("10.0.0.1"); d != 200*time.Millisecond {
		t.Errorf("second delay %s", d)
	}
	if _, locked := l.Locked("10.0.0.1"); locked {
		t.Fatal("locked too early")
	}
	l.Fail("10.0.0.1")
	if _, locked := l.Locked("10.0.0.1"); !locked {
		t.Fatal("not locked after 3 failures")
	}
	if _, locked := l.Locked("10.0.0.2"); locked {
		t.Fatal("another address is locked")
	}
	now.Advance(11 * time.Minute)
	if _, locked := l.Locked("10.0.0.1"); locked {
		t.Fatal("still locked after LockFor")
	}
}

// fakeQueue records submissions and answers with a fixed receipt.
type fakeQueue struct {
	mu      sync.Mutex
	got     []Submission
	bodies  []string
	receipt Receipt
	err     error
	waits   []time.Duration
}

func (q *fakeQueue) Submit(_ context.Context, s Submission, wait time.Duration) (Receipt, error) {
	b, err := io.ReadAll(s.Data)
	if err != nil {
		return Receipt{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.got = append(q.got, s)
	q.waits = append(q.waits, wait)
	q.bodies = append(q.bodies, string(b))
	return q.receipt, q.err
}

// serve runs a Server on loopback for a test.
func serve(t *testing.T, cfg Config) string {
	t.Helper()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return ln.Addr().String()
}

func replyOf(err error) string {
	var te *textproto.Error
	if errors.As(err, &te) {
		return fmt.Sprintf("%d %s", te.Code, te.Msg)
	}
	if err == nil {
		return "250"
	}
	return err.Error()
}

// TestDataReplies: what the queue says becomes the DATA reply.
func TestDataReplies(t *testing.T) {
	router, _ := NewRouter(nil, "p", []string{"*@contoso.com"})
	tests := []struct {
		name    string
		receipt Receipt
		err     error
		want    string
	}{
		{"sent", Receipt{ID: "q1", Outcome: flows.OutcomeSent}, nil, "250"},
		{"queued", Receipt{ID: "q2", Outcome: flows.OutcomeTemporary, Queued: true}, nil, "250"},
		{"denied", Receipt{Outcome: flows.OutcomeDenied, Err: &flows.Error{Code: "ErrorSendAsDenied", Message: "no\x1b[31m"}}, nil, "550 5.7.1 Graph refused to send as this sender: ErrorSendAsDenied: no[31m"},
		{"unknown", Receipt{Outcome: flows.OutcomeUnknownMailbox, Err: &flows.Error{Code: "ErrorInvalidUser", Message: "x"}}, nil, "550 5.1.1"},
		{"too large", Receipt{Outcome: flows.OutcomeTooLarge, Err: &flows.Error{Code: "ErrorMessageSizeExceeded", Message: "x"}}, nil, "552 5.3.4"},
		{"bad mime", Receipt{Outcome: flows.OutcomeBadMessage, Err: &flows.Error{Code: "ErrorMimeContentInvalid", Message: "x"}}, nil, "554 5.6.0"},
		{"needs readwrite", Receipt{Outcome: flows.OutcomeNeedsPermission, Err: &flows.Error{Code: "needs-mail-readwrite", Message: "x"}}, nil, "554 5.7.1 The profile needs the Mail.ReadWrite"},
		{"not stored", Receipt{}, errors.New("disk full"), "451 4.3.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueue{receipt: tt.receipt, err: tt.err}
			addr := serve(t, Config{Router: router, Queue: q})
			err := smtp.SendMail(addr, nil, "a@contoso.com", []string{"b@fabrikam.com"}, []byte("Subject: x\r\n\r\nhi\r\n"))
			if got := replyOf(err); !strings.HasPrefix(got, tt.want) {
				t.Fatalf("reply %q, want %q", got, tt.want)
			}
		})
	}
}

// TestServerRules: open-relay refusals, bare LF, AUTH LOGIN, allow-ip.
func TestServerRules(t *testing.T) {
	router, _ := NewRouter(nil, "p", []string{"*@contoso.com"})
	q := &fakeQueue{receipt: Receipt{ID: "q", Queued: true}}
	addr := serve(t, Config{Router: router, Queue: q})

	// A bare-LF message is accepted and handed over whole.
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Mail("a@contoso.com")
	_ = c.Rcpt("b@fabrikam.com")
	w, _ := c.Data()
	_, _ = io.WriteString(w, "From: a@contoso.com\nSubject: lf\n\nline\n")
	if err := w.Close(); err != nil {
		t.Fatalf("bare LF: %v", err)
	}
	_ = c.Quit()
	if len(q.got) != 1 || !strings.Contains(q.bodies[0], "Subject: lf") || q.got[0].Profile != "p" || q.got[0].Client != "127.0.0.1" {
		t.Fatalf("queue got %+v %q", q.got, q.bodies)
	}

	for _, tt := range []struct{ from, hdr, want string }{
		{"ceo@fabrikam.com", "", "550 5.7.1"},
		{"", "", "550 5.7.1"},
		{"a@contoso.com", "From: boss@fabrikam.com\r\n", "550 5.7.1"},
		{"a@contoso.com", "From: not an address\r\n", "554 5.6.0"},
		{"a@contoso.com", "From: a@contoso.com\r\nFrom: boss@fabrikam.com\r\n", "554 5.6.0"},
		{"a@contoso.com", "From: a@contoso.com\r\nSender: a@contoso.com\r\nSENDER: boss@fabrikam.com\r\n", "554 5.6.0"},
	} {
		err := smtp.SendMail(addr, nil, tt.from, []string{"b@fabrikam.com"}, []byte(tt.hdr+"Subject: x\r\n\r\nhi\r\n"))
		if got := replyOf(err); !strings.HasPrefix(got, tt.want) {
			t.Errorf("from %q %q: %q, want %q", tt.from, tt.hdr, got, tt.want)
		}
	}
	if len(q.got) != 1 {
		t.Fatalf("refused messages reached the queue: %d", len(q.got))
	}

	// --allow-ip: a loopback client outside the list is refused at connect.
	addr2 := serve(t, Config{Router: router, Queue: q, AllowIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	if _, err := smtp.Dial(addr2); err == nil || !strings.Contains(err.Error(), "554") {
		t.Fatalf("outside --allow-ip: %v", err)
	}
}

// TestAuthLogin: AUTH LOGIN (what many printers speak) with the right and
// a wrong password, on a loopback listener without TLS.
func TestAuthLogin(t *testing.T) {
	h, _ := HashPassword("printer-password")
	users := &Users{}
	users.Set(User{Name: "printer", Hash: h})
	router, _ := NewRouter(nil, "p", []string{"*@contoso.com"})
	q := &fakeQueue{receipt: Receipt{ID: "q", Queued: true}}
	addr := serve(t, Config{Router: router, Queue: q, Users: users, InsecureAuth: true, RequireAuth: true,
		Lockout: &Lockout{Delay: time.Millisecond, Failures: 2}})
	login := func(pass string) error {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.Hello("printer")
		return c.Auth(loginAuth{user: "printer", pass: pass})
	}
	if err := login("printer-password"); err != nil {
		t.Fatalf("AUTH LOGIN: %v", err)
	}
	if got := replyOf(login("wrong")); !strings.HasPrefix(got, "535 5.7.8") {
		t.Fatalf("wrong password: %s", got)
	}
	_ = login("wrong")
	// Locked out now: even the right password is not checked.
	if got := replyOf(login("printer-password")); !strings.HasPrefix(got, "454 4.7.0") {
		t.Fatalf("after lockout: %s", got)
	}
}

// TestAuthLockoutAcrossConnections: an AUTH that began before other
// connections from the same address locked it out is refused too, even
// with the right password (else parallel connections bypass the lockout).
func TestAuthLockoutAcrossConnections(t *testing.T) {
	h, _ := HashPassword("printer-password")
	users := &Users{}
	users.Set(User{Name: "printer", Hash: h})
	router, _ := NewRouter(nil, "p", []string{"*@contoso.com"})
	q := &fakeQueue{receipt: Receipt{ID: "q", Queued: true}}
	addr := serve(t, Config{Router: router, Queue: q, Users: users, InsecureAuth: true, RequireAuth: true,
		Lockout: &Lockout{Delay: time.Millisecond, Failures: 2}})

	// Given a connection whose AUTH LOGIN waits for the password.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tp := textproto.NewConn(conn)
	expect := func(code int) string {
		t.Helper()
		_, msg, err := tp.ReadResponse(code)
		if err != nil {
			t.Fatalf("want %d: %v", code, err)
		}
		return msg
	}
	expect(220)
	_ = tp.PrintfLine("EHLO printer")
	expect(250)
	_ = tp.PrintfLine("AUTH LOGIN")
	expect(334)
	_ = tp.PrintfLine("%s", base64.StdEncoding.EncodeToString([]byte("printer")))
	expect(334)

	// When other connections from the address fail until it is locked out.
	for range 2 {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Hello("printer")
		if got := replyOf(c.Auth(loginAuth{user: "printer", pass: "wrong"})); !strings.HasPrefix(got, "535") {
			t.Fatalf("wrong password: %s", got)
		}
		c.Close()
	}

	// Then the waiting AUTH is refused, though its password is right.
	_ = tp.PrintfLine("%s", base64.StdEncoding.EncodeToString([]byte("printer-password")))
	code, msg, _ := tp.ReadResponse(0)
	if code != 454 {
		t.Fatalf("the AUTH begun before the lockout got %d %s, want 454", code, msg)
	}
}

// loginAuth is a client for AUTH LOGIN (net/smtp has none).
type loginAuth struct{ user, pass string }

func (a loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a loginAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch string(challenge) {
	case "Username:":
		return []byte(a.user), nil
	case "Password:":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected challenge %q", challenge)
}

// TestReplyWaitBacklog: when a wait ended before any attempt (pacing held
// the message), the sender's next messages are answered at once, until an
// attempt happens within a wait again.
func TestReplyWaitBacklog(t *testing.T) {
	router, _ := NewRouter(nil, "p", []string{"*@contoso.com"})
	q := &fakeQueue{receipt: Receipt{ID: "q", Outcome: flows.OutcomeTemporary, Queued: true}}
	addr := serve(t, Config{Router: router, Queue: q, ReplyWait: 3 * time.Second})
	send := func(from string) {
		if err := smtp.SendMail(addr, nil, from, []string{"b@fabrikam.com"}, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	send("a@contoso.com")
	send("a@contoso.com")
	send("other@contoso.com")
	q.receipt = Receipt{ID: "q", Outcome: flows.OutcomeSent}
	send("a@contoso.com")
	send("a@contoso.com")
	want := []time.Duration{3 * time.Second, 0, 3 * time.Second, 0, 3 * time.Second}
	if fmt.Sprint(q.waits) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", q.waits, want)
	}
}

// TestUsersFileReload: an account added to the users file while the
// server runs can log in without a restart; a broken file keeps the last
// good accounts.
func TestUsersFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	h1, _ := HashPassword("first-password")
	u := &Users{}
	u.Set(User{Name: "printer", Hash: h1})
	if err := WriteUsers(path, u); err != nil {
		t.Fatal(err)
	}
	// The server reads its own copy, as `mailgrant relay` does: only the
	// file changes below, so a login works only if the file was read again.
	loaded, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	router, _ := NewRouter(nil, "p", []string{"*@contoso.com"})
	addr := serve(t, Config{Router: router, Queue: &fakeQueue{}, Users: loaded, UsersFile: path, InsecureAuth: true,
		Lockout: &Lockout{Delay: time.Millisecond, Failures: 100}})
	login := func(user, pass string) error {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.Hello("x")
		return c.Auth(loginAuth{user: user, pass: pass})
	}
	if err := login("scanner", "second-password"); err == nil {
		t.Fatal("an unknown user logged in")
	}
	h2, _ := HashPassword("second-password")
	u.Set(User{Name: "scanner", Hash: h2})
	if err := WriteUsers(path, u); err != nil {
		t.Fatal(err)
	}
	if err := login("scanner", "second-password"); err != nil {
		t.Fatalf("the added user: %v", err)
	}
	if err := os.WriteFile(path, []byte("broken line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := login("printer", "first-password"); err != nil {
		t.Fatalf("after a broken file: %v", err)
	}
	if err := login("scanner", "second-password"); err != nil {
		t.Fatalf("after a broken file, the user added before it: %v", err)
	}
}
