package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
	"github.com/mailgrant/mailgrant/store"
)

// Bad global flags are bad usage on every command, not only those that use
// them.
func TestBadGlobalFlagsExit2Everywhere(t *testing.T) {
	t.Setenv("MAILGRANT_CONFIG_DIR", t.TempDir())
	t.Setenv("MAILGRANT_STORE", "")
	for _, args := range [][]string{
		{"--cloud", "mars", "list"}, {"--cloud", "mars", "version"},
		{"--store", "tpm", "list"}, {"--store", "tpm", "rbac-script", "x"},
	} {
		r := mailgrant(t, "", args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "hint:") {
			t.Errorf("%v: exit %d, want 2 with a hint\n%s", args, r.code, r.stderr)
		}
	}
	t.Setenv("MAILGRANT_STORE", "tpm")
	if r := mailgrant(t, "", "list"); r.code != exitUsage || !strings.Contains(r.stderr, "MAILGRANT_STORE") {
		t.Errorf("MAILGRANT_STORE=tpm list: exit %d\n%s", r.code, r.stderr)
	}
}

// The commands mailgrant prints carry the flags in force, quoted for a
// shell, and run when pasted.
func TestCommandLineHasTheFlagsInForce(t *testing.T) {
	got := commandLine(globalOptions{sandbox: true, configDir: "/tmp/my dir", store: "file", cloud: "global"})
	if want := "mailgrant --sandbox --config-dir '/tmp/my dir' --store file"; got != want {
		t.Fatalf("commandLine = %q, want %q", got, want)
	}
	if got := commandLine(globalOptions{cloud: "usgov"}); got != "mailgrant --cloud usgov" {
		t.Fatalf("commandLine = %q", got)
	}
}

// A hint printed by status names the command with --sandbox and
// --config-dir, and that command runs as printed.
func TestPrintedHintRuns(t *testing.T) { forEachBackend(t, testPrintedHintRuns) }

func testPrintedHintRuns(t *testing.T, b *backend) {
	b.require(t)
	sandboxtest.InstallFakeBrowser(t)
	dir := filepath.Join(t.TempDir(), "cfg")
	t.Setenv("MAILGRANT_CONFIG_DIR", "")
	t.Setenv("MAILGRANT_SANDBOX", "")
	t.Setenv("MAILGRANT_STORE", "")
	t.Setenv("MAILGRANT_CLIENT_SECRET", "")
	t.Cleanup(func() {
		for _, k := range store.Kinds {
			_ = b.keyring("mailgrant-sandbox").Delete("hinted", k)
		}
	})
	// Given an rbac profile whose test mailbox Exchange refuses (pending).
	r := b.mailgrant(t, "", "--sandbox", "--config-dir", dir, "setup", "--non-interactive", "--scenario", "rbac", "--profile", "hinted", "--account", sandbox.AlexWilber.UPN, "--out-of-scope", sandbox.MeganBowen.UPN)
	// When status prints its hint.
	r = b.mailgrant(t, "", "--sandbox", "--config-dir", dir, "status", "hinted")
	prefix := "mailgrant --sandbox --config-dir " + dir + " status hinted"
	if !strings.Contains(r.stdout+r.stderr, prefix) {
		t.Fatalf("status does not print %q:\n%s%s", prefix, r.stdout, r.stderr)
	}
	// Then the printed command runs as it stands (not a usage error).
	args := strings.Fields(strings.TrimPrefix(prefix, "mailgrant "))
	if again := b.mailgrant(t, "", args...); again.code == exitUsage || !strings.Contains(again.stdout, "hinted") {
		t.Fatalf("the printed command failed: %d\n%s%s", again.code, again.stdout, again.stderr)
	}
}

