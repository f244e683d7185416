package tui_test

import (
	"github.com/mailgrant/mailgrant/flows/clock"
	"os"
	"strconv"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// osKeyring makes the wizard keep its secrets in the OS keyring, under a
// service of this test process, as mailgrant does; it cleans up the items of
// names. Without a keyring the test is skipped, or fails when
// MAILGRANT_REQUIRE_KEYRING=1 (CI).
func osKeyring(t *testing.T, d *tui.Deps, names ...string) *store.Keyring {
	t.Helper()
	k := store.NewKeyring("mailgrant-test-wizard-"+strconv.Itoa(os.Getpid()), store.WithTimeout(5*time.Second))
	if err := k.Probe(); err != nil {
		if os.Getenv("MAILGRANT_REQUIRE_KEYRING") == "1" {
			t.Fatalf("MAILGRANT_REQUIRE_KEYRING=1 but the keyring does not work: %v", err)
		}
		t.Skipf("no usable keyring (%v); run under .ci/with-keyring", err)
	}
	t.Cleanup(func() {
		for _, n := range names {
			for _, kind := range store.Kinds {
				_ = k.Delete(n, kind)
			}
		}
	})
	d.Secrets = k
	return k
}

// newClock is the sandbox's clock, moved by the test: Entra's replication
// of a new consent (sandbox.FaultSlowConsent) waits on it.
func newClock() *clock.Fake { return clock.NewFake(time.Now()) }

// TestWizardAsksScoping: for rbac the form asks the Exchange scoping, each
// choice saying what it means; an access policy in its DenyAccess form is
// stored in the profile as setup --scoping policy --policy-access
// DenyAccess stores it, and the check and the PowerShell follow it.
func TestWizardAsksScoping(t *testing.T) {
	// Given the scoped app, which a DenyAccess policy narrows in Exchange.
	var k *store.Keyring
	w := startWizardOn(t, sandbox.Options{Faults: []string{sandbox.FaultAccessPolicyDeny}}, func(d *tui.Deps, _ *sandbox.Server) {
		d.Start = tui.StartSetup
		d.Prefill.ClientID = sandbox.RBACApp.ClientID
		d.Prefill.ClientSecret = sandbox.RBACApp.Secret
		d.Prefill.OutOfScope = sandbox.OutOfScopeMailboxes[0]
		k = osKeyring(t, d, "mailer")
	})

	// When the admin picks rbac, then an access policy, then DenyAccess.
	w.chooseScenario(t, 3, "Chosen mailboxes (RBAC)")
	for range 5 { // profile → Exchange scope
		w.press(tea.KeyTab)
	}
	w.press(tea.KeyRight)
	w.waitFor(t, "Policy type") // the screen is redrawn in parts: the words are checked in TestDetailsScoping
	w.press(tea.KeyTab)
	w.press(tea.KeyRight)
	w.waitFor(t, "every mailbox except")
	w.submit()

	// Then the check proves the policy by the refused out-of-scope send,
	// the PowerShell is the DenyAccess policy, and the profile records it.
	w.waitFor(t, "policy's block list, was refused", "(ApplicationAccessPolicy, DenyAccess)", "Saved as authorized")
	p, ok := w.loadProfile(t, "mailer")
	if !ok || p.Scoping != store.ScopingPolicy || p.PolicyAccess != store.PolicyDeny || p.LastState != string(flows.StateAuthorized) {
		t.Fatalf("profile = %+v, want an authorized DenyAccess policy", p)
	}
	if v, err := k.Get("mailer", store.KindClientSecret); err != nil || v != sandbox.RBACApp.Secret {
		t.Fatalf("the client secret is not in the keyring: %v", err)
	}
	w.press(tea.KeyEnter)
	w.waitFor(t, "token mailer")
	out, screen := w.finish(t, 'q')
	if !out.Completed || out.Err != nil {
		t.Fatalf("outcome = %+v", out)
	}
	requireContains(t, screen, "✓ Authorized mailer (rbac)", "✓ Out-of-scope mailbox refused", "mailgrant --sandbox rbac-script mailer")
}

// slowConsentWizard starts a send-as-any setup whose admin consent reaches
// the tokens only once clk has moved 1.5 s past it, with the OS keyring.
func slowConsentWizard(t *testing.T, clk *clock.Fake) *wizard {
	t.Helper()
	w := startWizardOn(t, sandbox.Options{Faults: []string{sandbox.FaultSlowConsent}, Clock: clk}, func(d *tui.Deps, _ *sandbox.Server) {
		d.Start = tui.StartSetup
		daemonApp(d)
		osKeyring(t, d, "mailer")
	})
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	w.chooseScenario(t, 1, "Send as any mailbox")
	w.submit()
	return w
}

// requireConsentLate checks the screen a setup ends on when the consent had
// not reached the token: saved as consent-missing, with the exact status
// command to run later (the Deps' prefix, as every hint has it).
func requireConsentLate(t *testing.T, w *wizard) {
	t.Helper()
	w.waitFor(t, "has not reached the app's tokens yet", "mailgrant --sandbox status mailer")
	out, screen := w.finish(t, tea.KeyEnter)
	if !out.Completed || out.Err == nil {
		t.Fatalf("outcome = %+v, want saved but not authorized (exit 1)", out)
	}
	requireContains(t, screen, "Entra can take several minutes to apply it. Check again later with: "+w.deps.CommandPrefix+" status mailer")
	if p, ok := w.loadProfile(t, "mailer"); !ok || p.LastState != string(flows.StateConsentMissing) {
		t.Fatalf("profile = %+v, want saved as consent-missing", p)
	}
}

// TestWizardConsentCountdownSkip: after the admin consents, the wizard says
// consent can take minutes and counts down the wait; s skips it, and the
// setup ends on the status command to run later.
func TestWizardConsentCountdownSkip(t *testing.T) {
	t.Setenv(flows.ConsentWaitEnv, "10m")
	w := slowConsentWizard(t, newClock()) // the clock stands still: no consent arrives

	w.waitFor(t, "✓ Admin consent granted", "Entra can take a few minutes", "every 10s", "left", "Press s to skip")
	w.waitFor(t, "9:5") // 10 minutes, counting down
	w.press('s')
	requireConsentLate(t, w)
}

// TestWizardConsentWaitEnv: MAILGRANT_CONSENT_WAIT sets the wizard's wait,
// as the setup command's: a short one ends by itself on the status command.
func TestWizardConsentWaitEnv(t *testing.T) {
	t.Setenv(flows.ConsentWaitEnv, "300ms")
	w := slowConsentWizard(t, newClock())
	requireConsentLate(t, w)
}

// TestWizardConsentArrives: the wizard keeps asking during the countdown,
// and goes on as soon as the consent reaches the token.
func TestWizardConsentArrives(t *testing.T) {
	t.Setenv(flows.ConsentWaitEnv, "20s") // a request about every second
	clk := newClock()
	w := slowConsentWizard(t, clk)
	w.waitFor(t, "Entra can take a few minutes", "left")
	clk.Advance(sandbox.SlowConsentDelay)
	w.waitFor(t, "token mailer")
	out, screen := w.finish(t, tea.KeyEnter)
	if !out.Completed || out.Err != nil {
		t.Fatalf("outcome = %+v, want authorized", out)
	}
	requireContains(t, screen, "Authorized mailer (send-as-any)")
	if p, _ := w.loadProfile(t, "mailer"); p.LastState != string(flows.StateAuthorized) {
		t.Fatalf("profile saved as %q, want authorized", p.LastState)
	}
}

// TestWizardConsentWaitBadEnv: a MAILGRANT_CONSENT_WAIT that is not a
// duration is named, with the fix, as the setup command names it.
func TestWizardConsentWaitBadEnv(t *testing.T) {
	t.Setenv(flows.ConsentWaitEnv, "soon")
	w := slowConsentWizard(t, newClock())
	w.waitFor(t, flows.ConsentWaitEnv, "use a Go duration such as 3m")
	w.requireNothingSaved(t)
}
