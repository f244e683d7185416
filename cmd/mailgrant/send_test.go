package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
	"github.com/mailgrant/mailgrant/store"
)

// sendFlags runs `send` with args and stdin up to runF and returns the
// options it parsed, or the error RunE returned before runF.
func sendFlags(t *testing.T, stdin string, args ...string) (*sendOptions, error) {
	t.Helper()
	var got *sendOptions
	cmd := newSendCmd(&streams{in: strings.NewReader(stdin), out: &bytes.Buffer{}, err: &bytes.Buffer{}}, &globalOptions{}, func(_ context.Context, o *sendOptions) error {
		got = o
		return nil
	})
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return got, err
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSendBuildsTheMessageFromFlags(t *testing.T) {
	pdf := writeFile(t, "invoice.pdf", []byte("%PDF"))
	bin := writeFile(t, "blob.zzz", []byte{1, 2, 3})
	bodyFile := writeFile(t, "body.html", []byte("<p>from a file</p>"))

	tests := []struct {
		name  string
		stdin string
		args  []string
		check func(t *testing.T, m flows.Message)
	}{
		{
			name:  "recipients, attachments, HTML body from stdin",
			stdin: "<p>hi</p>",
			args: []string{"p", "--to", "ann@contoso.com, \"Lee, Bo\" <bo@contoso.com>", "--to", "cy@contoso.com", "--cc", "dee@contoso.com", "--bcc", "eve@contoso.com",
				"--subject", "Invoice", "--html", "--attach", pdf, "--attach", bin, "--save-to-sent=false", "--from", "info@contoso.com"},
			check: func(t *testing.T, m flows.Message) {
				if !slices.Equal(m.To, []string{"ann@contoso.com", `"Lee, Bo" <bo@contoso.com>`, "cy@contoso.com"}) || !slices.Equal(m.Cc, []string{"dee@contoso.com"}) || !slices.Equal(m.Bcc, []string{"eve@contoso.com"}) {
					t.Errorf("recipients %q %q %q", m.To, m.Cc, m.Bcc)
				}
				if m.Body != "<p>hi</p>" || !m.HTML || m.Subject != "Invoice" || !m.SkipSentItems || m.From != "info@contoso.com" || m.MIME != nil {
					t.Errorf("message %+v", m)
				}
				if len(m.Attachments) != 2 || m.Attachments[0].Name != "invoice.pdf" || m.Attachments[0].ContentType != "application/pdf" || m.Attachments[1].ContentType != "application/octet-stream" || !bytes.Equal(m.Attachments[1].Content, []byte{1, 2, 3}) {
					t.Errorf("attachments %+v", m.Attachments)
				}
			},
		},
		{
			name: "body from --body-file, stdin ignored", stdin: "ignored",
			args: []string{"p", "--to", "ann@contoso.com", "--body-file", bodyFile},
			check: func(t *testing.T, m flows.Message) {
				if m.Body != "<p>from a file</p>" || m.HTML || m.SkipSentItems {
					t.Errorf("message %+v", m)
				}
			},
		},
		{
			name: "body from --body-file -", stdin: "piped",
			args: []string{"p", "--to", "ann@contoso.com", "--body-file", "-"},
			check: func(t *testing.T, m flows.Message) {
				if m.Body != "piped" {
					t.Errorf("body %q", m.Body)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := sendFlags(t, tt.stdin, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			m, files, err := o.message()
			if err != nil || files != nil {
				t.Fatal(err, files)
			}
			tt.check(t, m)
		})
	}
}

// TestSendPreparesLargeMessages: --mime from standard input is copied to a
// private temporary file, not kept in memory; attachments over about 3 MB
// make a MIME message for the draft path, --bcc only in the envelope.
func TestSendPreparesLargeMessages(t *testing.T) {
	o, err := sendFlags(t, "To: ann@contoso.com\r\nSubject: x\r\n\r\nhello\r\n", "p", "--mime", "--from", "info@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	g, err := o.prepare()
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(g.file.Name())
	dir, _ := os.Stat(filepath.Dir(g.file.Name()))
	data, _ := os.ReadFile(g.file.Name())
	if g.json != nil || string(data) != "To: ann@contoso.com\r\nSubject: x\r\n\r\nhello\r\n" || g.size != int64(len(data)) || g.recipients != 1 ||
		st.Mode().Perm() != 0o600 || dir.Mode().Perm() != 0o700 {
		t.Errorf("--mime from stdin: %+v %q %v %v", g, data, st.Mode(), dir.Mode())
	}
	g.close()
	if _, err := os.Stat(filepath.Dir(g.file.Name())); !os.IsNotExist(err) {
		t.Errorf("the temporary directory outlived the send: %v", err)
	}

	big := writeFile(t, "scan.pdf", bytes.Repeat([]byte("%PDF scan "), 400_000))
	o, err = sendFlags(t, "see the scan", "p", "--to", "ann@contoso.com", "--bcc", "eve@contoso.com", "--subject", "Scan", "--attach", big)
	if err != nil {
		t.Fatal(err)
	}
	if g, err = o.prepare(); err != nil {
		t.Fatal(err)
	}
	defer g.close()
	data, _ = os.ReadFile(g.file.Name())
	sum, err := flows.ParseMIME(data)
	if err != nil || g.json != nil || !slices.Equal(sum.To, []string{"ann@contoso.com"}) || len(sum.Bcc) != 0 || sum.Subject != "Scan" ||
		!slices.Equal(g.envelope.Recipients, []string{"ann@contoso.com", "eve@contoso.com"}) || g.recipients != 2 {
		t.Errorf("large --attach: %v %+v %+v", err, sum, g)
	}
}

// TestSendBadInput: every bad input is exit 2, naming the flag, before any
// keyring or network access.
func TestSendBadInput(t *testing.T) {
	huge := writeFile(t, "video.mp4", make([]byte, 4<<20))
	half := writeFile(t, "half.bin", make([]byte, 2<<20))
	dir := t.TempDir()
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  []string
	}{
		{"missing --to", "body", []string{"send", "p"}, []string{"to: no recipient", "--to"}},
		{"bad --to", "", []string{"send", "p", "--to", "ann"}, []string{"to:", `"ann" is not an email address`}},
		{"bad --cc", "", []string{"send", "p", "--to", "a@contoso.com", "--cc", "b@"}, []string{"cc:"}},
		{"bad --from", "", []string{"send", "p", "--to", "a@contoso.com", "--from", "info"}, []string{"from:"}},
		{"unreadable body file", "", []string{"send", "p", "--to", "a@contoso.com", "--body-file", filepath.Join(dir, "nope.txt")}, []string{"body-file: cannot read", "nope.txt", "no such file"}},
		{"unreadable attachment", "", []string{"send", "p", "--to", "a@contoso.com", "--attach", filepath.Join(dir, "gone.pdf")}, []string{"attach: cannot read", "gone.pdf"}},
		{"attachment over the tenant's limit", "", []string{"send", "p", "--to", "a@contoso.com", "--attach", huge, "--max-message-size", "5MB"}, []string{"attach: the message with its attachments comes to 5.5 MB encoded; this tenant's maximum message size is 5.0 MB", "--max-message-size"}},
		{"large attachments without Sent Items", "", []string{"send", "p", "--to", "a@contoso.com", "--attach", half, "--attach", half, "--save-to-sent=false"}, []string{"save-to-sent: --save-to-sent=false cannot be used with attachments of more than about 3 MB"}},
		{"--mime over the tenant's limit", "To: a@contoso.com\n\n" + strings.Repeat("x", 2<<20), []string{"send", "p", "--mime", "--max-message-size", "1MB"}, []string{"body-file: standard input holds more than 1.0 MB, this tenant's maximum message size"}},
		{"bad --max-message-size", "", []string{"send", "p", "--to", "a@contoso.com", "--max-message-size", "lots"}, []string{"max-message-size:", `"lots" does not start with a number`}},
		{"--max-message-size over 150MB", "", []string{"send", "p", "--to", "a@contoso.com", "--max-message-size", "200MB"}, []string{"max-message-size: 200MB is more than Exchange Online allows"}},
		{"--mime with --to", "To: a@contoso.com\n\nx", []string{"send", "p", "--mime", "--to", "a@contoso.com"}, []string{"to: --to cannot be used with --mime"}},
		{"--mime with --subject", "To: a@contoso.com\n\nx", []string{"send", "p", "--mime", "--subject", "s"}, []string{"--subject cannot be used with --mime"}},
		{"--mime with --save-to-sent=false", "To: a@contoso.com\n\nx", []string{"send", "p", "--mime", "--save-to-sent=false"}, []string{"save-to-sent:"}},
		{"--mime garbage", "this is not a message", []string{"send", "p", "--mime"}, []string{"mime: line 1 is not a header"}},
		{"--mime without recipients", "Subject: hi\n\nbody", []string{"send", "p", "--mime"}, []string{"mime: no recipient"}},
		{"--mime empty", "", []string{"send", "p", "--mime"}, []string{"mime: the message is empty"}},
		{"no profile", "", []string{"send", "--to", "a@contoso.com"}, []string{"expected one PROFILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"--config-dir", dir}, tt.args...), strings.NewReader(tt.stdin), &out, &errb)
			if code != exitUsage || out.Len() != 0 {
				t.Fatalf("exit %d, stdout %q, stderr %s", code, out.String(), errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
		})
	}
}

const cmdMIME = "From: adele.vance@mailgrant-sandbox.onmicrosoft.com\r\n" +
	"To: megan.bowen@mailgrant-sandbox.onmicrosoft.com\r\n" +
	"Subject: from a pipe\r\n" +
	"\r\n" +
	"cron says hi\r\n"

// TestSendCommand sends through a sandbox given by MAILGRANT_GRAPH_HOST, so
// that the test can read what its Graph accepted.
func TestSendCommand(t *testing.T) {
	dir := env(t, "mailgrant", "cli-send-any", "cli-send-user")
	srv := sandboxtest.Start(t, sandbox.Options{})
	keyring := store.NewKeyring("mailgrant")

	// Given an app-only profile (admin consent by Alex) and a delegated one
	// for Adele with Mail.Send.Shared.
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	t.Setenv("MAILGRANT_CLIENT_SECRET", sandbox.DaemonApp.Secret)
	r := mailgrant(t, "", "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "cli-send-any",
		"--tenant", sandbox.TenantID, "--client-id", sandbox.DaemonApp.ClientID, "--account", sandbox.AdeleVance.UPN)
	if r.code != 0 {
		t.Fatalf("setup send-as-any: %d %s", r.code, r.stderr)
	}
	t.Setenv("MAILGRANT_CLIENT_SECRET", "")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AdeleVance.UPN)
	r = mailgrant(t, "", "setup", "--non-interactive", "--profile", "cli-send-user", "--tenant", sandbox.TenantID,
		"--client-id", sandbox.PublicApp.ClientID, "--account", sandbox.AdeleVance.UPN, "--permissions", "Mail.Send,Mail.Send.Shared,User.Read")
	if r.code != 0 {
		t.Fatalf("setup send-as-user: %d %s", r.code, r.stderr)
	}
	pdf := writeFile(t, "invoice.pdf", []byte("%PDF-1.4"))
	last := func() sandbox.SentMessage {
		t.Helper()
		sent := srv.Sent()
		if len(sent) == 0 {
			t.Fatal("nothing was sent")
		}
		return sent[len(sent)-1]
	}
	var outputs []string

	t.Run("JSON with cc, bcc, attachments and HTML", func(t *testing.T) {
		r := mailgrant(t, "<p>Invoice attached</p>", "send", "cli-send-any", "--to", sandbox.MeganBowen.UPN, "--cc", sandbox.AlexWilber.UPN,
			"--bcc", sandbox.InfoMailbox.UPN, "--subject", "Invoice", "--html", "--attach", pdf, "--attach", pdf, "--save-to-sent=false")
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "sent: Graph accepted the message from "+sandbox.AdeleVance.UPN+" to 3 recipients") {
			t.Fatalf("send: %d %q %s", r.code, r.stdout, r.stderr)
		}
		s := last()
		if s.Mailbox != sandbox.AdeleVance.UPN || !s.AppOnly || s.Subject != "Invoice" || s.ContentType != "HTML" || s.Body != "<p>Invoice attached</p>" ||
			s.Attachments != 2 || s.SaveToSentItems || !slices.Equal(s.Cc, []string{sandbox.AlexWilber.UPN}) || !slices.Equal(s.Bcc, []string{sandbox.InfoMailbox.UPN}) {
			t.Errorf("sent %+v", s)
		}
	})
	t.Run("app-only --from", func(t *testing.T) {
		r := mailgrant(t, "hello", "send", "cli-send-any", "--from", sandbox.MeganBowen.UPN, "--to", sandbox.AdeleVance.UPN)
		if r.code != 0 || last().Mailbox != sandbox.MeganBowen.UPN || last().ContentType != "Text" {
			t.Fatalf("send: %d %s %+v", r.code, r.stderr, last())
		}
	})
	t.Run("MIME from stdin", func(t *testing.T) {
		r := mailgrant(t, cmdMIME, "send", "cli-send-any", "--mime")
		if r.code != 0 || !strings.Contains(r.stderr, "to 1 recipient (202") {
			t.Fatalf("send: %d %s", r.code, r.stderr)
		}
		if s := last(); !s.MIME || s.Subject != "from a pipe" || s.Body != "cron says hi\r\n" || s.Mailbox != sandbox.AdeleVance.UPN {
			t.Errorf("sent %+v", s)
		}
	})
	t.Run("delegated --from a shared mailbox with Send As", func(t *testing.T) {
		r := mailgrant(t, "hi", "send", "cli-send-user", "--from", sandbox.InfoMailbox.UPN, "--to", sandbox.MeganBowen.UPN)
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != 0 || last().Mailbox != sandbox.InfoMailbox.UPN || last().AppOnly {
			t.Fatalf("send: %d %s %+v", r.code, r.stderr, last())
		}
	})
	t.Run("delegated --from a mailbox without Send As", func(t *testing.T) {
		n := len(srv.Sent())
		r := mailgrant(t, "hi", "send", "cli-send-user", "--from", sandbox.MeganBowen.UPN, "--to", sandbox.AlexWilber.UPN)
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != exitFailure || !strings.Contains(r.stderr, "(ErrorSendAsDenied)") || !strings.Contains(r.stderr, "Send As") || len(srv.Sent()) != n {
			t.Fatalf("send: %d %s", r.code, r.stderr)
		}
	})
	t.Run("unknown profile", func(t *testing.T) {
		r := mailgrant(t, "hi", "send", "cli-send-nope", "--to", sandbox.MeganBowen.UPN)
		if r.code != exitUsage || !strings.Contains(r.stderr, "cli-send-any") {
			t.Fatalf("send: %d %s", r.code, r.stderr)
		}
	})

	// No secret reached any output.
	rt, _ := keyring.Get("cli-send-user", store.KindRefreshToken)
	for _, o := range outputs {
		// Sandbox access tokens are JWTs: their header starts with eyJ.
		for _, secret := range []string{sandbox.DaemonApp.Secret, rt, "eyJ"} {
			if secret != "" && strings.Contains(o, secret) {
				t.Fatal("a secret was printed")
			}
		}
	}
	assertNotInFiles(t, dir, sandbox.DaemonApp.Secret, rt)
}
