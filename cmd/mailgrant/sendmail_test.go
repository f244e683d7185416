package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/relay"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
	"github.com/mailgrant/mailgrant/store"
)

var (
	buildMailgrantOnce sync.Once
	builtMailgrant     string
	buildMailgrantErr  error
)

// mailgrantBinary builds cmd/mailgrant once per test binary and returns its
// path, so that tests run the program as users install it.
func mailgrantBinary(t *testing.T) string {
	t.Helper()
	buildMailgrantOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mailgrant-bin-")
		if err != nil {
			buildMailgrantErr = err
			return
		}
		bin := filepath.Join(dir, "mailgrant")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/mailgrant/mailgrant/cmd/mailgrant").CombinedOutput()
		if err != nil {
			buildMailgrantErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		builtMailgrant = bin
	})
	if buildMailgrantErr != nil {
		t.Fatal(buildMailgrantErr)
	}
	return builtMailgrant
}

// serviceEnv is the environment of a program run by cron or a service: the
// test's environment without DBUS_SESSION_BUS_ADDRESS, with the session bus
// reachable only as the socket $XDG_RUNTIME_DIR/bus (as systemd's user
// manager lays it out), and no terminal (the caller gives stdin as a pipe).
// The socket forwards to the test's private bus (.ci/with-keyring).
func serviceEnv(t *testing.T) []string {
	t.Helper()
	var out []string
	addr := ""
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS="):
			addr = strings.TrimPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=")
		case strings.HasPrefix(kv, "XDG_RUNTIME_DIR="):
		default:
			out = append(out, kv)
		}
	}
	runtimeDir, err := os.MkdirTemp("", "mailgrant-run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runtimeDir) })
	if err := os.Chmod(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(strings.TrimPrefix(addr, "unix:"), ",") {
		if path, ok := strings.CutPrefix(part, "path="); ok {
			forwardUnix(t, filepath.Join(runtimeDir, "bus"), path)
		}
	}
	return append(out, "XDG_RUNTIME_DIR="+runtimeDir)
}

// forwardUnix listens on the unix socket at path and joins each connection
// to the socket at target (the bus daemon reads the peer's uid from the
// socket, which is the same user's).
func forwardUnix(t *testing.T, path, target string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("unix", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, d)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(d, c); d.(*net.UnixConn).CloseWrite() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, d); c.(*net.UnixConn).CloseWrite() }()
		}
	}()
}

