package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// randomBytes is n incompressible bytes, the same for the same seed.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// outboxMessage is one .eml the sandbox of a `mailgrant --sandbox` process
// wrote: its envelope, headers, and attachments' checksums by file name.
type outboxMessage struct {
	envelope []string
	header   mail.Header
	text     string
	files    map[string]string
}

// readOutbox reads every .eml under the sandbox's outbox in dir, oldest
// first.
func readOutbox(t *testing.T, dir string) []outboxMessage {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "sandbox", sandbox.OutboxDir, "*.eml"))
	slices.Sort(paths)
	var out []outboxMessage
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(f)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		om := outboxMessage{header: m.Header, files: map[string]string{}}
		for _, a := range strings.Split(m.Header.Get(sandbox.EnvelopeHeader), ",") {
			om.envelope = append(om.envelope, strings.TrimSpace(a))
		}
		walkParts(t, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, &om)
		f.Close()
		out = append(out, om)
	}
	return out
}

func decodeCTE(enc string, r io.Reader) io.Reader {
	if strings.EqualFold(strings.TrimSpace(enc), "base64") {
		return base64.NewDecoder(base64.StdEncoding, &crlfStripper{r: r})
	}
	return r
}

type crlfStripper struct{ r io.Reader }

func (c *crlfStripper) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	j := 0
	for _, b := range p[:n] {
		if b != '\r' && b != '\n' {
			p[j] = b
			j++
		}
	}
	return j, err
}

func walkParts(t *testing.T, ct, cte string, r io.Reader, om *outboxMessage) {
	t.Helper()
	mt, params, _ := mime.ParseMediaType(ct)
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(decodeCTE(cte, r))
		if om.text == "" {
			om.text = string(b)
		}
		return
	}
	mr := multipart.NewReader(r, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			return
		}
		_, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if name := dp["filename"]; name != "" {
			h := sha256.New()
			if _, err := io.Copy(h, decodeCTE(p.Header.Get("Content-Transfer-Encoding"), p)); err != nil {
				t.Fatalf("%s does not decode: %v", name, err)
			}
			om.files[name] = hex.EncodeToString(h.Sum(nil))
			continue
		}
		walkParts(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, om)
	}
}

// peakRSSEnv names a file where a child run (TestMain) writes its peak
// resident memory in bytes when it ends.
const peakRSSEnv = "MAILGRANT_TEST_PEAK_RSS_FILE"

// writePeakRSS writes the process's peak resident memory (VmHWM in
// /proc/self/status, which counts this program's memory only; getrusage's
// ru_maxrss of a child would also count the test process it was forked
// from, as Linux keeps it across exec) to path.
func writePeakRSS(path string) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err == nil {
				_ = os.WriteFile(path, []byte(fmt.Sprint(kb*1024)), 0o600)
			}
		}
	}
}

// childRun runs mailgrant as a child process with stdin, and returns its
// exit status, output and peak resident memory (VmHWM, see writePeakRSS).
func childRun(t *testing.T, stdin io.Reader, args ...string) (result, int64) {
	t.Helper()
	return childRunEnv(t, nil, stdin, args...)
}

// childRunEnv is childRun with more environment variables (NAME=value).
func childRunEnv(t *testing.T, env []string, stdin io.Reader, args ...string) (result, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rssFile := filepath.Join(t.TempDir(), "peak-rss")
	cmd := mailgrantProcess(ctx, t, args...)
	cmd.Env = append(append(cmd.Env, env...), peakRSSEnv+"="+rssFile)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		if cmd.ProcessState == nil {
			t.Fatal(err)
		}
		code = cmd.ProcessState.ExitCode()
	}
	var rss int64
	if data, err := os.ReadFile(rssFile); err == nil {
		_, _ = fmt.Sscan(string(data), &rss)
	}
	t.Logf("mailgrant %s → %d, peak RSS %.1f MB\n%s%s", strings.Join(args, " "), code, float64(rss)/(1<<20), out.String(), errb.String())
	return result{code: code, stdout: out.String(), stderr: errb.String()}, rss
}

