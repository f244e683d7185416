package tui_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// wizard is one run of the whole wizard against the sandbox on loopback,
// with the fake browser standing in for the system one.
type wizard struct {
	srv     *sandbox.Server
	tm      *teatest.TestModel
	deps    tui.Deps
	secrets *store.Memory
	log     string
}

// startWizard serves the sandbox, installs the fake browser and starts the
// wizard at 80×24 with colours pinned to plain ASCII. Tests that call it
// use t.Setenv, so they are not parallel.
func startWizard(t *testing.T, opts ...func(*tui.Deps)) *wizard {
	t.Helper()
	return startWizardWith(t, func(d *tui.Deps, _ *sandbox.Server) {
		// A setup (mailgrant setup) ends on its done screen; from the list
		// (StartHome) finishing returns to the list.
		d.Start = tui.StartSetup
		for _, o := range opts {
			o(d)
		}
	})
}

// startWizardWith is startWizard with an option that sees the sandbox.
func startWizardWith(t *testing.T, opt func(*tui.Deps, *sandbox.Server)) *wizard {
	t.Helper()
	return startWizardOn(t, sandbox.Options{}, opt)
}

// startWizardOn is startWizardWith on a sandbox started with options o.
func startWizardOn(t *testing.T, o sandbox.Options, opt func(*tui.Deps, *sandbox.Server)) *wizard {
	t.Helper()
	srv := sandboxtest.Start(t, o)
	log := sandboxtest.InstallFakeBrowser(t)
	env, err := flows.NewEnv(flows.EnvOptions{Sandbox: true}.EnvFromEnvironment())
	if err != nil {
		t.Fatal(err)
	}
	var accounts []string
	for _, u := range sandbox.Users {
		accounts = append(accounts, u.UPN)
	}
	secrets := store.NewMemory()
	deps := tui.Deps{
		Env: env, Secrets: secrets, ConfigDir: t.TempDir(), Browser: flows.SystemBrowser{},
		Sandbox: true, Start: tui.StartHome,
		Prefill: tui.Prefill{
			Tenant: sandbox.TenantID, ClientID: sandbox.PublicApp.ClientID, Account: sandbox.AdeleVance.UPN,
			Accounts: accounts, Note: "The sandbox tenant and app are filled in.",
		},
		ServiceName:   store.ServiceName(true),
		CommandPrefix: "mailgrant --sandbox",
	}
	opt(&deps, srv)
	w := &wizard{srv: srv, deps: deps, secrets: secrets, log: log}
	w.start(t)
	return w
}

// start runs a new program on w.deps, replacing w.tm.
func (w *wizard) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tm := teatest.NewTestModel(t, tui.New(ctx, w.deps),
		teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	t.Cleanup(func() { _ = tm.Quit() })
	w.tm = tm
}

