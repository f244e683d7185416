package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/relay"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store/spool"
)

// relayProc is a `mailgrant relay` process started by a test.
type relayProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string // HOST:PORT it listens on

	mu    sync.Mutex
	lines []string
	done  chan struct{}
	err   error
}

// stderr returns what the relay printed so far.
func (r *relayProc) stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// startRelay runs `mailgrant relay --listen 127.0.0.1:0 ARGS...` as a
// process and waits for its "listening on" line.
func startRelay(t *testing.T, args ...string) *relayProc {
	t.Helper()
	rp, err := tryStartRelay(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

func tryStartRelay(t *testing.T, args ...string) (*relayProc, error) {
	t.Helper()
	hasListen := false
	for _, a := range args {
		if a == "--listen" {
			hasListen = true
		}
	}
	if !hasListen {
		args = append([]string{"--listen", "127.0.0.1:0"}, args...)
	}
	cmd := mailgrantProcess(context.Background(), t, append([]string{"relay"}, args...)...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	rp := &relayProc{t: t, cmd: cmd, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			rp.mu.Lock()
			rp.lines = append(rp.lines, line)
			rp.mu.Unlock()
			if a, ok := strings.CutPrefix(line, "listening on smtp://"); ok {
				select {
				case ready <- a:
				default:
				}
			}
		}
		rp.err = cmd.Wait()
		close(rp.done)
	}()
	t.Cleanup(func() {
		select {
		case <-rp.done:
		default:
			_ = cmd.Process.Kill()
			<-rp.done
		}
		if t.Failed() || testing.Verbose() && os.Getenv("MAILGRANT_BENCH_RELAY") != "1" {
			t.Logf("relay stderr:\n%s", rp.stderr())
		}
	})
	select {
	case rp.addr = <-ready:
		return rp, nil
	case <-rp.done:
		return rp, fmt.Errorf("relay exited before listening: %v\n%s", rp.err, rp.stderr())
	case <-time.After(60 * time.Second):
		return rp, fmt.Errorf("relay did not say it was listening:\n%s", rp.stderr())
	}
}

// smtpsAddr is the --listen-tls address the relay printed.
func (r *relayProc) smtpsAddr(t *testing.T) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if a, ok := strings.CutPrefix(l, "listening on smtps://"); ok {
			return a
		}
	}
	t.Fatalf("the relay printed no smtps:// line:\n%s", strings.Join(r.lines, "\n"))
	return ""
}

// stop sends SIGTERM and returns the exit status.
func (r *relayProc) stop() int {
	r.t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		r.t.Fatal("relay did not stop within 60 s of SIGTERM")
	}
	return r.cmd.ProcessState.ExitCode()
}

// kill9 kills the relay at once, as a crash or power loss would.
func (r *relayProc) kill9() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// tenant is a sandbox tenant served by the test, whose Graph can be made
// unreachable (502 from a gateway) and brought back.
type tenant struct {
	*sandbox.Server
	down atomic.Bool
}

// SetDown makes Graph answer 502 Bad Gateway (down) or work again.
func (tn *tenant) SetDown(down bool) { tn.down.Store(down) }

