package main

import (
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestEditCheckHintsPasteable: when edit checks a delegated profile with
// fewer permissions, the commands it prints (in what the change needs, and
// in the hint when the refresh fails) carry --sandbox and --config-dir.
func TestEditCheckHintsPasteable(t *testing.T) { forEachBackend(t, testEditCheckHintsPasteable) }

func testEditCheckHintsPasteable(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "ed-hint")
	g := []string{"--sandbox", "--config-dir", dir}
	if r := b.mailgrant(t, "", append(g, "setup", "--non-interactive", "--profile", "ed-hint", "--permissions", "Mail.Send,User.Read,Calendars.Read")...); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	want := "mailgrant --sandbox --config-dir " + shellQuote(dir) + " reauth ed-hint"

	// The refresh fails: the hint says how to sign in again.
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultRevoked)
	r := b.mailgrant(t, "", append(g, "edit", "ed-hint", "--permissions", "Mail.Send,User.Read")...)
	if r.code != 1 || !strings.Contains(r.stderr, "hint: sign in again: "+want) || strings.Contains(r.stderr, "mailgrant reauth") {
		t.Fatalf("edit with a revoked grant: %d, want the hint %q in:\n%s", r.code, want, r.stderr)
	}

	if p := readProfile(t, dir, "ed-hint"); len(p.Permissions) != 3 {
		t.Fatalf("a failed edit changed the permissions: %v", p.Permissions)
	}
}

// TestScopeWarningPasteable: the warning that a policy-scoped profile has
// no out-of-scope mailbox names an edit command that works when pasted.
func TestScopeWarningPasteable(t *testing.T) { forEachBackend(t, testScopeWarningPasteable) }

func testScopeWarningPasteable(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "pol-warn")
	g := []string{"--sandbox", "--config-dir", dir}
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultAccessPolicy)
	if r := b.mailgrant(t, "", append(g, "setup", "--non-interactive", "--scenario", "rbac", "--scoping", "policy", "--profile", "pol-warn")...); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	if err := store.UpdateProfiles(dir+"/sandbox", func(ps *store.Profiles) error {
		p, _ := ps.Get("pol-warn")
		p.OutOfScopeMailbox = ""
		ps.Put(p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r := b.mailgrant(t, "", append(g, "status", "pol-warn")...)
	want := "mailgrant --sandbox --config-dir " + shellQuote(dir) + " edit pol-warn --out-of-scope ADDR"
	if !strings.Contains(r.stdout, "no out-of-scope mailbox") || !strings.Contains(r.stdout, want) {
		t.Fatalf("status: want %q in:\n%s", want, r.stdout)
	}
}

// TestEditAdviceProse: the advice edit prints gets the flags in force in
// its commands, and only there: prose about mailgrant stays prose.
func TestEditAdviceProse(t *testing.T) { forEachBackend(t, testEditAdviceProse) }

func testEditAdviceProse(t *testing.T, b *backend) {
	b.env(t, "mailgrant-sandbox", "ed-adv")
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "ed-adv", "--permissions", "Mail.Send,Files.Read.All"); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	r := b.mailgrant(t, "", "--sandbox", "edit", "ed-adv", "--permissions", "Mail.Send", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stderr, "revoke Files.Read.All") || strings.Contains(r.stderr, "mailgrant --sandbox cannot") {
		t.Fatalf("edit --dry-run: %d %s", r.code, r.stderr)
	}
}

// TestWizardWithoutTerminalPasteable: the bare command without a terminal
// names the setup command with the flags it was given.
func TestWizardWithoutTerminalPasteable(t *testing.T) {
	dir := testEnv(t)
	var out, errb strings.Builder
	code := runWith(newBackend("memory").deps, []string{"--sandbox", "--config-dir", dir}, strings.NewReader(""), &out, &errb)
	want := "mailgrant --sandbox --config-dir " + shellQuote(dir) + " setup --non-interactive"
	if code != exitUsage || !strings.Contains(errb.String(), want) {
		t.Fatalf("exit %d, want %q in:\n%s", code, want, errb.String())
	}
}

// TestMoveWithoutStorePasteable: move without --store names the command to
// run with the flags it was given.
func TestMoveWithoutStorePasteable(t *testing.T) {
	dir := testEnv(t)
	r := newBackend("memory").mailgrant(t, "", "--sandbox", "--config-dir", dir, "move", "mv-hint")
	want := "mailgrant --sandbox --config-dir " + shellQuote(dir) + " move mv-hint --store keyring"
	if r.code != exitUsage || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d, want %q in:\n%s", r.code, want, r.stderr)
	}
}