// waitFor waits until the screen output contains every one of want.
func (w *wizard) waitFor(t *testing.T, want ...string) {
	t.Helper()
	teatest.WaitFor(t, w.tm.Output(), func(b []byte) bool {
		s := ansi.Strip(string(b))
		for _, x := range want {
			if !strings.Contains(s, x) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(8*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

func (w *wizard) press(code rune) { w.tm.Send(tea.KeyPressMsg{Code: code}) }

// finish quits with q and returns the final model and its last screen,
// without escape sequences and with wrapped lines joined by spaces.
func (w *wizard) finish(t *testing.T, code rune) (tui.Outcome, string) {
	t.Helper()
	w.press(code)
	fm, ok := w.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(tui.Model)
	if !ok {
		t.Fatal("final model is not a tui.Model")
	}
	return fm.Outcome(), joinLines(ansi.Strip(fm.View().Content))
}

// finishNow waits for the program to end (after a key already sent).
func (w *wizard) finishNow(t *testing.T) (tui.Outcome, string) {
	t.Helper()
	fm, ok := w.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(tui.Model)
	if !ok {
		t.Fatal("final model is not a tui.Model")
	}
	return fm.Outcome(), joinLines(ansi.Strip(fm.View().Content))
}

// joinLines turns a screen into one line: every run of spaces and line
// breaks becomes one space, so wrapped messages can be matched whole.
func joinLines(s string) string { return strings.Join(strings.Fields(s), " ") }

// requireContains fails unless screen contains every one of want.
func requireContains(t *testing.T, screen string, want ...string) {
	t.Helper()
	for _, x := range want {
		if !strings.Contains(screen, x) {
			t.Errorf("screen lacks %q:\n%s", x, screen)
		}
	}
}

// requireNothingSaved fails if the wizard kept a profile or a secret.
func (w *wizard) requireNothingSaved(t *testing.T) {
	t.Helper()
	ps, err := store.LoadProfiles(w.deps.ConfigDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.List) != 0 {
		t.Errorf("profiles saved: %+v", ps.List)
	}
	if _, err := w.secrets.Get("mailer", store.KindRefreshToken); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refresh token stored (err %v)", err)
	}
}

// signIn goes from the chooser through the prefilled details to the sign-in.
func (w *wizard) signIn(t *testing.T) {
	t.Helper()
	w.waitFor(t, "What should the program be allowed to do?")
	w.press(tea.KeyEnter) // send-as-user, the first scenario
	w.waitFor(t, "Register the app in Entra")
	w.press(tea.KeyEnter)          // past the registration checklist
	w.waitFor(t, "> Profile name") // the form (its title shares words with the checklist's)
	w.tm.Send(tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
}

func TestWizardHappyPath(t *testing.T) {
	// Given the sandbox and a browser that signs in as the prefilled account.
	w := startWizard(t)

	// When the admin picks send-as-user and submits the prefilled details.
	w.signIn(t)

	// Then the browser signs in, the check passes and the done screen says
	// how to use the profile.
	w.waitFor(t, "token mailer")
	out, screen := w.finish(t, tea.KeyEnter)
	if !out.Completed || out.Cancelled || out.Err != nil || out.Profile != "mailer" {
		t.Fatalf("outcome = %+v, want completed mailer", out)
	}
	requireContains(t, screen,
		"Authorized mailer as "+sandbox.AdeleVance.UPN,
		"✓ Token obtained", "✓ Right account signed in as "+sandbox.AdeleVance.UPN, "✓ Required permissions",
		"OS keyring, service mailgrant-sandbox, item mailer/refresh-token",
		"mailgrant --sandbox token mailer", "mailgrant --sandbox status mailer")

	ps, err := store.LoadProfiles(w.deps.ConfigDir)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ps.Get("mailer")
	if !ok || p.Account != sandbox.AdeleVance.UPN || p.Scenario != store.SendAsUser || p.LastState != string(flows.StateAuthorized) {
		t.Errorf("profiles.json has %+v", ps.List)
	}
	if rt, err := w.secrets.Get("mailer", store.KindRefreshToken); err != nil || rt == "" {
		t.Errorf("no refresh token stored: %v", err)
	}
	visited, err := os.ReadFile(w.log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(visited), "/oauth2/v2.0/authorize?") {
		t.Errorf("the browser never opened the authorize URL; it visited:\n%s", visited)
	}
}

func TestWizardConsentDeclined(t *testing.T) {
	// Given a browser that presses cancel on the sign-in page.
	w := startWizard(t)
	t.Setenv("MAILGRANT_FAKE_BROWSER_ACTION", "cancel")

	w.signIn(t)

	// Then the failure is explained with a hint, and nothing is saved.
	w.waitFor(t, "Hint:")
	out, screen := w.finish(t, 'q')
	if out.Err == nil || out.Completed {
		t.Fatalf("outcome = %+v, want the failure", out)
	}
	requireContains(t, screen, "declined", "Hint: sign in again and accept", "r retry")
	w.requireNothingSaved(t)
}

func TestWizardWrongAccount(t *testing.T) {
	// Given a browser that signs in as another sandbox user.
	w := startWizard(t)
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)

	w.signIn(t)

	// Then the check names both accounts, and nothing is saved.
	w.waitFor(t, "Nothing was saved")
	out, screen := w.finish(t, 'q')
	if out.Err == nil || out.Completed {
		t.Fatalf("outcome = %+v, want the failure", out)
	}
	requireContains(t, screen,
		"✓ Token obtained", "✗ Right account",
		"signed in as "+sandbox.AlexWilber.UPN+", not "+sandbox.AdeleVance.UPN,
		"Hint: sign in again as "+sandbox.AdeleVance.UPN)
	w.requireNothingSaved(t)
}

func TestWizardCtrlCWhileWaiting(t *testing.T) {
	// Given a sign-in waiting for a browser that never comes back.
	w := startWizard(t, func(d *tui.Deps) { d.Browser = flows.NoBrowser{} })
	w.signIn(t)
	w.waitFor(t, "Waiting for the browser")

	// When the admin presses ctrl+c, it asks first (the sign-in would be
	// lost); a second ctrl+c quits.
	w.tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	w.waitFor(t, "Quit? The sign-in in progress is cancelled")
	w.tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})

	// Then the wizard ends cancelled, says so, and saved nothing.
	fm := w.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(tui.Model)
	if out := fm.Outcome(); !out.Cancelled || out.Completed || out.Profile != "mailer" {
		t.Fatalf("outcome = %+v, want cancelled", out)
	}
	if last := ansi.Strip(fm.View().Content); !strings.Contains(last, "✗ Cancelled: nothing was saved.") || strings.Contains(last, "Waiting") {
		t.Fatalf("last frame:\n%s", last)
	}
	w.requireNothingSaved(t)
}

func TestWizardStoredProfile(t *testing.T) {
	// Given a profile authorized by a first run.
	w := startWizard(t)
	w.signIn(t)
	w.waitFor(t, "token mailer")
	if out, _ := w.finish(t, tea.KeyEnter); !out.Completed {
		t.Fatalf("first run: %+v", out)
	}

	t.Run("check from the list", func(t *testing.T) {
		// When the list opens and enter checks the profile.
		w.deps.Start = tui.StartHome
		w.start(t)
		w.waitFor(t, "mailgrant profiles", "mailer", "✓ works")
		w.press(tea.KeyEnter)

		// Then the check passes and is recorded.
		w.waitFor(t, "Recorded in profiles.json")
		out, screen := w.finish(t, 'q')
		if out.Cancelled || out.Completed || out.Err != nil {
			t.Fatalf("outcome = %+v, want a plain exit", out)
		}
		requireContains(t, screen, "✓ Token obtained", "✓ Right account", "Status: ✓ authorized")
	})

	t.Run("reauth", func(t *testing.T) {
		// When the wizard starts on a re-authorization of the profile.
		w.deps.Start = tui.StartReauth
		w.deps.Prefill = tui.Prefill{Profile: "mailer"}
		w.start(t)

		// Then it goes straight to the sign-in and ends on the done screen.
		w.waitFor(t, "token mailer")
		out, screen := w.finish(t, 'q')
		if !out.Completed || out.Profile != "mailer" {
			t.Fatalf("outcome = %+v, want completed", out)
		}
		requireContains(t, screen, "Authorized mailer as "+sandbox.AdeleVance.UPN)
	})

	t.Run("reauth of a missing profile", func(t *testing.T) {
		w.deps.Prefill = tui.Prefill{Profile: "nosuch"}
		w.start(t)
		w.waitFor(t, "there is no profile named nosuch")
		if out, _ := w.finish(t, 'q'); out.Err == nil {
			t.Fatalf("outcome = %+v, want the error", out)
		}
	})
}