func (tn *tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if tn.down.Load() && strings.HasPrefix(r.URL.Path, "/v1.0/") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"error":{"code":"BadGateway","message":"Graph is down (test gateway)"}}`)
		return
	}
	tn.Server.ServeHTTP(w, r)
}

// relayEnv prepares a relay test: the keyring, a sandbox tenant served by
// the test (so the test sees what Graph accepted), and a delegated profile
// "relay-megan" that sends as Megan Bowen. The sandbox's limit of 30 sends
// a minute per mailbox is lifted unless o sets one: tests raise the relay's
// --per-mailbox-rate (as for a tenant with a raised limit) to stay short.
func relayEnv(t *testing.T, o sandbox.Options) (*tenant, string) {
	t.Helper()
	if o.MailboxSendsPerMinute == 0 {
		o.MailboxSendsPerMinute = -1
	}
	dir := env(t, "mailgrant", "relay-megan", "relay-megan-rw", "relay-daemon")
	tn := &tenant{Server: sandbox.New(o)}
	hs := httptest.NewServer(tn)
	t.Cleanup(hs.Close)
	tn.SetURL(hs.URL)
	t.Setenv("MAILGRANT_LOGIN_HOST", hs.URL)
	t.Setenv("MAILGRANT_GRAPH_HOST", hs.URL)
	r := mailgrant(t, "", "setup", "--non-interactive", "--profile", "relay-megan",
		"--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", sandbox.MeganBowen.UPN)
	if r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	return tn, dir
}

// addDaemonProfile adds "relay-daemon", an app-only profile that may send
// as every mailbox of the sandbox tenant, with Mail.ReadWrite for drafts.
func addDaemonProfile(t *testing.T) {
	t.Helper()
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	t.Setenv("MAILGRANT_CLIENT_SECRET", sandbox.LargeMailApp.Secret)
	r := mailgrant(t, "", "setup", "--non-interactive", "--profile", "relay-daemon", "--scenario", "send-as-any", "--permissions", "Mail.ReadWrite",
		"--tenant", sandbox.TenantID, "--client-id", sandbox.LargeMailApp.ClientID, "--credential", "secret", "--account", sandbox.AdeleVance.UPN)
	if r.code != 0 {
		t.Fatalf("setup send-as-any: %d %s", r.code, r.stderr)
	}
	t.Setenv("MAILGRANT_CLIENT_SECRET", "")
}

// message is a small RFC 5322 message.
func message(from, to, subject, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nDate: " + time.Now().Format(time.RFC1123Z) +
		"\r\nMessage-ID: <" + subject + "@relay.test>\r\n\r\n" + body + "\r\n"
}

// sendGo sends one message with Go's net/smtp and returns the error (an
// *textproto.Error carries the reply code).
func sendGo(addr string, auth smtp.Auth, from string, to []string, msg string) error {
	return smtp.SendMail(addr, auth, from, to, []byte(msg))
}

// hasReply reports whether err is an SMTP reply starting with prefix, such
// as "550 5.7.1".
func hasReply(err error, prefix string) bool {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return false
	}
	return strings.HasPrefix(fmt.Sprintf("%03d %s", te.Code, te.Msg), prefix)
}

// sentWith returns the messages the sandbox accepted with this subject.
func sentWith(srv *tenant, subject string) []sandbox.SentMessage {
	var out []sandbox.SentMessage
	for _, m := range srv.Sent() {
		if m.Subject == subject {
			out = append(out, m)
		}
	}
	return out
}

// waitUntil polls cond (every 20 ms) until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRelayPlainLoopback: Go's net/smtp hands a message to a relay process
// on loopback without AUTH; the sandbox's Graph receives it, as Megan, with
// the envelope-only recipient as Bcc and nobody else; the relay logs one
// line for it; a sender no profile may send as is refused at MAIL FROM;
// SIGTERM ends the relay with 0.
func TestRelayPlainLoopback(t *testing.T) {
	srv, dir := relayEnv(t, sandbox.Options{})
	rp := startRelay(t, "--profile", "relay-megan")

	// Given a message to Adele whose envelope also names Alex (Bcc)
	megan, adele, alex := sandbox.MeganBowen.UPN, sandbox.AdeleVance.UPN, sandbox.AlexWilber.UPN
	msg := message(megan, adele, "plain-1", "Scanned document attached.")
	// When net/smtp sends it
	if err := sendGo(rp.addr, nil, megan, []string{adele, alex}, msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	// Then Graph got it once, To Adele, Bcc Alex, from Megan's mailbox
	waitUntil(t, 20*time.Second, "the message at Graph", func() bool { return len(sentWith(srv, "plain-1")) > 0 })
	got := sentWith(srv, "plain-1")
	if len(got) != 1 || got[0].Mailbox != megan || strings.Join(got[0].To, ",") != adele || strings.Join(got[0].Bcc, ",") != alex || len(got[0].Cc) != 0 {
		t.Fatalf("Graph got %+v", got)
	}

	// A sender the profile may not send as: 550 5.7.1 at MAIL FROM.
	err := sendGo(rp.addr, nil, "ceo@contoso.com", []string{adele}, message("ceo@contoso.com", adele, "spoof", "x"))
	if err == nil || !hasReply(err, "550 5.7.1") {
		t.Fatalf("foreign sender: %v", err)
	}
	// A From header that differs from an allowed envelope sender: refused too.
	err = sendGo(rp.addr, nil, megan, []string{adele}, message(sandbox.AdeleVance.UPN, adele, "spoof-header", "x"))
	if err == nil || !hasReply(err, "550 5.7.1") {
		t.Fatalf("foreign From header: %v", err)
	}
	if n := len(sentWith(srv, "spoof")) + len(sentWith(srv, "spoof-header")); n != 0 {
		t.Fatalf("a refused message reached Graph (%d)", n)
	}

	if code := rp.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	logs := rp.stderr()
	if n := strings.Count(logs, "listening on smtp://"); n != 1 {
		t.Errorf("%d listening lines, want 1", n)
	}
	if n := strings.Count(logs, `msg="smtp message accepted"`); n != 1 {
		t.Errorf("%d accepted lines for one message:\n%s", n, logs)
	}
	if strings.Contains(logs, "Scanned document") {
		t.Error("the relay logged a message body")
	}
	assertNotInFiles(t, dir, "Scanned document")
}

// TestRelayNonLoopbackRefused: listening beyond loopback without TLS and
// AUTH (or with --listen-tls, without AUTH or a certificate) exits 2 and
// says which flags fix it; with them it starts.
func TestRelayNonLoopbackRefused(t *testing.T) {
	relayEnv(t, sandbox.Options{})
	for _, args := range [][]string{
		{"--listen", "0.0.0.0:0"},
		{"--listen", "0.0.0.0:0", "--tls-self-signed"},
		{"--listen", "[::]:0", "--users", "/nonexistent"},
		{"--listen-tls", "127.0.0.1:0"},
		{"--listen-tls", "0.0.0.0:0", "--tls-self-signed"},
		{"--listen-tls", "0.0.0.0"},
	} {
		r := mailgrant(t, "", append([]string{"relay", "--profile", "relay-megan"}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, args[0][2:]+":") || !strings.Contains(r.stderr, "hint:") || strings.Contains(r.stderr, "listening on") {
			t.Fatalf("%v: want exit 2 naming listen with a hint, got %d: %s", args, r.code, r.stderr)
		}
	}
	r := mailgrant(t, "", "relay", "--listen", "0.0.0.0:0")
	if !strings.Contains(r.stderr, "--tls-cert") || !strings.Contains(r.stderr, "--users") {
		t.Fatalf("the refusal does not name the flags that fix it: %s", r.stderr)
	}
	// With TLS and AUTH it listens.
	users := filepath.Join(t.TempDir(), "users")
	if r := mailgrant(t, "a-long-password\n", "relay", "passwd", "--users", users, "printer"); r.code != 0 {
		t.Fatalf("passwd: %d %s", r.code, r.stderr)
	}
	fingerprint := func() (printed, served string) {
		rp := startRelay(t, "--profile", "relay-megan", "--listen", "0.0.0.0:0", "--tls-self-signed", "--users", users)
		_, printed, _ = strings.Cut(rp.stderr(), "SHA-256 fingerprint: ")
		printed, _, _ = strings.Cut(printed, "\n")
		_, port, _ := net.SplitHostPort(rp.addr)
		c, err := smtp.Dial(net.JoinHostPort("127.0.0.1", port))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
			t.Fatal(err)
		}
		st, _ := c.TLSConnectionState()
		sum := sha256.Sum256(st.PeerCertificates[0].Raw)
		var parts []string
		for _, b := range sum {
			parts = append(parts, fmt.Sprintf("%02X", b))
		}
		c.Close()
		if code := rp.stop(); code != 0 {
			t.Fatalf("exit %d", code)
		}
		return printed, strings.Join(parts, ":")
	}
	p1, s1 := fingerprint()
	if p1 == "" || p1 != s1 {
		t.Fatalf("printed fingerprint %q, served certificate's %q", p1, s1)
	}
	// The certificate is kept: devices that pinned it keep working.
	if p2, _ := fingerprint(); p2 != p1 {
		t.Fatalf("a restart made a new certificate: %s, then %s", p1, p2)
	}

	// A client from a network address (this machine's own, not loopback)
	// must AUTH, which is offered only after STARTTLS.
	ip := nonLoopbackIP()
	if ip == "" {
		t.Log("no non-loopback address on this machine; the network client check did not run")
		return
	}
	rp := startRelay(t, "--profile", "relay-megan", "--listen", "0.0.0.0:0", "--tls-self-signed", "--users", users)
	_, port, _ := net.SplitHostPort(rp.addr)
	c, err := smtp.Dial(net.JoinHostPort(ip, port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.Hello("printer.lan")
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered to a network client before STARTTLS")
	}
	if err := c.Mail(sandbox.MeganBowen.UPN); !hasReply(err, "530") {
		t.Fatalf("MAIL from a network client without AUTH: %v", err)
	}
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, "PLAIN") || !strings.Contains(mechs, "LOGIN") {
		t.Fatalf("AUTH after STARTTLS: %v %q", ok, mechs)
	}
	if err := c.Auth(smtp.PlainAuth("", "printer", "a-long-password", ip)); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := c.Mail(sandbox.MeganBowen.UPN); err != nil {
		t.Fatalf("MAIL after AUTH: %v", err)
	}
	_ = c.Quit()
	rp.stop()
}

// nonLoopbackIP is an IPv4 address of this machine that is not loopback,
// or "".
func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return ""
}

// TestRelayStartTLSAuth: with --require-auth, a client must STARTTLS and
// AUTH; a wrong password gets 535 5.7.8 and is slowed down; the right one
// sends; a user limited to a sender pattern cannot use another sender.
func TestRelayStartTLSAuth(t *testing.T) {
	srv, dir := relayEnv(t, sandbox.Options{})
	users := filepath.Join(t.TempDir(), "users")
	if r := mailgrant(t, "printer-password\n", "relay", "passwd", "--users", users, "printer", "--allow-from", sandbox.MeganBowen.UPN); r.code != 0 {
		t.Fatalf("passwd: %d %s", r.code, r.stderr)
	}
	if fi, err := os.Stat(users); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("users file: %v %v", fi, err)
	}
	data, _ := os.ReadFile(users)
	if strings.Contains(string(data), "printer-password") || !strings.Contains(string(data), "$argon2id$") {
		t.Fatalf("users file holds no argon2id hash or the password:\n%s", data)
	}
	// Adele is routable, so only the user's sender pattern refuses her.
	rp := startRelay(t, "--profile", "relay-megan", "--tls-self-signed", "--users", users, "--require-auth", "--route", sandbox.AdeleVance.UPN+"=relay-megan")
	megan := sandbox.MeganBowen.UPN

	dial := func() *smtp.Client {
		c, err := smtp.Dial(rp.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Hello("printer.local"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Before STARTTLS: no AUTH offered, and MAIL is refused.
	c := dial()
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if err := c.Mail(megan); err == nil || !hasReply(err, "530") {
		t.Fatalf("MAIL without AUTH: %v", err)
	}
	c.Close()

	// Wrong password: 535 5.7.8.
	c = dial()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := c.Auth(smtp.PlainAuth("", "printer", "wrong-password", "127.0.0.1"))
	if err == nil || !hasReply(err, "535 5.7.8") {
		t.Fatalf("wrong password: %v", err)
	}
	if time.Since(start) < 400*time.Millisecond {
		t.Errorf("a failed AUTH was answered in %s, not slowed down", time.Since(start))
	}
	c.Close()

	// Right password: the message goes.
	c = dial()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", "printer", "printer-password", "127.0.0.1")); err != nil {
		t.Fatalf("auth: %v", err)
	}
	// A sender outside the user's patterns.
	if err := c.Mail(sandbox.AdeleVance.UPN); err == nil || !hasReply(err, "550 5.7.1") {
		t.Fatalf("sender outside the user's patterns: %v", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(megan); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(sandbox.AdeleVance.UPN); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, message(megan, sandbox.AdeleVance.UPN, "tls-auth", "hello"))
	if err := w.Close(); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	_ = c.Quit()
	waitUntil(t, 20*time.Second, "the message at Graph", func() bool { return len(sentWith(srv, "tls-auth")) == 1 })
	if code := rp.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(rp.stderr(), "printer-password") || strings.Contains(rp.stderr(), "wrong-password") {
		t.Error("a password reached the log")
	}
	assertNotInFiles(t, dir, "printer-password")
}

// requireSMTPClient finds an independent SMTP client program, skipping the
// test when it is missing unless MAILGRANT_REQUIRE_SMTP_CLIENTS=1 (CI).
func requireSMTPClient(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("MAILGRANT_REQUIRE_SMTP_CLIENTS") == "1" {
		t.Fatalf("MAILGRANT_REQUIRE_SMTP_CLIENTS=1 but %s is not installed: %v", name, err)
	}
	t.Skipf("%s is not installed (apt-get install swaks libnet-ssleay-perl; python3)", name)
	return ""
}

// TestRelayIndependentClients: swaks (Perl) and Python's smtplib, plain on
// loopback, with bare LF line ends, STARTTLS with AUTH LOGIN and PLAIN,
// and implicit TLS (--listen-tls, SMTPS) with AUTH, against a relay process.
func TestRelayIndependentClients(t *testing.T) {
	srv, _ := relayEnv(t, sandbox.Options{})
	users := filepath.Join(t.TempDir(), "users")
	if r := mailgrant(t, "wordpress-password\n", "relay", "passwd", "--users", users, "wordpress"); r.code != 0 {
		t.Fatalf("passwd: %d %s", r.code, r.stderr)
	}
	rp := startRelay(t, "--profile", "relay-megan", "--tls-self-signed", "--users", users, "--listen-tls", "127.0.0.1:0")
	host, port, _ := net.SplitHostPort(rp.addr)
	_, tlsPort, _ := net.SplitHostPort(rp.smtpsAddr(t))
	megan, adele := sandbox.MeganBowen.UPN, sandbox.AdeleVance.UPN

	t.Run("swaks", func(t *testing.T) {
		swaks := requireSMTPClient(t, "swaks")
		run := func(subject string, extra ...string) string {
			args := append([]string{"--server", host, "--port", port, "--from", megan, "--to", adele,
				"--header", "Subject: " + subject, "--body", "from swaks", "--timeout", "30"}, extra...)
			out, err := exec.Command(swaks, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("swaks %v: %v\n%s", extra, err, out)
			}
			return string(out)
		}
		run("swaks-plain")
		out := run("swaks-tls", "--tls", "--auth", "LOGIN", "--auth-user", "wordpress", "--auth-password", "wordpress-password")
		if !strings.Contains(out, "235 2.0.0") {
			t.Fatalf("no AUTH LOGIN success:\n%s", out)
		}
		out = run("swaks-smtps", "--port", tlsPort, "--tls-on-connect", "--auth", "PLAIN", "--auth-user", "wordpress", "--auth-password", "wordpress-password")
		if !strings.Contains(out, "235 2.0.0") {
			t.Fatalf("no AUTH PLAIN success over implicit TLS:\n%s", out)
		}
		cmd := exec.Command(swaks, "--server", host, "--port", port, "--from", megan, "--to", adele, "--tls",
			"--auth", "PLAIN", "--auth-user", "wordpress", "--auth-password", "not-the-password", "--timeout", "30")
		out2, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out2), "535 5.7.8") {
			t.Fatalf("wrong password: no 535 5.7.8:\n%s", out2)
		}
		waitUntil(t, 20*time.Second, "swaks' messages at Graph", func() bool {
			return len(sentWith(srv, "swaks-plain")) == 1 && len(sentWith(srv, "swaks-tls")) == 1 && len(sentWith(srv, "swaks-smtps")) == 1
		})
	})
	t.Run("python smtplib", func(t *testing.T) {
		py := requireSMTPClient(t, "python3")
		script := `