// Ctrl-C at a y/N question ends it at once with 130, without Enter.
func TestAskYesNoCtrlC(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var errb strings.Builder
	done := make(chan error, 1)
	go func() {
		_, err := askYesNo(ctx, &streams{in: pr, out: io.Discard, err: &errb}, "Delete?")
		done <- err
	}()
	cancel() // what SIGINT does through signal.NotifyContext
	select {
	case err := <-done:
		if reportError(io.Discard, err) != exitCancelled {
			t.Fatalf("err = %v, want exit 130", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the question still waits for Enter after ctrl+c")
	}
	if !strings.Contains(errb.String(), "cancelled") {
		t.Errorf("no cancelled line: %q", errb.String())
	}
}

// Shell completion offers profile names, scenarios and clouds, not files.
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MAILGRANT_CONFIG_DIR", dir)
	t.Setenv("MAILGRANT_SANDBOX", "")
	ps := &store.Profiles{Version: store.SchemaVersion, List: []store.Profile{{Name: "wordpress", Scenario: store.SendAsUser, Account: "a@b.example"}}}
	if err := store.SaveProfiles(dir, ps); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "token", ""}, "wordpress\tsend-as-user, a@b.example"},
		{[]string{"__complete", "setup", "--scenario", ""}, "send-as-any"},
		{[]string{"__complete", "--cloud", ""}, "usgovdod"},
		{[]string{"__complete", "--store", ""}, "file"},
	} {
		r := mailgrant(t, "", tc.args...)
		if !strings.Contains(r.stdout, tc.want) || !strings.Contains(r.stdout, ":4") {
			t.Errorf("%v: want %q and no file completion (:4), got\n%s", tc.args, tc.want, r.stdout)
		}
	}
}

// Help texts: token says what sends mail instead of msmtp's passwordeval;
// setup's --profile shows its type, not a command.
func TestHelpTexts(t *testing.T) {
	r := mailgrant(t, "", "token", "--help")
	if strings.Contains(r.stdout, `passwordeval "mailgrant`) || !strings.Contains(r.stdout, "mailgrant send") || !strings.Contains(r.stdout, "mailgrant sendmail") || !strings.Contains(r.stdout, "SMTP AUTH") {
		t.Errorf("token --help:\n%s", r.stdout)
	}
	r = mailgrant(t, "", "setup", "--help")
	if !strings.Contains(r.stdout, "--profile string") {
		t.Errorf("setup --help lists --profile oddly:\n%s", r.stdout)
	}
}

// A checklist printed before the profile is named says NAME, not nothing.
func TestPrintRegistrationWithoutProfile(t *testing.T) {
	t.Setenv("MAILGRANT_CONFIG_DIR", t.TempDir())
	r := mailgrant(t, "", "setup", "--scenario", "rbac", "--print-registration")
	if strings.Contains(r.stdout, "rbac-script )") || !strings.Contains(r.stdout, "rbac-script NAME") || strings.Contains(r.stdout, `"mailgrant "`) {
		t.Fatalf("print-registration:\n%s", r.stdout)
	}
}

// Delete under the file store names the file, not the keyring.
func TestDeleteNamesTheFileStore(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MAILGRANT_CONFIG_DIR", dir)
	t.Setenv("MAILGRANT_PASSPHRASE", "correct horse battery staple")
	t.Setenv("MAILGRANT_SANDBOX", "")
	// The profile records that its secrets are in the encrypted file; no
	// flag says so.
	ps := &store.Profiles{Version: store.SchemaVersion, List: []store.Profile{{Name: "filed", Scenario: store.Personal, Account: "sam@outlook.com", Store: store.BackendFile}}}
	if err := store.SaveProfiles(dir, ps); err != nil {
		t.Fatal(err)
	}
	r := mailgrant(t, "", "delete", "filed", "--yes")
	if r.code != 0 || strings.Contains(r.stderr, "keyring") || !strings.Contains(r.stderr, "encrypted file") {
		t.Fatalf("delete: %d\n%s", r.code, r.stderr)
	}
	// A personal account revokes at account.live.com, not in Entra.
	if !strings.Contains(r.stderr, "account.live.com") || strings.Contains(r.stderr, "Entra admin center") {
		t.Fatalf("personal delete advice:\n%s", r.stderr)
	}
}

