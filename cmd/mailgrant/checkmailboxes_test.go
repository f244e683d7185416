package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
)

// mailboxesJSON decodes check-mailboxes --json, failing on any field beyond
// the four DESIGN.md names.
func mailboxesJSON(t *testing.T, out string) map[string]flows.MailboxResult {
	t.Helper()
	var raw struct {
		Mailboxes []map[string]string `json:"mailboxes"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	got := map[string]flows.MailboxResult{}
	for _, m := range raw.Mailboxes {
		if len(m) != 4 {
			t.Errorf("want exactly mailbox, verdict, code, message: %v", m)
		}
		got[m["mailbox"]] = flows.MailboxResult{Mailbox: m["mailbox"], Verdict: flows.Verdict(m["verdict"]), Code: flows.Code(m["code"]), Message: m["message"]}
	}
	return got
}

func TestCheckMailboxesCommand(t *testing.T) { forEachBackend(t, testCheckMailboxesCommand) }

func testCheckMailboxesCommand(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "cli-cm-rbac", "cli-cm-user")
	r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "cli-cm-rbac")
	if r.code != 0 {
		t.Fatalf("setup rbac: %d %s", r.code, r.stderr)
	}
	nobody := "nobody@" + sandbox.TenantDomain
	all := []string{sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, sandbox.AlexWilber.UPN, sandbox.InfoMailbox.UPN, sandbox.LeeGu.UPN, nobody}
	want := map[string]flows.MailboxResult{
		sandbox.AdeleVance.UPN:  {Verdict: flows.VerdictAllowed},
		sandbox.MeganBowen.UPN:  {Verdict: flows.VerdictAllowed},
		sandbox.AlexWilber.UPN:  {Verdict: flows.VerdictDenied, Code: "ErrorAccessDenied"},
		sandbox.InfoMailbox.UPN: {Verdict: flows.VerdictDenied, Code: "ErrorAccessDenied"},
		sandbox.LeeGu.UPN:       {Verdict: flows.VerdictNoMailbox, Code: "MailboxNotEnabledForRESTAPI"},
		nobody:                  {Verdict: flows.VerdictNotFound, Code: "ErrorInvalidUser"},
	}
	checkVerdicts := func(t *testing.T, got map[string]flows.MailboxResult, list []string) {
		t.Helper()
		if len(got) != len(list) {
			t.Errorf("%d results for %d mailboxes", len(got), len(list))
		}
		for _, m := range list {
			if g, w := got[m], want[m]; g.Verdict != w.Verdict || g.Code != w.Code {
				t.Errorf("%s: got %+v, want %+v", m, g, w)
			}
		}
	}

	t.Run("arguments, JSON", func(t *testing.T) {
		r := b.mailgrant(t, "", append([]string{"--sandbox", "check-mailboxes", "cli-cm-rbac", "--json"}, all...)...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		checkVerdicts(t, mailboxesJSON(t, r.stdout), all)
		if !strings.Contains(r.stderr, "checked 6/6") {
			t.Errorf("no progress on stderr: %q", r.stderr)
		}
	})
	t.Run("arguments, table", func(t *testing.T) {
		r := b.mailgrant(t, "", append([]string{"--sandbox", "check-mailboxes", "cli-cm-rbac", "--concurrency", "2"}, all...)...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		lines := strings.Split(r.stdout, "\n")
		if !strings.HasPrefix(lines[0], "MAILBOX") || !strings.Contains(lines[0], "VERDICT") {
			t.Errorf("no header: %q", lines[0])
		}
		for _, w := range []string{
			sandbox.AdeleVance.UPN + "  ", "✓ allowed", "✗ denied", "ErrorAccessDenied", "Access to OData is disabled.",
			"· no-mailbox", "MailboxNotEnabledForRESTAPI", "· not-found", "ErrorInvalidUser",
			"6 mailbox(es): 2 allowed, 2 denied, 1 not-found, 1 no-mailbox",
		} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("table lacks %q:\n%s", w, r.stdout)
			}
		}
	})
	t.Run("--file with comments, and duplicates", func(t *testing.T) {
		f := writeFile(t, "mailboxes.txt", []byte("# sales\n"+sandbox.AdeleVance.UPN+"\n\n  "+sandbox.AlexWilber.UPN+"  # the admin\n"+strings.ToUpper(sandbox.AdeleVance.UPN)+"\n"+nobody+"\n"))
		r := b.mailgrant(t, "", "--sandbox", "check-mailboxes", "cli-cm-rbac", "--file", f, "--json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		checkVerdicts(t, mailboxesJSON(t, r.stdout), []string{sandbox.AdeleVance.UPN, sandbox.AlexWilber.UPN, nobody})
	})
	t.Run("--file - reads stdin", func(t *testing.T) {
		r := b.mailgrant(t, sandbox.MeganBowen.UPN+"\n"+sandbox.LeeGu.UPN+"\n", "--sandbox", "check-mailboxes", "cli-cm-rbac", "--file", "-", "--json", "--to", sandbox.AdeleVance.UPN)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		checkVerdicts(t, mailboxesJSON(t, r.stdout), []string{sandbox.MeganBowen.UPN, sandbox.LeeGu.UPN})
	})
	t.Run("no addresses: the profile's own mailboxes", func(t *testing.T) {
		r := b.mailgrant(t, "", "--sandbox", "check-mailboxes", "cli-cm-rbac", "--json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		// Its account and rbac mailboxes (Adele, Megan), and the
		// out-of-scope one (Alex).
		checkVerdicts(t, mailboxesJSON(t, r.stdout), []string{sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, sandbox.AlexWilber.UPN})
	})

	// Bad input: exit 2, naming what is wrong.
	bad := writeFile(t, "bad.txt", []byte(sandbox.AdeleVance.UPN+"\n# fine\nnot-an-address\n"))
	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"invalid line in --file", "", []string{"cli-cm-rbac", "--file", bad}, `bad.txt, line 3: "not-an-address" is not an email address`},
		{"invalid argument", "", []string{"cli-cm-rbac", "ann"}, `mailbox: "ann" is not an email address`},
		{"missing --file", "", []string{"cli-cm-rbac", "--file", filepath.Join(dir, "none.txt")}, "file: cannot read"},
		{"arguments and --file", "", []string{"cli-cm-rbac", sandbox.AdeleVance.UPN, "--file", bad}, "both as arguments and with --file"},
		{"concurrency 0", "", []string{"cli-cm-rbac", "--concurrency", "0"}, "concurrency: 0 is out of range"},
		{"bad --to", "", []string{"cli-cm-rbac", "--to", "x"}, "to:"},
		{"no profile", "", nil, "expected a PROFILE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := b.mailgrant(t, tt.stdin, append([]string{"--sandbox", "check-mailboxes"}, tt.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Fatalf("exit %d, want 2 with %q: %s", r.code, tt.want, r.stderr)
			}
		})
	}

	t.Run("a delegated profile is refused", func(t *testing.T) {
		t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AdeleVance.UPN)
		r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "cli-cm-user")
		if r.code != 0 {
			t.Fatalf("setup: %d %s", r.code, r.stderr)
		}
		r = b.mailgrant(t, "", "--sandbox", "check-mailboxes", "cli-cm-user", sandbox.AdeleVance.UPN)
		if r.code != exitUsage || !strings.Contains(r.stderr, "delegated") || !strings.Contains(r.stderr, "send cli-cm-user --from MAILBOX") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
	})
}

// TestCheckMailboxesExitStatus: 0 whatever Graph answered, 1 when any
// mailbox could not be checked.
func TestCheckMailboxesExitStatus(t *testing.T) {
	answered := []flows.MailboxResult{{Verdict: flows.VerdictAllowed}, {Verdict: flows.VerdictDenied}, {Verdict: flows.VerdictNotFound}, {Verdict: flows.VerdictNoMailbox}}
	if err := mailboxesExit(answered); err != nil {
		t.Errorf("every verdict from Graph: %v", err)
	}
	var xe *exitError
	if err := mailboxesExit(append(answered, flows.MailboxResult{Verdict: flows.VerdictError})); !errors.As(err, &xe) || xe.code != exitFailure {
		t.Errorf("an error verdict: %v", err)
	}
}

func TestMailboxProgress(t *testing.T) {
	var plain bytes.Buffer
	p := mailboxProgress(&plain, false)
	for i := 1; i <= 25; i++ {
		p(i, 25)
	}
	if got := plain.String(); !strings.HasPrefix(got, "checked 2/25\n") || !strings.HasSuffix(got, "checked 24/25\nchecked 25/25\n") || strings.Contains(got, "\r") {
		t.Errorf("plain progress:\n%s", got)
	}
	var term bytes.Buffer
	p = mailboxProgress(&term, true)
	p(1, 2)
	p(2, 2)
	if got := term.String(); !strings.HasPrefix(got, "\rchecking mailboxes [###############...............] 1/2") || !strings.HasSuffix(got, "\r\x1b[K") || strings.Contains(got, "\n") {
		t.Errorf("terminal progress: %q", got)
	}
}