import smtplib, ssl, sys
host, port, frm, to = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# Bare LF line ends, as PHP's mail() and old devices write them.
msg = "From: %s\nTo: %s\nSubject: python-lf\n\nline one\nline two\n" % (frm, to)
with smtplib.SMTP(host, port, timeout=30) as s:
    s.sendmail(frm, [to], msg.encode())
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP(host, port, timeout=30) as s:
    s.starttls(context=ctx)
    s.login("wordpress", "wordpress-password")
    s.sendmail(frm, [to], ("From: %s\r\nTo: %s\r\nSubject: python-tls\r\n\r\nhi\r\n" % (frm, to)).encode())
with smtplib.SMTP_SSL(host, int(sys.argv[5]), context=ctx, timeout=30) as s:
    s.login("wordpress", "wordpress-password")
    s.sendmail(frm, [to], ("From: %s\r\nTo: %s\r\nSubject: python-smtps\r\n\r\nhi\r\n" % (frm, to)).encode())
print("ok")
`
		out, err := exec.Command(py, "-c", script, host, port, megan, adele, tlsPort).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "ok") {
			t.Fatalf("python: %v\n%s", err, out)
		}
		waitUntil(t, 20*time.Second, "python's messages at Graph", func() bool {
			return len(sentWith(srv, "python-lf")) == 1 && len(sentWith(srv, "python-tls")) == 1 && len(sentWith(srv, "python-smtps")) == 1
		})
		if b := sentWith(srv, "python-lf")[0].Body; !strings.Contains(b, "line two") {
			t.Fatalf("the bare-LF message arrived as %q", b)
		}
	})
	if code := rp.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestRelayLimits: past --max-recipients a RCPT gets 452 4.5.3; a message
// above --max-size gets 552; a client outside --allow-ip gets 554 at
// connect; /healthz answers on --metrics-listen.
func TestRelayLimits(t *testing.T) {
	relayEnv(t, sandbox.Options{})
	mln, _ := net.Listen("tcp", "127.0.0.1:0")
	maddr := mln.Addr().String()
	mln.Close()
	rp := startRelay(t, "--profile", "relay-megan", "--max-recipients", "2", "--max-size", "10KB", "--metrics-listen", maddr)
	megan := sandbox.MeganBowen.UPN
	c, err := smtp.Dial(rp.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, size := c.Extension("SIZE"); !ok || size != "10240" {
		t.Errorf("SIZE %v %q, want 10240", ok, size)
	}
	for _, ext := range []string{"PIPELINING", "8BITMIME"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("%s not offered", ext)
		}
	}
	_ = c.Mail(megan)
	_ = c.Rcpt("a@contoso.com")
	_ = c.Rcpt("b@contoso.com")
	if err := c.Rcpt("c@contoso.com"); err == nil || !hasReply(err, "452 4.5.3") {
		t.Fatalf("third recipient: %v", err)
	}
	w, _ := c.Data()
	_, _ = io.WriteString(w, message(megan, "a@contoso.com", "big", strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 400)))
	if err := w.Close(); err == nil || !hasReply(err, "552") {
		t.Fatalf("oversized message: %v", err)
	}
	resp, err := http.Get("http://" + maddr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + maddr + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics: %v", err)
	}
	resp.Body.Close()
	rp.stop()

	rp = startRelay(t, "--profile", "relay-megan", "--allow-ip", "192.0.2.0/24")
	conn, err := net.Dial("tcp", rp.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(line, "554 5.7.1") {
		t.Fatalf("client outside --allow-ip got %q", line)
	}
}

// TestRelayHealthz: /healthz on --metrics-listen says whether the relay's
// queue works: ok, then 503 naming the spool once its queue directory is
// gone.
func TestRelayHealthz(t *testing.T) {
	// Given a relay with metrics and its own spool.
	_, dir := relayEnv(t, sandbox.Options{})
	mln, _ := net.Listen("tcp", "127.0.0.1:0")
	maddr := mln.Addr().String()
	mln.Close()
	spool := filepath.Join(dir, "relay-spool")
	rp := startRelay(t, "--profile", "relay-megan", "--spool", spool, "--metrics-listen", maddr)
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + maddr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != 200 || body != "ok\n" {
		t.Fatalf("healthz of a working relay: %d %q", code, body)
	}

	// When its spool's queue directory disappears.
	if err := os.Rename(filepath.Join(spool, "queue"), filepath.Join(spool, "queue.moved")); err != nil {
		t.Fatal(err)
	}

	// Then /healthz says so.
	if code, body := get(); code != 503 || !strings.Contains(body, "spool") {
		t.Fatalf("healthz without a spool: %d %q, want 503 naming the spool", code, body)
	}
	if err := os.Rename(filepath.Join(spool, "queue.moved"), filepath.Join(spool, "queue")); err != nil {
		t.Fatal(err)
	}
	rp.stop()
}

// TestRelayServesSendmailWhileSomeoneDelivers: sendmail may hand a
// profile's messages to the spool while a relay runs on it, whatever the
// age of its marker, and for 10 minutes after a `queue run`; a marker left
// by a relay that stopped long ago does not count.
func TestRelayServesSendmailWhileSomeoneDelivers(t *testing.T) {
	// Given a running relay whose marker is an hour old.
	_, dir := relayEnv(t, sandbox.Options{})
	spoolDir := relay.DefaultSpoolDir(dir)
	rp := startRelay(t, "--profile", "relay-megan")
	stale := fmt.Sprintf(`{"profiles":["relay-megan"],"written":%q}`, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(spoolDir, "relay.json"), []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	if !relay.Serves(spoolDir, "relay-megan") {
		t.Fatal("a running relay does not serve its profile")
	}

	// When it stops, nobody delivers from the spool.
	if code := rp.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if relay.Serves(spoolDir, "relay-megan") {
		t.Fatal("an hour-old marker of a stopped relay still serves")
	}

	// When `queue run` runs (from a timer), it serves again.
	if r := mailgrant(t, "", "queue", "run"); r.code != 0 {
		t.Fatalf("queue run: %d %s", r.code, r.stderr)
	}
	if !relay.Serves(spoolDir, "relay-megan") {
		t.Fatal("queue run did not refresh the heartbeat")
	}
}

// sendAll sends one message per subject from Megan to Adele, n clients at
// a time, and fails the test on any reply but 250.
func sendAll(t *testing.T, addr string, subjects []string, clients int) {
	t.Helper()
	megan, adele := sandbox.MeganBowen.UPN, sandbox.AdeleVance.UPN
	sem := make(chan struct{}, clients)
	errs := make(chan error, len(subjects))
	for _, subj := range subjects {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- sendGo(addr, nil, megan, []string{adele}, message(megan, adele, subj, "body of "+subj))
		}()
	}
	for range subjects {
		if err := <-errs; err != nil {
			t.Errorf("send: %v", err)
		}
	}
}

// subjects returns n subjects with a prefix.
func subjects(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

// stopAndAssertOnce stops the relay (SIGTERM: deliveries in flight end
// first) and checks that its spool holds nothing more to send and that
// Graph got each subject exactly once. Counting only after the stop sees a
// duplicate that arrives after the first copy.
func stopAndAssertOnce(t *testing.T, rp *relayProc, tn *tenant, spoolDir string, subs []string) {
	t.Helper()
	if code := rp.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	sp, err := spool.Open(spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	if q, err := sp.Queued(); err != nil || len(q) != 0 {
		t.Fatalf("still queued after the relay stopped: %d %v", len(q), err)
	}
	n := map[string]int{}
	for _, m := range tn.Sent() {
		n[m.Subject]++
	}
	for _, s := range subs {
		if n[s] != 1 {
			t.Errorf("%q reached Graph %d times, want once", s, n[s])
		}
	}
}

// deliveredCounts counts the messages Graph accepted per subject.
func deliveredCounts(tn *tenant, subs []string) (missing, twice int) {
	n := map[string]int{}
	for _, m := range tn.Sent() {
		n[m.Subject]++
	}
	for _, s := range subs {
		switch {
		case n[s] == 0:
			missing++
		case n[s] > 1:
			twice++
		}
	}
	return missing, twice
}

// TestRelayGraphDownThenBack: while Graph is down, messages are accepted
// (250, queued) and nothing is lost; when it is back they are all sent,
// once each.
func TestRelayGraphDownThenBack(t *testing.T) {
	tn, dir := relayEnv(t, sandbox.Options{})
	rp := startRelay(t, "--profile", "relay-megan", "--reply-wait", "300ms", "--retry-base", "200ms", "--per-mailbox-rate", "600")
	tn.SetDown(true)
	subs := subjects("down", 5)
	sendAll(t, rp.addr, subs, 5)
	if got := len(tn.Sent()); got != 0 {
		t.Fatalf("Graph is down but got %d messages", got)
	}
	tn.SetDown(false)
	waitUntil(t, 60*time.Second, "every queued message at Graph", func() bool { m, _ := deliveredCounts(tn, subs); return m == 0 })
	stopAndAssertOnce(t, rp, tn, relay.DefaultSpoolDir(dir), subs)
}

// TestRelayThrottled: Graph answers every second request with 429 and
// Retry-After; a burst from several clients is still all sent, once each.
func TestRelayThrottled(t *testing.T) {
	tn, dir := relayEnv(t, sandbox.Options{ThrottleEvery: 2})
	rp := startRelay(t, "--profile", "relay-megan", "--retry-base", "200ms", "--per-mailbox-rate", "600")
	tn.SetFaults(sandbox.FaultThrottle)
	subs := subjects("throttled", 8)
	sendAll(t, rp.addr, subs, 4)
	waitUntil(t, 90*time.Second, "every message at Graph", func() bool { m, _ := deliveredCounts(tn, subs); return m == 0 })
	stopAndAssertOnce(t, rp, tn, relay.DefaultSpoolDir(dir), subs)
	if n := tn.RequestCount("/v1.0/"); n <= len(subs) {
		t.Errorf("%d Graph requests for %d messages: the throttling never happened", n, len(subs))
	}
}

// TestRelayKill9: messages accepted while Graph is down survive kill -9 of
// the relay; a new relay on the same spool sends each of them once.
func TestRelayKill9(t *testing.T) {
	tn, dir := relayEnv(t, sandbox.Options{})
	spool := filepath.Join(dir, "relay-spool")
	args := []string{"--profile", "relay-megan", "--spool", spool, "--reply-wait", "200ms", "--retry-base", "200ms", "--per-mailbox-rate", "600"}
	rp := startRelay(t, args...)
	tn.SetDown(true)
	subs := subjects("kill9", 6)
	sendAll(t, rp.addr, subs, 3)
	rp.kill9()
	tn.SetDown(false)
	rp = startRelay(t, args...)
	waitUntil(t, 60*time.Second, "every accepted message at Graph", func() bool { m, _ := deliveredCounts(tn, subs); return m == 0 })
	stopAndAssertOnce(t, rp, tn, spool, subs)
}

// TestRelayKill9InFlight: kill -9 while deliveries are in flight (Graph
// answers slowly) loses nothing: after a restart every accepted message
// has reached Graph. Without --exactly-once one may arrive twice (the
// README says so); the test reports how many did.
func TestRelayKill9InFlight(t *testing.T) {
	tn, dir := relayEnv(t, sandbox.Options{GraphLatency: 300 * time.Millisecond})
	spool := filepath.Join(dir, "relay-spool")
	args := []string{"--profile", "relay-megan", "--spool", spool, "--reply-wait", "0", "--retry-base", "200ms", "--per-mailbox-rate", "600"}
	rp := startRelay(t, args...)
	subs := subjects("inflight", 12)
	sendAll(t, rp.addr, subs, 6)
	waitUntil(t, 30*time.Second, "a first delivery", func() bool { return len(tn.Sent()) > 0 })
	rp.kill9()
	rp = startRelay(t, args...)
	waitUntil(t, 60*time.Second, "every accepted message at Graph", func() bool { m, _ := deliveredCounts(tn, subs); return m == 0 })
	if code := rp.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	_, twice := deliveredCounts(tn, subs)
	t.Logf("after kill -9 mid-delivery without --exactly-once: %d of %d messages arrived twice", twice, len(subs))
}

// TestRelayKill9ExactlyOnce: with --exactly-once, kill -9 while
// deliveries are in flight neither loses nor duplicates a message: a new
// relay sends the recorded drafts that still exist and skips the ones
// already sent.
func TestRelayKill9ExactlyOnce(t *testing.T) {
	tn, dir := relayEnv(t, sandbox.Options{GraphLatency: 300 * time.Millisecond})
	megan := sandbox.MeganBowen.UPN
	r := mailgrant(t, "", "setup", "--non-interactive", "--profile", "relay-megan-rw", "--permissions", "Mail.ReadWrite",
		"--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", megan)
	if r.code != 0 {
		t.Fatalf("setup with Mail.ReadWrite: %d %s", r.code, r.stderr)
	}
	spool := filepath.Join(dir, "relay-spool")
	args := []string{"--profile", "relay-megan-rw", "--exactly-once", "--spool", spool, "--reply-wait", "0", "--retry-base", "200ms", "--per-mailbox-rate", "600"}
	for round := range 3 {
		rp := startRelay(t, args...)
		subs := subjects(fmt.Sprint("once", round), 12)
		sendAll(t, rp.addr, subs, 6)
		before := len(tn.Sent())
		waitUntil(t, 30*time.Second, "a first delivery", func() bool { return len(tn.Sent()) > before })
		rp.kill9()
		rp = startRelay(t, args...)
		waitUntil(t, 90*time.Second, "every accepted message at Graph", func() bool { m, _ := deliveredCounts(tn, subs); return m == 0 })
		stopAndAssertOnce(t, rp, tn, spool, subs)
		if t.Failed() {
			t.Fatalf("round %d: with --exactly-once", round)
		}
	}
}

// TestRelayLargeAttachment: a message with an 8 MB attachment is too
// large for one Graph request; without Mail.ReadWrite (needed for the
// draft path) the client is told so in the DATA reply, and with it the
// message goes through a draft and upload sessions.
func TestRelayLargeAttachment(t *testing.T) {
	tn, _ := relayEnv(t, sandbox.Options{})
	megan, adele := sandbox.MeganBowen.UPN, sandbox.AdeleVance.UPN
	msg := largeMessage(megan, adele, "scan-8mb", 8<<20)

	rp := startRelay(t, "--profile", "relay-megan")
	err := sendGo(rp.addr, nil, megan, []string{adele}, msg)
	if !hasReply(err, "554 5.7.1") || !strings.Contains(err.Error(), "Mail.ReadWrite") {
		t.Fatalf("without Mail.ReadWrite: %v", err)
	}
	rp.stop()

	r := mailgrant(t, "", "setup", "--non-interactive", "--profile", "relay-megan-rw", "--permissions", "Mail.ReadWrite",
		"--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", megan)
	if r.code != 0 {
		t.Fatalf("setup with Mail.ReadWrite: %d %s", r.code, r.stderr)
	}
	rp = startRelay(t, "--profile", "relay-megan-rw")
	if err := sendGo(rp.addr, nil, megan, []string{adele}, msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	waitUntil(t, 60*time.Second, "the 8 MB message at Graph", func() bool { return len(sentWith(tn, "scan-8mb")) == 1 })
	if got := sentWith(tn, "scan-8mb")[0]; got.Attachments != 1 {
		t.Fatalf("Graph got %d attachments", got.Attachments)
	}
	rp.stop()
}

// largeMessage is a multipart message with a size-byte PDF attachment.
func largeMessage(from, to, subject string, size int) string {
	var b strings.Builder
	b.WriteString("From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nScan attached.\r\n")
	b.WriteString("--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	raw := make([]byte, size)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return b.String()
}

// peakRSS is a process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestRelayLoad is `make bench-relay`: a relay process, the sandbox with
// 50 ms Graph latency, 1,000 small messages from 20 SMTP clients (4 sender
// mailboxes at a raised 3,000 a minute each, so pacing allows 200 a
// second), then ten 30 MB messages at once. It checks that every message
// is delivered exactly once and reports the accept rate, the delivery time
// against what pacing allows, and the relay's peak RSS; it asserts no
// speed. It runs only with MAILGRANT_BENCH_RELAY=1.
func TestRelayLoad(t *testing.T) {
	if os.Getenv("MAILGRANT_BENCH_RELAY") != "1" {
		t.Skip("a load run; make bench-relay sets MAILGRANT_BENCH_RELAY=1")
	}
	tn, _ := relayEnv(t, sandbox.Options{GraphLatency: 50 * time.Millisecond})
	addDaemonProfile(t)
	const n, clients, rate = 1000, 20, 3000
	boxes := []string{sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, sandbox.AlexWilber.UPN, sandbox.InfoMailbox.UPN}
	allowed := float64(len(boxes)) * min(float64(rate)/60, 4/0.05) // messages a second

	for _, wait := range []string{"0", "10s"} {
		t.Run("reply-wait="+wait, func(t *testing.T) {
			before := len(tn.Sent())
			spoolDir := t.TempDir()
			rp := startRelay(t, "--profile", "relay-daemon", "--per-mailbox-rate", fmt.Sprint(rate), "--reply-wait", wait, "--spool", spoolDir)
			prefix := "load" + wait
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- sendShare(rp.addr, prefix, c, clients, n, boxes)
				}()
			}
			wg.Wait()
			accepted := time.Since(start)
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			waitUntil(t, 3*time.Minute, "every message at Graph", func() bool { return len(tn.Sent())-before >= n })
			delivered := time.Since(start)
			subs := make([]string, n)
			for i := range subs {
				subs[i] = fmt.Sprintf("%s-%d", prefix, i)
			}
			rss := peakRSS(t, rp.cmd.Process.Pid)
			stopAndAssertOnce(t, rp, tn, spoolDir, subs)
			t.Logf("RESULT reply-wait=%s: %d messages, %d clients: accept %.0f/s (%.2fs); delivered in %.2fs, pacing allows %.2fs: %.2fx; peak RSS %d MB",
				wait, n, clients, float64(n)/accepted.Seconds(), accepted.Seconds(), delivered.Seconds(), float64(n)/allowed, delivered.Seconds()/(float64(n)/allowed), rss>>20)
		})
	}

	t.Run("ten 30 MB messages", func(t *testing.T) {
		// Replies come once the messages are spooled; their deliveries
		// (drafts and upload sessions) follow, and all count for the peak.
		rp := startRelay(t, "--profile", "relay-daemon", "--spool", t.TempDir(), "--reply-wait", "0", "--per-mailbox-rate", "600")
		// A 22 MB attachment makes a 30 MB message (base64 and line ends).
		// From 4 mailboxes, so that all ten deliveries can run at once
		// (4 per mailbox at most).
		var wg sync.WaitGroup
		replies := make(chan error, 10)
		for i := range 10 {
			from := boxes[i%len(boxes)]
			msg := largeMessage(from, sandbox.MeganBowen.UPN, "big", (30<<20)*57/78)
			if i == 0 {
				t.Logf("message size %d MB", len(msg)>>20)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies <- sendGo(rp.addr, nil, from, []string{sandbox.MeganBowen.UPN}, msg)
			}()
		}
		wg.Wait()
		close(replies)
		var got []string
		for err := range replies {
			if err == nil {
				got = append(got, "250")
			} else {
				got = append(got, err.Error())
			}
		}
		waitUntil(t, 5*time.Minute, "the ten large messages at Graph", func() bool { return len(sentWith(tn, "big")) >= 10 })
		rss := peakRSS(t, rp.cmd.Process.Pid)
		rp.stop()
		if n := len(sentWith(tn, "big")); n != 10 {
			t.Errorf("Graph got %d of the 10 large messages", n)
		}
		if n := strings.Count(rp.stderr(), "smtp message accepted"); n != 10 {
			t.Errorf("%d of 10 large messages accepted", n)
		}
		t.Logf("RESULT ten 30 MB messages at once, received and sent through drafts: peak RSS %d MB; replies %q", rss>>20, got)
	})
}

// sendShare sends client c's share of n messages over one connection, the
// sender cycling through boxes.
func sendShare(addr, prefix string, c, clients, n int, boxes []string) error {
	cl, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer cl.Close()
	for i := c; i < n; i += clients {
		from := boxes[i%len(boxes)]
		if err := cl.Mail(from); err != nil {
			return err
		}
		if err := cl.Rcpt(sandbox.MeganBowen.UPN); err != nil {
			return err
		}
		w, err := cl.Data()
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, message(from, sandbox.MeganBowen.UPN, fmt.Sprintf("%s-%d", prefix, i), "load")); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return cl.Quit()
}

// TestRelaySIGTERMInFlight: SIGTERM while a message is being handed over
// (Graph answers slowly, DATA waits for the attempt) ends the wait: the
// client gets 250 (the message is spooled), new connections are refused,
// the relay exits 0, and a relay started later sends the message once.
func TestRelaySIGTERMInFlight(t *testing.T) {
	tn, dir := relayEnv(t, sandbox.Options{GraphLatency: 3 * time.Second})
	spool := filepath.Join(dir, "relay-spool")
	rp := startRelay(t, "--profile", "relay-megan", "--spool", spool, "--reply-wait", "30s")
	megan, adele := sandbox.MeganBowen.UPN, sandbox.AdeleVance.UPN
	sent := make(chan error, 1)
	go func() { sent <- sendGo(rp.addr, nil, megan, []string{adele}, message(megan, adele, "sigterm", "x")) }()
	// An idle client, connected and greeted, sends nothing more.
	idle, err := net.Dial("tcp", rp.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idleR := bufio.NewReader(idle)
	if l, _ := idleR.ReadString('\n'); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q", l)
	}
	waitUntil(t, 20*time.Second, "the message spooled", func() bool { return strings.Contains(rp.stderr(), `msg="message accepted"`) })
	start := time.Now()
	code := rp.stop()
	if l, _ := idleR.ReadString('\n'); !strings.HasPrefix(l, "421 ") {
		t.Errorf("the idle client got %q at shutdown, want 421", l)
	}
	if err := <-sent; err != nil {
		t.Fatalf("the client in DATA got %v, want 250", err)
	}
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if d := time.Since(start); d > 25*time.Second {
		t.Errorf("stopping took %s", d)
	}
	if _, err := net.DialTimeout("tcp", rp.addr, time.Second); err == nil {
		t.Error("the stopped relay still accepts connections")
	}
	rp = startRelay(t, "--profile", "relay-megan", "--spool", spool)
	waitUntil(t, 60*time.Second, "the spooled message at Graph", func() bool { return len(sentWith(tn, "sigterm")) >= 1 })
	stopAndAssertOnce(t, rp, tn, spool, []string{"sigterm"})
}

// TestRelayPasswd: accounts are added, changed (keeping their sender
// limits), refused with a short password, and removed; the file never
// holds a password.
func TestRelayPasswd(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	if r := mailgrant(t, "short\n", "relay", "passwd", "--users", users, "printer"); r.code != 2 || !strings.Contains(r.stderr, "password") {
		t.Fatalf("short password: %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(users); err == nil {
		t.Fatal("a refused password wrote the file")
	}
	if r := mailgrant(t, "first-password\n", "relay", "passwd", "--users", users, "printer", "--allow-from", "scanner@contoso.com"); r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	if r := mailgrant(t, "second-password\n", "relay", "passwd", "--users", users, "printer"); r.code != 0 || !strings.Contains(r.stderr, "scanner@contoso.com") {
		t.Fatalf("change: %d %s", r.code, r.stderr)
	}
	if r := mailgrant(t, "wp-password-1\n", "relay", "passwd", "--users", users, "wordpress"); r.code != 0 {
		t.Fatalf("add wordpress: %d %s", r.code, r.stderr)
	}
	data, _ := os.ReadFile(users)
	for _, secret := range []string{"first-password", "second-password", "wp-password-1"} {
		if strings.Contains(string(data), secret) {
			t.Fatalf("the users file holds %q", secret)
		}
	}
	if !strings.Contains(string(data), "printer:$argon2id$") || !strings.Contains(string(data), ":scanner@contoso.com") {
		t.Fatalf("users file:\n%s", data)
	}
	if r := mailgrant(t, "", "relay", "passwd", "--users", users, "printer", "--delete"); r.code != 0 {
		t.Fatalf("delete: %d %s", r.code, r.stderr)
	}
	data, _ = os.ReadFile(users)
	if strings.Contains(string(data), "printer:") || !strings.Contains(string(data), "wordpress:") {
		t.Fatalf("after delete:\n%s", data)
	}
	if r := mailgrant(t, "a-long-password\n", "relay", "passwd", "--users", users, "bad:name"); r.code != 2 {
		t.Fatalf("bad user name: %d %s", r.code, r.stderr)
	}
}

// TestRelayPasswdDeleteUnknownHint: deleting an account that is not there
// prints a command listing the accounts; run, in a directory whose name
// needs quoting, it prints the account names and nothing else.
func TestRelayPasswdDeleteUnknownHint(t *testing.T) {
	// Given a users file with one account, in a path with a space and a quote.
	dir := filepath.Join(t.TempDir(), "relay users'")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "users")
	if r := mailgrant(t, "wp-password-1\n", "relay", "passwd", "--users", users, "wordpress"); r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}

	// When an unknown account is deleted.
	r := mailgrant(t, "", "relay", "passwd", "--users", users, "printer", "--delete")
	_, hint, ok := strings.Cut(r.stderr, "list the accounts with: ")
	if r.code != 2 || !ok {
		t.Fatalf("delete of an unknown account: %d %s", r.code, r.stderr)
	}
	hint, _, _ = strings.Cut(hint, "\n")

	// Then the printed command, run by a shell, lists the account only.
	out, err := exec.Command("sh", "-c", hint).Output()
	if err != nil || string(out) != "wordpress\n" {
		t.Fatalf("%s printed %q (%v), want the account name only", hint, out, err)
	}
}

// TestRelayImplicitTLS: --listen-tls serves SMTPS: TLS from the first
// byte with the printed certificate, no STARTTLS offered, AUTH offered
// (and required, with --require-auth); a message sent over it reaches
// Graph; a plain-text client gets no SMTP from that port.
func TestRelayImplicitTLS(t *testing.T) {
	srv, _ := relayEnv(t, sandbox.Options{})
	users := filepath.Join(t.TempDir(), "users")
	if r := mailgrant(t, "printer-password\n", "relay", "passwd", "--users", users, "printer"); r.code != 0 {
		t.Fatalf("passwd: %d %s", r.code, r.stderr)
	}
	rp := startRelay(t, "--profile", "relay-megan", "--tls-self-signed", "--users", users, "--require-auth", "--listen-tls", "127.0.0.1:0")
	_, printed, _ := strings.Cut(rp.stderr(), "SHA-256 fingerprint: ")
	printed, _, _ = strings.Cut(printed, "\n")
	megan, adele := sandbox.MeganBowen.UPN, sandbox.AdeleVance.UPN

	conn, err := tls.Dial("tcp", rp.smtpsAddr(t), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake on the smtps listener: %v", err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	if sum := sha256.Sum256(leaf.Raw); !strings.EqualFold(strings.ReplaceAll(printed, ":", ""), hex.EncodeToString(sum[:])) {
		t.Errorf("the smtps listener serves another certificate than the printed %s", printed)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("printer.local"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered on a connection that is already TLS")
	}
	if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, "PLAIN") {
		t.Fatalf("AUTH not offered over implicit TLS: %q", mechs)
	}
	if err := c.Mail(megan); err == nil || !hasReply(err, "530") {
		t.Fatalf("MAIL before AUTH: %v", err)
	}
	if err := c.Auth(smtp.PlainAuth("", "printer", "printer-password", "127.0.0.1")); err != nil {
		t.Fatalf("auth: %v", err)
	}
	if err := c.Mail(megan); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(adele); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, message(megan, adele, "smtps", "over implicit TLS"))
	if err := w.Close(); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	_ = c.Quit()

	// A plain-text client on the smtps port gets no SMTP greeting.
	raw, err := net.DialTimeout("tcp", rp.smtpsAddr(t), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := raw.Write([]byte("EHLO plain\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, _ := raw.Read(buf); strings.HasPrefix(string(buf[:n]), "220") || strings.HasPrefix(string(buf[:n]), "250") {
		t.Errorf("the smtps port answered plain SMTP: %q", buf[:n])
	}
	raw.Close()

	waitUntil(t, 20*time.Second, "the smtps message at Graph", func() bool { return len(sentWith(srv, "smtps")) == 1 })
	if code := rp.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