// sendmailRun runs the built binary as argv[0] with args, stdin as a pipe
// and the service environment plus extra variables.
func runSendmail(t *testing.T, argv0 string, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(argv0, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	t.Logf("%s %s → %d\n%s%s", filepath.Base(argv0), strings.Join(args, " "), code, out.String(), errb.String())
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// sendmailSetup makes the delegated profiles named (profile → account)
// against a sandbox tenant reached through MAILGRANT_LOGIN_HOST and
// MAILGRANT_GRAPH_HOST, with secrets in the real keyring.
func sendmailSetup(t *testing.T, profiles map[string]string) (*sandbox.Server, string) {
	t.Helper()
	return newBackend("keyring").sendmailSetup(t, profiles)
}

// sendmailSetup is sendmailSetup on this backend.
func (b *backend) sendmailSetup(t *testing.T, profiles map[string]string) (*sandbox.Server, string) {
	t.Helper()
	var names []string
	for name := range profiles {
		names = append(names, name)
	}
	slices.Sort(names)
	dir := b.env(t, "mailgrant", names...)
	srv := sandboxtest.Start(t, sandbox.Options{})
	for _, name := range names {
		t.Setenv("MAILGRANT_FAKE_BROWSER_USER", profiles[name])
		r := b.mailgrant(t, "", "setup", "--non-interactive", "--profile", name,
			"--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", profiles[name])
		if r.code != 0 {
			t.Fatalf("setup %s: %d %s", name, r.code, r.stderr)
		}
	}
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", "")
	return srv, dir
}

var (
	megan = sandbox.MeganBowen.UPN
	adele = sandbox.AdeleVance.UPN
	alex  = sandbox.AlexWilber.UPN
)

// TestSendmailPHPStyle: what PHP's mail() does: the message on a pipe,
// sendmail -t -i, in a process with no terminal and no
// DBUS_SESSION_BUS_ADDRESS. Recipients come from To, Cc and Bcc; the Bcc
// recipient gets the message without appearing in To or Cc; From is the
// profile's account; a lone dot does not end the message.
func TestSendmailPHPStyle(t *testing.T) {
	srv, _ := sendmailSetup(t, map[string]string{"web": megan})
	bin := mailgrantBinary(t)
	msg := "To: Adele <" + adele + ">\nCc: " + alex + "\nBcc: hidden@example.com\nSubject: Order 42\n\nThank you.\n.\nThe line above is a dot.\n"
	r := runSendmail(t, bin, serviceEnv(t), msg, "sendmail", "-t", "-i")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
	sent := srv.Sent()
	if len(sent) != 1 {
		t.Fatalf("Graph accepted %d messages, want 1", len(sent))
	}
	m := sent[0]
	if !strings.EqualFold(m.From, megan) || m.Subject != "Order 42" || !m.MIME {
		t.Errorf("sent from %q subject %q mime %v", m.From, m.Subject, m.MIME)
	}
	if !slices.Equal(m.To, []string{adele}) || !slices.Equal(m.Cc, []string{alex}) {
		t.Errorf("To %v Cc %v", m.To, m.Cc)
	}
	if !slices.Equal(m.Bcc, []string{"hidden@example.com"}) {
		t.Errorf("Bcc %v: the Bcc recipient must be delivered, as Bcc only", m.Bcc)
	}
	if !strings.Contains(m.Body, "\r\n.\r\nThe line above is a dot.") {
		t.Errorf("with -i a lone dot must not end the message; body %q", m.Body)
	}
}

// TestSendmailSymlink: invoked as sendmail through a symlink, without -t:
// recipients are the arguments, -f is the sender, a lone dot ends the
// message, and the header's own To does not become a recipient.
func TestSendmailSymlink(t *testing.T) {
	srv, _ := sendmailSetup(t, map[string]string{"cron": megan, "web": adele})
	link := filepath.Join(t.TempDir(), "sendmail")
	if err := os.Symlink(mailgrantBinary(t), link); err != nil {
		t.Fatal(err)
	}
	env := serviceEnv(t)
	// Debian cron's command line; the profile is the one whose account -f
	// names (two profiles exist).
	msg := "Subject: Cron <root@host> backup\nFrom: root (Cron Daemon)\n\nbackup done\n.\nnot part of the message\n"
	r := runSendmail(t, link, env, msg, "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "-odi", "-v", "-f", adele, alex)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Without -i the dot ends the message.
	r = runSendmail(t, link, env, "Subject: dot\n\nbefore\n.\nafter\n", "-f"+megan, alex)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	sent := srv.Sent()
	if len(sent) != 2 {
		t.Fatalf("Graph accepted %d messages, want 2", len(sent))
	}
	if !strings.EqualFold(sent[0].Mailbox, adele) || !strings.EqualFold(sent[0].From, adele) || !slices.Equal(sent[0].Bcc, []string{alex}) || len(sent[0].To) != 0 {
		t.Errorf("cron message: mailbox %q from %q to %v bcc %v", sent[0].Mailbox, sent[0].From, sent[0].To, sent[0].Bcc)
	}
	if !strings.Contains(sent[1].Body, "before") || strings.Contains(sent[1].Body, "after") || !strings.EqualFold(sent[1].Mailbox, megan) {
		t.Errorf("dot message: mailbox %q body %q", sent[1].Mailbox, sent[1].Body)
	}
}

// TestSendmailExitStatus: each failure has its sysexits status and a
// one-line reason on stderr; nothing is sent.
func TestSendmailExitStatus(t *testing.T) {
	srv, _ := sendmailSetup(t, map[string]string{"web": megan, "nomailbox": sandbox.LeeGu.UPN})
	bin := mailgrantBinary(t)
	env := serviceEnv(t)
	ok := "To: " + adele + "\nSubject: s\n\nbody\n"
	closed := closedPort(t)
	tests := []struct {
		name   string
		args   []string
		stdin  string
		faults []string
		env    []string
		code   int
		says   string
	}{
		{"unknown flag", []string{"-t", "-Z"}, ok, nil, nil, 64, "unknown option -Z"},
		{"queue mode", []string{"-q1h"}, ok, nil, nil, 64, "unsupported"},
		{"no recipients", []string{"--profile", "web"}, ok, nil, nil, 64, "no recipients"},
		{"no profile chosen", []string{"-t"}, ok, nil, nil, 64, "existing profiles: "},
		{"unknown profile", []string{"-t", "--profile", "nope"}, ok, nil, nil, 64, `no profile "nope"`},
		{"bad header", []string{"-t", "--profile", "web"}, "To: <<" + adele + "\n\nx\n", nil, nil, 65, "To header"},
		{"too large", []string{"-t", "--profile", "web", "--max-message-size", "1KB"}, ok + strings.Repeat("x", 4096) + "\n", nil, nil, 65, "larger than 1 KB"},
		{"large without Mail.ReadWrite", []string{"-t", "--profile", "web"}, ok + strings.Repeat(strings.Repeat("x", 76)+"\n", 4<<20/77), nil, nil, 77, "Mail.ReadWrite"},
		{"local recipient", []string{"--profile", "web", "root"}, ok, nil, nil, 67, `"root"`},
		{"sender without mailbox", []string{"-t", "--profile", "nomailbox"}, ok, nil, nil, 67, "MailboxNotEnabledForRESTAPI"},
		{"sender not allowed", []string{"-t", "-f", megan}, "From: " + alex + "\n" + ok, nil, nil, 77, "ErrorSendAsDenied"},
		{"revoked grant", []string{"-t", "-f", megan}, ok, []string{sandbox.FaultRevoked}, nil, 75, "reauth web"},
		{"token endpoint down", []string{"-t", "-f", megan}, ok, []string{sandbox.FaultServerError}, nil, 75, "not sent"},
		{"graph unreachable", []string{"-t", "-f", megan}, ok, nil, []string{"MAILGRANT_GRAPH_HOST=http://" + closed}, 75, "not sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every case gets a token from the token endpoint, so faults there count.
			k := store.NewKeyring("mailgrant")
			_ = k.Delete("web", store.KindAccessToken)
			_ = k.Delete("nomailbox", store.KindAccessToken)
			srv.SetFaults(tt.faults...)
			defer srv.SetFaults()
			before := len(srv.Sent())
			r := runSendmail(t, bin, append(slices.Clone(env), tt.env...), tt.stdin, append([]string{"sendmail"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.says) {
				t.Fatalf("exit %d, stderr %q; want %d saying %q", r.code, r.stderr, tt.code, tt.says)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "sendmail: ") {
				t.Errorf("the reason must be one line starting with sendmail: %q", r.stderr)
			}
			if got := len(srv.Sent()) - before; got != 0 {
				t.Errorf("%d messages were sent", got)
			}
		})
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestSendmailFromPHP: PHP's own mail() with sendmail_path set to mailgrant,
// as the README tells PHP users to do. mail() returns true only when
// sendmail exits 0.
func TestSendmailFromPHP(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		if os.Getenv("MAILGRANT_REQUIRE_PHP") == "1" {
			t.Fatal("MAILGRANT_REQUIRE_PHP=1 but php is not installed (apt-get install php-cli)")
		}
		t.Skip("php is not installed (apt-get install php-cli); CI sets MAILGRANT_REQUIRE_PHP=1")
	}
	srv, _ := sendmailSetup(t, map[string]string{"wordpress": megan})
	bin := mailgrantBinary(t)
	script := fmt.Sprintf(`exit(mail(%q, "Your order", "Hello,\n.\nthanks", "From: Shop <%s>\r\nBcc: archive@example.com") ? 0 : 1);`, adele, megan)
	runPHP := func() result {
		cmd := exec.Command(php, "-n", "-d", "sendmail_path="+bin+" sendmail -t -i", "-r", script)
		cmd.Env = serviceEnv(t)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("php → %d\n%s%s", code, out.String(), errb.String())
		return result{code: code, stdout: out.String(), stderr: errb.String()}
	}
	if r := runPHP(); r.code != 0 {
		t.Fatalf("mail() returned false: %s", r.stderr)
	}
	sent := srv.Sent()
	if len(sent) != 1 || sent[0].Subject != "Your order" || !slices.Equal(sent[0].To, []string{adele}) || !slices.Equal(sent[0].Bcc, []string{"archive@example.com"}) || !strings.Contains(sent[0].Body, "\n.\r\nthanks") {
		t.Fatalf("sent %+v", sent)
	}
	// A grant that needs re-authorization: mail() returns false, and PHP's
	// log gets sendmail's reason.
	_ = store.NewKeyring("mailgrant").Delete("wordpress", store.KindAccessToken)
	srv.SetFaults(sandbox.FaultRevoked)
	defer srv.SetFaults()
	if r := runPHP(); r.code != 1 || !strings.Contains(r.stderr, "reauth wordpress") {
		t.Fatalf("with a revoked grant mail() must return false and sendmail say why: %d %q", r.code, r.stderr)
	}
}

// TestSendmailFileStore: on a server with no keyring the profile keeps its
// secrets in the encrypted file; sendmail, run as PHP runs it, gets the
// passphrase from MAILGRANT_PASSPHRASE_FILE, and without any passphrase
// source exits 78 saying where to put one.
func TestSendmailFileStore(t *testing.T) {
	env(t, "mailgrant")
	srv := sandboxtest.Start(t, sandbox.Options{})
	t.Setenv("MAILGRANT_PASSPHRASE", "correct horse battery")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", megan)
	r := mailgrant(t, "", "setup", "--non-interactive", "--store", "file", "--profile", "php",
		"--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", megan)
	if r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	os.Unsetenv("MAILGRANT_PASSPHRASE") // t.Setenv restores it
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	passFile := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(passFile, []byte("correct horse battery"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := mailgrantBinary(t)
	msg := "To: " + adele + "\nSubject: from the file store\n\nhi\n"
	r = runSendmail(t, bin, serviceEnv(t), msg, "sendmail", "-t", "-i")
	if r.code != 78 || !strings.Contains(r.stderr, "MAILGRANT_PASSPHRASE_FILE") {
		t.Fatalf("no passphrase: exit %d %q; want 78 naming MAILGRANT_PASSPHRASE_FILE", r.code, r.stderr)
	}
	r = runSendmail(t, bin, append(serviceEnv(t), "MAILGRANT_PASSPHRASE_FILE="+passFile), msg, "sendmail", "-t", "-i")
	if r.code != 0 {
		t.Fatalf("with MAILGRANT_PASSPHRASE_FILE: exit %d %q", r.code, r.stderr)
	}
	if sent := srv.Sent(); len(sent) != 1 || sent[0].Subject != "from the file store" {
		t.Fatalf("sent %+v", sent)
	}
	// The status service print-units shows for it reads the passphrase from
	// systemd's credentials.
	r = runSendmail(t, bin, serviceEnv(t), "", "print-units")
	if r.code != 0 || !strings.Contains(r.stdout, "\nLoadCredentialEncrypted=mailgrant-passphrase:/etc/credstore.encrypted/mailgrant-passphrase\n") {
		t.Fatalf("print-units for a file-store profile: %d\n%s", r.code, r.stdout)
	}
}

// TestSendmailProfileDefaultsAndLog: a message with no Reply-To gets the
// profile's (mailgrant edit --reply-to), and each message sendmail hands to
// Graph, sent or refused, is one line of the sent-mail log.
func TestSendmailProfileDefaultsAndLog(t *testing.T) {
	srv, dir := sendmailSetup(t, map[string]string{"web": megan})
	if r := mailgrant(t, "", "edit", "web", "--reply-to", "helpdesk@contoso.com"); r.code != 0 {
		t.Fatalf("edit: %d %s", r.code, r.stderr)
	}
	bin := mailgrantBinary(t)
	r := runSendmail(t, bin, serviceEnv(t), "To: "+adele+"\nSubject: hi\n\nbody\n", "sendmail", "-t", "-i")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	sent := srv.Sent()
	if len(sent) != 1 || !slices.Equal(sent[0].ReplyTo, []string{"helpdesk@contoso.com"}) {
		t.Fatalf("sent %+v; want one message with the profile's Reply-To", sent)
	}
	// A message that names its own Reply-To keeps it.
	r = runSendmail(t, bin, serviceEnv(t), "To: "+adele+"\nReply-To: sales@contoso.com\nSubject: hi\n\nbody\n", "sendmail", "-t", "-i")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if sent = srv.Sent(); len(sent) != 2 || !slices.Equal(sent[1].ReplyTo, []string{"sales@contoso.com"}) {
		t.Fatalf("second message Reply-To %v; want the message's own", sent[len(sent)-1].ReplyTo)
	}
	recs, _, err := flows.ReadSentLog(dir, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Via != "sendmail" || recs[0].Result != "sent" || recs[0].Recipients != 1 {
		t.Fatalf("sent-mail log %+v; want two sendmail lines, sent, one recipient each", recs)
	}
	for _, f := range []string{"sent.log"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		if strings.Contains(string(data), "body") || strings.Contains(string(data), "hi\"") {
			t.Errorf("%s holds message text: %s", f, data)
		}
	}
}

// TestSendmailHandsOverToTheRelaySpool: when a relay serves the profile (its
// marker is in <config dir>/spool), a message Graph cannot take now is
// queued there instead of failing with 75, and `mailgrant queue run` sends
// it once Graph is back. Without the marker it is 75 as before.
func TestSendmailHandsOverToTheRelaySpool(t *testing.T) {
	srv, dir := sendmailSetup(t, map[string]string{"web": megan})
	bin := mailgrantBinary(t)
	env := serviceEnv(t)
	msg := "To: " + adele + "\nSubject: nightly report\n\nbody\n"
	k := store.NewKeyring("mailgrant")
	_ = k.Delete("web", store.KindAccessToken)
	srv.SetFaults(sandbox.FaultServerError)
	r := runSendmail(t, bin, env, msg, "sendmail", "-t", "-i")
	if r.code != 75 {
		t.Fatalf("without a relay: exit %d; want 75", r.code)
	}
	spoolDir := relay.DefaultSpoolDir(dir)
	if err := relay.MarkServes(spoolDir, []string{"web"}); err != nil {
		t.Fatal(err)
	}
	r = runSendmail(t, bin, env, msg, "sendmail", "-t", "-i")
	if r.code != 0 || !strings.Contains(r.stderr, "queued as") {
		t.Fatalf("with a relay: exit %d %q; want 0 saying it was queued", r.code, r.stderr)
	}
	if len(srv.Sent()) != 0 {
		t.Fatalf("Graph took a message while it was failing")
	}
	srv.SetFaults()
	st := mailgrant(t, "", "status", "--json", "web")
	if ps := parseStatus(t, st.stdout).Profiles; len(ps) != 1 || ps[0].Queued != 1 || ps[0].Failed != 0 {
		t.Fatalf("status --json: %s; want web with 1 queued", st.stdout)
	}
	if st := mailgrant(t, "", "status", "web"); !strings.Contains(st.stdout, "web: 1 message(s) queued for the relay, 0 failed; see: mailgrant queue list") {
		t.Errorf("status table does not show the queue: %s", st.stdout)
	}
	// The profile's default Reply-To applies to what the queue sends too.
	if r := mailgrant(t, "", "edit", "web", "--reply-to", "helpdesk@contoso.com"); r.code != 0 {
		t.Fatalf("edit: %d %s", r.code, r.stderr)
	}
	if r := mailgrant(t, "", "queue", "run"); r.code != 0 {
		t.Fatalf("queue run: %d %s", r.code, r.stderr)
	}
	sent := srv.Sent()
	if len(sent) != 1 || sent[0].Subject != "nightly report" || !slices.Equal(sent[0].To, []string{adele}) {
		t.Fatalf("after queue run Graph has %+v; want the queued message once", sent)
	}
	if !slices.Equal(sent[0].ReplyTo, []string{"helpdesk@contoso.com"}) {
		t.Errorf("Reply-To %v; want the profile's", sent[0].ReplyTo)
	}
	recs, _, err := flows.ReadSentLog(dir, "web")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(recs); n == 0 || recs[n-1].Via != "relay" || recs[n-1].Result != "sent" {
		t.Errorf("sent-mail log %+v; want the queue's delivery as a relay line", recs)
	}
}