// TestLargeMessagesThroughTheCLI: a `mailgrant --sandbox send` process
// sends an 8 MB attachment and a 20 MB MIME message through the draft and
// upload path; the sandbox's outbox holds them intact (checksums), to the
// right recipients. The child's peak memory is logged (-v) and must stay
// under 80 MB (not checked under the race detector, which multiplies it).
func TestLargeMessagesThroughTheCLI(t *testing.T) {
	dir := env(t, "mailgrant-sandbox", "cli-large", "cli-small")
	r := mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "cli-large", "--permissions", "Mail.ReadWrite")
	if r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	megan, alex, info := sandbox.MeganBowen.UPN, sandbox.AlexWilber.UPN, sandbox.InfoMailbox.UPN

	t.Run("8 MB attachment", func(t *testing.T) {
		scan := randomBytes(8<<20, 1)
		path := writeFile(t, "scan.pdf", scan)
		r, rss := childRun(t, strings.NewReader("the scan"), "--sandbox", "send", "cli-large", "--to", megan, "--bcc", alex, "--subject", "Scan", "--attach", path)
		if r.code != 0 || !strings.Contains(r.stderr, "to 2 recipients (202") {
			t.Fatalf("send: %d %s", r.code, r.stderr)
		}
		box := readOutbox(t, dir)
		m := box[len(box)-1]
		if m.files["scan.pdf"] != sha(scan) || m.text != "the scan" || m.header.Get("Subject") != "Scan" ||
			!slices.Equal(m.envelope, []string{megan, alex}) || m.header.Get("Bcc") != "" {
			t.Errorf("outbox: %+v", m)
		}
		if rss > 80<<20 && !raceEnabled {
			t.Errorf("peak RSS %.1f MB, want under 80 MB", float64(rss)/(1<<20))
		}
	})

	t.Run("profile defaults on the draft path keep the body", func(t *testing.T) {
		// The profile's Reply-To makes send build the message again with
		// it; the body read from standard input must survive that.
		if r := mailgrant(t, "", "--sandbox", "edit", "cli-large", "--reply-to", "help@contoso.com"); r.code != 0 {
			t.Fatalf("edit: %d %s", r.code, r.stderr)
		}
		defer mailgrant(t, "", "--sandbox", "edit", "cli-large", "--reply-to", "")
		scan := randomBytes(4<<20, 8)
		path := writeFile(t, "scan2.pdf", scan)
		r, _ := childRun(t, strings.NewReader("the body from stdin"), "--sandbox", "send", "cli-large", "--to", megan, "--subject", "Scan 2", "--attach", path)
		if r.code != 0 {
			t.Fatalf("send: %d %s", r.code, r.stderr)
		}
		box := readOutbox(t, dir)
		m := box[len(box)-1]
		if m.text != "the body from stdin" || !strings.Contains(m.header.Get("Reply-To"), "help@contoso.com") || m.files["scan2.pdf"] != sha(scan) {
			t.Errorf("outbox: text %q, Reply-To %q", m.text, m.header.Get("Reply-To"))
		}
	})

	t.Run("HTML body whose JSON escapes pass 4 MB", func(t *testing.T) {
		// 1.7 MB of HTML is over 4 MB in JSON (<, > and & take six bytes
		// each): it goes as MIME instead of a refused JSON request.
		html := "<table>" + strings.Repeat("<tr><td>a&amp;b</td></tr>", 70000) + "</table>"
		r, _ := childRun(t, strings.NewReader(html), "--sandbox", "send", "cli-large", "--to", megan, "--subject", "Report", "--html")
		if r.code != 0 {
			t.Fatalf("send: %d %s", r.code, r.stderr)
		}
		box := readOutbox(t, dir)
		if m := box[len(box)-1]; m.header.Get("Subject") != "Report" || !strings.Contains(m.text, "a&amp;b") {
			t.Errorf("outbox: %q", m.header.Get("Subject"))
		}
	})

	t.Run("30 MB attachment over the default limit", func(t *testing.T) {
		// The client refuses it before any request; over the client's
		// limit but not the tenant's, the tenant refuses it at send;
		// within both (MAILGRANT_SANDBOX_MAX_MESSAGE_SIZE, as an admin
		// raises MaxSendSize), it is sent.
		video := randomBytes(30<<20, 6)
		path := writeFile(t, "video.mp4", video)
		r, _ := childRun(t, strings.NewReader("x"), "--sandbox", "send", "cli-large", "--to", megan, "--attach", path)
		if r.code != exitUsage || !strings.Contains(r.stderr, "this tenant's maximum message size is 35.0 MB") {
			t.Fatalf("send over 35 MB: %d %s", r.code, r.stderr)
		}
		// Raising --max-message-size does not raise the tenant's limit:
		// the sandbox, like Exchange, refuses the draft at send (40 MB
		// with its base64), and nothing is left behind.
		outbox := func() int {
			paths, _ := filepath.Glob(filepath.Join(dir, "sandbox", sandbox.OutboxDir, "*.eml"))
			return len(paths)
		}
		sentBefore := outbox()
		r, _ = childRun(t, strings.NewReader("the video"), "--sandbox", "send", "cli-large", "--to", megan, "--attach", path, "--max-message-size", "50MB")
		if r.code != exitFailure || !strings.Contains(r.stderr, "larger than the mailbox may send") || !strings.Contains(r.stderr, "-MaxSendSize") || strings.Contains(r.stderr, "id: \n") {
			t.Fatalf("send over the tenant's 35 MB: %d %s", r.code, r.stderr)
		}
		if n := outbox(); n != sentBefore {
			t.Fatalf("a refused message reached the outbox (%d → %d)", sentBefore, n)
		}
		r, rss := childRunEnv(t, []string{sandboxMaxMessageEnv + "=50MB"}, strings.NewReader("the video"), "--sandbox", "send", "cli-large", "--to", megan, "--attach", path, "--max-message-size", "50MB")
		if r.code != 0 {
			t.Fatalf("send: %d %s", r.code, r.stderr)
		}
		box := readOutbox(t, dir)
		if m := box[len(box)-1]; m.files["video.mp4"] != sha(video) {
			t.Errorf("outbox: %+v", m)
		}
		if rss > 80<<20 && !raceEnabled {
			t.Errorf("peak RSS %.1f MB, want under 80 MB", float64(rss)/(1<<20))
		}
	})

	t.Run("20 MB MIME on stdin", func(t *testing.T) {
		video, sheet, note := randomBytes(12<<20, 2), randomBytes(5<<20, 3), randomBytes(200<<10, 4)
		var msg bytes.Buffer
		fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nCc: %s\r\nSubject: twenty\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XYZ\r\n\r\n", sandbox.AdeleVance.UPN, megan, info)
		msg.WriteString("--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nthree files\r\n")
		for _, f := range []struct {
			name string
			data []byte
		}{{"video.mp4", video}, {"sheet.xlsx", sheet}, {"note.bin", note}} {
			fmt.Fprintf(&msg, "--XYZ\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n", f.name)
			enc := base64.StdEncoding.EncodeToString(f.data)
			for len(enc) > 76 {
				msg.WriteString(enc[:76] + "\r\n")
				enc = enc[76:]
			}
			msg.WriteString(enc + "\r\n")
		}
		msg.WriteString("--XYZ--\r\n")
		if msg.Len() < 20<<20 {
			t.Fatalf("the message is only %d bytes", msg.Len())
		}
		r, rss := childRun(t, &msg, "--sandbox", "send", "cli-large", "--mime")
		if r.code != 0 {
			t.Fatalf("send: %d %s", r.code, r.stderr)
		}
		box := readOutbox(t, dir)
		m := box[len(box)-1]
		if m.files["video.mp4"] != sha(video) || m.files["sheet.xlsx"] != sha(sheet) || m.files["note.bin"] != sha(note) ||
			m.text != "three files" || !slices.Equal(m.envelope, []string{megan, info}) {
			t.Errorf("outbox: envelope %v, text %q, files %v", m.envelope, m.text, m.files)
		}
		if rss > 80<<20 && !raceEnabled {
			t.Errorf("peak RSS %.1f MB, want under 80 MB", float64(rss)/(1<<20))
		}
	})

	t.Run("without Mail.ReadWrite", func(t *testing.T) {
		r := mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "cli-small")
		if r.code != 0 {
			t.Fatalf("setup: %d %s", r.code, r.stderr)
		}
		before := len(readOutbox(t, dir))
		path := writeFile(t, "big.bin", randomBytes(5<<20, 5))
		r, _ = childRun(t, strings.NewReader("x"), "--sandbox", "send", "cli-small", "--to", megan, "--attach", path)
		if r.code != exitUsage || !strings.Contains(r.stderr, "(needs-mail-readwrite)") || !strings.Contains(r.stderr, "the delegated permission Mail.ReadWrite") || strings.Contains(r.stderr, "413") {
			t.Fatalf("send: %d %s", r.code, r.stderr)
		}
		// The commands the hint prints work: after them the send goes.
		runPrintedCommands(t, r.stderr)
		// edit --permissions replaces the list: what was required stays.
		if got := readProfile(t, dir, "cli-small").Permissions; !slices.Contains(got, "Mail.Send") || !slices.Contains(got, "Mail.ReadWrite") {
			t.Fatalf("after the printed command the profile requires %v; want Mail.Send kept and Mail.ReadWrite added", got)
		}
		if r, _ := childRun(t, strings.NewReader("x"), "--sandbox", "send", "cli-small", "--to", megan, "--attach", path); r.code != 0 || len(readOutbox(t, dir)) != before+1 {
			t.Fatalf("send after adding Mail.ReadWrite: %d %s", r.code, r.stderr)
		}
	})
}

