package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// setupWizard starts the wizard as `mailgrant --sandbox --config-dir DIR
// setup ARGS` starts it on a terminal (the same flags, prefill and Deps),
// under teatest at width×30 with the OS keyring.
func setupWizard(t *testing.T, dir string, width int, args ...string) *teatest.TestModel {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}
	g := globalOptions{sandbox: true, configDir: dir}
	var o *setupOptions
	cmd := newSetupCmd(s, &g, func(_ context.Context, so *setupOptions) error { o = so; return nil })
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(ctx, s, g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	p, err := o.buildProfile(a)
	if err != nil {
		t.Fatal(err)
	}
	tm := teatest.NewTestModel(t, tui.New(ctx, a.wizardDeps(tui.StartSetup, o.wizardPrefill(a, p, sandboxSecret(p.ClientID)))),
		teatest.WithInitialTermSize(width, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	t.Cleanup(func() { _ = tm.Quit() })
	return tm
}

// waitScreen waits until the wizard's output holds every one of want.
func waitScreen(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		s := ansi.Strip(string(b))
		for _, x := range want {
			if !strings.Contains(s, x) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

// finalScreen quits with key and returns the outcome and the last screen.
func finalScreen(t *testing.T, tm *teatest.TestModel, key rune) (tui.Outcome, string) {
	t.Helper()
	tm.Send(tea.KeyPressMsg{Code: key})
	fm, ok := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(tui.Model)
	if !ok {
		t.Fatal("final model is not a tui.Model")
	}
	return fm.Outcome(), ansi.Strip(fm.View().Content)
}

// comparable blanks what differs between two saves of the same inputs: the
// name and the times.
func comparable(p store.Profile) store.Profile {
	p.Name = ""
	p.CreatedAt = time.Time{}
	p.AuthorizedAt, p.RefreshRotatedAt, p.LastCheckedAt = nil, nil, nil
	return p
}

// TestWizardSavesWhatSetupSaves: for the same answers, the wizard saves the
// profile setup --non-interactive saves: an rbac profile under RBAC for
// Applications (authorized once its test send works, in both), and one
// under an access policy in its DenyAccess form.
func TestWizardSavesWhatSetupSaves(t *testing.T) {
	dir := env(t, "mailgrant-sandbox", "cli-rbac", "wiz-rbac", "cli-deny", "wiz-deny")
	for _, tt := range []struct {
		name   string
		flags  []string
		faults string
		// keys answer the scoping question (tab to a field, → to pick).
		keys []tea.KeyPressMsg
	}{
		{name: "rbac"},
		{name: "deny", flags: []string{"--scoping", "policy", "--policy-access", "DenyAccess"}, faults: sandbox.FaultAccessPolicyDeny, keys: []tea.KeyPressMsg{
			{Code: tea.KeyTab}, {Code: tea.KeyTab}, {Code: tea.KeyTab}, {Code: tea.KeyTab}, {Code: tea.KeyTab}, {Code: tea.KeyRight},
			{Code: tea.KeyTab}, {Code: tea.KeyRight},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("MAILGRANT_SANDBOX_FAULTS", tt.faults)
			args := append([]string{"--sandbox", "--config-dir", dir, "setup", "--non-interactive", "--scenario", "rbac", "--profile", "cli-" + tt.name}, tt.flags...)
			if r := mailgrant(t, "", args...); r.code != 0 {
				t.Fatalf("setup: %d %s", r.code, r.stderr)
			}
			cli := readProfile(t, dir, "cli-"+tt.name)

			tm := setupWizard(t, dir, 100, "--scenario", "rbac", "--profile", "wiz-"+tt.name)
			waitScreen(t, tm, "Exchange scope")
			for _, k := range tt.keys {
				tm.Send(k)
			}
			tm.Send(tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
			waitScreen(t, tm, "Saved as "+cli.LastState)
			tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter}) // past the PowerShell
			waitScreen(t, tm, "token wiz-"+tt.name)
			if out, _ := finalScreen(t, tm, 'q'); !out.Completed {
				t.Fatalf("outcome = %+v", out)
			}
			wiz := readProfile(t, dir, "wiz-"+tt.name)
			if c, w := comparable(cli), comparable(wiz); !equalProfiles(c, w) {
				t.Fatalf("setup saved\n%+v\nthe wizard saved\n%+v", c, w)
			}
			if cli.LastState != string(flows.StateAuthorized) {
				t.Fatalf("saved as %s, want authorized (DESIGN.md: a test send as an in-scope mailbox succeeded)", cli.LastState)
			}
		})
	}
}

// equalProfiles compares two profiles as profiles.json holds them.
func equalProfiles(a, b store.Profile) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && string(ja) == string(jb)
}

// TestWizardConsentStatusCommandWorks: when the wait for a new admin
// consent ends first, the wizard ends on the status command to run later,
// with the flags in force; pasted through sh -c once the consent has
// reached the tokens, it says the profile works.
func TestWizardConsentStatusCommandWorks(t *testing.T) {
	dir := env(t, "mailgrant-sandbox", "late-any")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultSlowConsent)
	t.Setenv(flows.ConsentWaitEnv, "100ms")

	tm := setupWizard(t, dir, 200, "--scenario", "send-as-any", "--profile", "late-any")
	waitScreen(t, tm, "> Profile name")
	tm.Send(tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
	waitScreen(t, tm, "has not reached the app's tokens yet")
	out, screen := finalScreen(t, tm, tea.KeyEnter)
	if !out.Completed || out.Err == nil {
		t.Fatalf("outcome = %+v, want saved but not authorized", out)
	}
	command := ""
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if strings.Contains(l, "Check again later with:") && i+1 < len(lines) {
			command = strings.TrimSpace(lines[i+1])
		}
	}
	if want := commandLine(globalOptions{sandbox: true, configDir: dir}) + " status late-any"; command != want {
		t.Fatalf("printed %q, want %q:\n%s", command, want, screen)
	}
	if p := readProfile(t, dir, "late-any"); p.LastState != string(flows.StateConsentMissing) {
		t.Fatalf("saved as %s, want consent-missing", p.LastState)
	}

	// Pasted as printed, where the consent has reached the tokens (the
	// printed command runs without MAILGRANT_SANDBOX_FAULTS).
	if r := runPrinted(t, command, "", true); r.code != 0 || !strings.Contains(r.stdout, "authorized") {
		t.Fatalf("the printed status command: %d %s %s", r.code, r.stdout, r.stderr)
	}
}