// runUntil starts mailgrant as a process and reads its standard error
// until every one of want has shown, then stops it; it fails after 20 s.
func runUntil(t *testing.T, want []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := mailgrantProcess(ctx, t, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var seen strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := stderr.Read(buf)
		seen.Write(buf[:n])
		all := true
		for _, w := range want {
			all = all && strings.Contains(seen.String(), w)
		}
		if all {
			return seen.String()
		}
		if err != nil {
			t.Fatalf("mailgrant %v ended without %q:\n%s", args, want, seen.String())
		}
	}
}

// With no browser, setup --non-interactive switches to a device code at
// once and says so, rather than waiting for the browser's redirect.
func TestNonInteractiveWithoutBrowser(t *testing.T) {
	env(t, "mailgrant-sandbox", "headless")
	t.Setenv("PATH", t.TempDir()) // no xdg-open
	t.Setenv("SSH_CONNECTION", "")
	t.Setenv("SSH_TTY", "")
	start := time.Now()
	runUntil(t, []string{"No browser could be opened here: signing in with a device code instead", "On this machine", "enter the code"},
		"--sandbox", "setup", "--non-interactive", "--profile", "headless")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("switching to the device code took %s", d)
	}
}

// Over SSH, setup signs in with a device code from the start.
func TestNonInteractiveOverSSH(t *testing.T) {
	env(t, "mailgrant-sandbox", "over-ssh")
	t.Setenv("SSH_CONNECTION", "192.0.2.1 50000 192.0.2.2 22")
	out := runUntil(t, []string{"Over SSH", "enter the code"}, "--sandbox", "setup", "--non-interactive", "--profile", "over-ssh")
	if strings.Contains(out, "oauth2/v2.0/authorize") {
		t.Errorf("a browser URL was offered over SSH:\n%s", out)
	}
}

// list and status say a state in words, pending included, and dates with
// their zone.
func TestStatesInWords(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MAILGRANT_CONFIG_DIR", dir)
	t.Setenv("MAILGRANT_SANDBOX", "")
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	ps := &store.Profiles{Version: store.SchemaVersion, List: []store.Profile{{Name: "scoped", Scenario: store.RBAC, Account: "a@b.example", LastState: "pending", LastCheckedAt: &at}}}
	if err := store.SaveProfiles(dir, ps); err != nil {
		t.Fatal(err)
	}
	r := mailgrant(t, "", "list")
	if !strings.Contains(r.stdout, "pending (waiting for the Exchange role)") || !strings.Contains(r.stdout, at.Local().Format("2006-01-02 15:04 MST")) {
		t.Fatalf("list:\n%s", r.stdout)
	}
}

// TestMissingSecretHintRuns: a profile whose secret is missing is told to
// re-authorize with the command as it must be typed here (the flags in
// force), and the message names the store it looked in.
func TestMissingSecretHintRuns(t *testing.T) { forEachBackend(t, testMissingSecretHintRuns) }

func testMissingSecretHintRuns(t *testing.T, b *backend) {
	dir := t.TempDir()
	t.Setenv("MAILGRANT_CONFIG_DIR", "")
	ps := &store.Profiles{Version: store.SchemaVersion, List: []store.Profile{{Name: "ghost", Scenario: store.SendAsUser, Account: "a@contoso.com", Store: store.BackendKeyring}}}
	if err := store.SaveProfiles(filepath.Join(dir, "sandbox"), ps); err != nil {
		t.Fatal(err)
	}
	b.require(t)
	r := b.mailgrant(t, "", "--sandbox", "--config-dir", dir, "token", "ghost")
	want := "mailgrant --sandbox --config-dir " + dir + " reauth ghost"
	if r.code == 0 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "in its store (keyring)") {
		t.Fatalf("token: %d\n%s\nwant a hint with %q", r.code, r.stderr, want)
	}
}