// runPrintedCommands runs the commands a needs-mail-readwrite hint prints.
func runPrintedCommands(t *testing.T, stderr string) {
	t.Helper()
	_, cmds, ok := strings.Cut(stderr, "To set the profile up again with it: ")
	if !ok {
		_, cmds, ok = strings.Cut(stderr, "To add it: ")
	}
	if !ok {
		t.Fatalf("no commands in the hint: %s", stderr)
	}
	cmds, _, _ = strings.Cut(cmds, "\n")
	for _, c := range strings.Split(strings.TrimSpace(cmds), ", then ") {
		args := strings.Fields(c)
		if args[0] != "mailgrant" || args[1] != "--sandbox" {
			t.Fatalf("printed command %q", c)
		}
		if args[2] == "delete" {
			args = append(args, "--yes") // no terminal to confirm on
		}
		if r := mailgrant(t, "", args[1:]...); r.code != 0 {
			t.Fatalf("%s: %d %s", c, r.code, r.stderr)
		}
	}
}

// TestSandboxAppOnlyLargeMessage: an app-only profile without
// Mail.ReadWrite is refused a large message; the printed commands set it
// up again with --permissions Mail.ReadWrite, which in the sandbox picks
// the app that holds it, and the message goes as the profile's mailbox.
func TestSandboxAppOnlyLargeMessage(t *testing.T) {
	dir := env(t, "mailgrant-sandbox", "cli-any-large")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN) // the admin who consents
	r := mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "cli-any-large")
	if r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	report := randomBytes(6<<20, 7)
	path := writeFile(t, "report.xlsx", report)
	r, _ = childRun(t, strings.NewReader("monthly"), "--sandbox", "send", "cli-any-large", "--to", sandbox.MeganBowen.UPN, "--attach", path)
	if r.code != exitUsage || !strings.Contains(r.stderr, "the application permission Mail.ReadWrite") {
		t.Fatalf("send without Mail.ReadWrite: %d %s", r.code, r.stderr)
	}
	runPrintedCommands(t, r.stderr)
	r, _ = childRun(t, strings.NewReader("monthly"), "--sandbox", "send", "cli-any-large", "--to", sandbox.MeganBowen.UPN, "--attach", path)
	if r.code != 0 || !strings.Contains(r.stderr, "from "+sandbox.AdeleVance.UPN) {
		t.Fatalf("send: %d %s", r.code, r.stderr)
	}
	box := readOutbox(t, dir)
	if m := box[len(box)-1]; m.files["report.xlsx"] != sha(report) || m.header.Get("X-Sandbox-Mailbox") != sandbox.AdeleVance.UPN {
		t.Errorf("outbox: %+v", m)
	}
}

// TestPermissionsAddToTheScenario: --permissions Mail.Send,Files.Read.All
// (the README's example) keeps User.Read, so the account check passes.
func TestPermissionsAddToTheScenario(t *testing.T) {
	forEachBackend(t, testPermissionsAddToTheScenario)
}

func testPermissionsAddToTheScenario(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "cli-perms")
	r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "cli-perms", "--permissions", "Mail.Send,Files.Read.All")
	if r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	ps, err := store.LoadProfiles(filepath.Join(dir, "sandbox"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ps.Get("cli-perms")
	if !slices.Equal(p.Permissions, []string{"Mail.Send", "User.Read", "Files.Read.All"}) {
		t.Errorf("permissions %v", p.Permissions)
	}
	r = b.mailgrant(t, "", "--sandbox", "status", "--json", "cli-perms")
	var s statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || len(s.Profiles) != 1 || s.Profiles[0].State != "authorized" {
		t.Errorf("status: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestSandboxMaxMessageSizeVariable: a value that is not a size up to
// 150 MB is a usage error that names the variable and an example.
func TestSandboxMaxMessageSizeVariable(t *testing.T) {
	for _, v := range []string{"lots", "200MB", "0"} {
		r, _ := childRunEnv(t, []string{sandboxMaxMessageEnv + "=" + v}, strings.NewReader(""), "--sandbox", "status")
		if r.code != exitUsage || !strings.Contains(r.stderr, sandboxMaxMessageEnv+`: "`+v+`" is not a message size up to 150MB; use a size such as 50MB`) {
			t.Errorf("%s=%s: %d %s", sandboxMaxMessageEnv, v, r.code, r.stderr)
		}
	}
}
