package tui_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// seedApp saves an app-only profile with a client secret, as a finished
// setup would, then forgets its last check so the list starts unchecked.
func seedApp(t *testing.T, d *tui.Deps, name string, sc store.Scenario, app sandbox.App, secret string) {
	t.Helper()
	p := store.Profile{
		Name: name, Scenario: sc, Cloud: d.Env.Cloud.Name, Tenant: sandbox.TenantID, ClientID: app.ClientID,
		Account: sandbox.AdeleVance.UPN, Permissions: flows.DefaultPermissions(sc),
	}
	if sc == store.RBAC {
		p.OutOfScopeMailbox = sandbox.AlexWilber.UPN
	}
	if _, err := flows.SaveApp(t.Context(), d.ConfigDir, d.Secrets, p, flows.AppCredential{Secret: secret}); err != nil {
		t.Fatal(err)
	}
	err := store.UpdateProfiles(d.ConfigDir, func(ps *store.Profiles) error {
		p, _ := ps.Get(name)
		p.LastState, p.LastCheckedAt = "", nil
		ps.Put(p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// seedThree stores three app-only profiles: two that work and one whose
// secret is wrong.
func seedThree(t *testing.T) func(*tui.Deps, *sandbox.Server) {
	return func(d *tui.Deps, srv *sandbox.Server) {
		if err := srv.GrantAdminConsent(sandbox.DaemonApp.ClientID); err != nil {
			t.Fatal(err)
		}
		seedApp(t, d, "daemon", store.SendAsAny, sandbox.DaemonApp, sandbox.DaemonApp.Secret)
		seedApp(t, d, "scoped", store.RBAC, sandbox.RBACApp, sandbox.RBACApp.Secret)
		seedApp(t, d, "wrong", store.SendAsAny, sandbox.DaemonApp, "not-the-secret")
	}
}

func TestHomeCheckAll(t *testing.T) {
	// Given three profiles never checked.
	w := startWizardWith(t, seedThree(t))
	w.waitFor(t, "mailgrant profiles", "daemon", "scoped", "wrong", "never")

	// When c checks them all.
	w.press('c')

	// Then each state is shown as a symbol and a word, and recorded.
	w.waitFor(t, "Checked 3/3")
	out, screen := w.finish(t, 'q')
	if out.Err != nil || out.Cancelled {
		t.Fatalf("outcome = %+v", out)
	}
	if n := strings.Count(screen, "✓ works"); n != 2 {
		t.Errorf("%d profiles shown authorized, want 2:\n%s", n, screen)
	}
	requireContains(t, screen, "! secret or certificate expired")
	want := map[string]flows.State{"daemon": flows.StateAuthorized, "scoped": flows.StateAuthorized, "wrong": flows.StateCredentialExpired}
	for name, state := range want {
		p, ok := w.loadProfile(t, name)
		if !ok || p.LastState != string(state) || p.LastCheckedAt == nil {
			t.Errorf("%s: recorded %q at %v, want %s", name, p.LastState, p.LastCheckedAt, state)
		}
	}
}

func TestHomeDelete(t *testing.T) {
	// Given three profiles, the cursor on the first (daemon).
	w := startWizardWith(t, seedThree(t))
	w.waitFor(t, "mailgrant profiles", "daemon")

	// When x is answered n, nothing changes.
	w.press('x')
	w.waitFor(t, "Delete profile daemon", "y/n")
	w.press('n')
	w.waitFor(t, "Nothing deleted")
	if _, ok := w.loadProfile(t, "daemon"); !ok {
		t.Fatal("n deleted the profile")
	}
	w.requireSecret(t, "daemon", store.KindClientSecret)

	// When x is answered y, the keyring items and the profile go, and the
	// screen says what mailgrant cannot revoke.
	w.press('x')
	w.waitFor(t, "Delete profile daemon")
	w.press('y')
	w.waitFor(t, "Deleted daemon", "cannot revoke")
	out, screen := w.finish(t, 'q')
	if out.Err != nil {
		t.Fatalf("outcome = %+v", out)
	}
	requireContains(t, screen, "admin consent stays", "the secret stays valid")
	if _, ok := w.loadProfile(t, "daemon"); ok {
		t.Error("the profile is still in profiles.json")
	}
	for _, k := range store.Kinds {
		if _, err := w.secrets.Get("daemon", k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("keyring item daemon/%s still there (%v)", k, err)
		}
	}
	w.requireSecret(t, "scoped", store.KindClientSecret)
}

func TestStatusWithTestSend(t *testing.T) {
	// Given a working send-as-any profile.
	w := startWizardWith(t, seedThree(t))
	w.waitFor(t, "mailgrant profiles", "daemon")

	// When its status is opened, then a test message is asked for.
	w.press(tea.KeyEnter)
	w.waitFor(t, "Status of daemon", "Recorded in profiles.json")
	w.press('t')
	w.waitFor(t, "Test message to:")
	w.tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	w.tm.Type("not-an-address")
	w.press(tea.KeyEnter)
	w.waitFor(t, "test-send-to:")
	w.tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	w.tm.Type(sandbox.MeganBowen.UPN)
	w.press(tea.KeyEnter)

	// Then the check runs again with the test message, which Graph took.
	w.waitFor(t, "Graph accepted a message")
	out, screen := w.finish(t, 'q')
	if out.Err != nil || out.Cancelled || out.Completed {
		t.Fatalf("outcome = %+v, want a plain exit", out)
	}
	requireContains(t, screen, "✓ Token obtained", "✓ Required permissions", "✓ Test message", "Status: ✓ authorized")
	sent := w.srv.Sent()
	if !slices.ContainsFunc(sent, func(m sandbox.SentMessage) bool {
		return slices.Contains(m.To, sandbox.MeganBowen.UPN) && m.From == sandbox.AdeleVance.UPN
	}) {
		t.Errorf("no test message to %s in %+v", sandbox.MeganBowen.UPN, sent)
	}
}

func TestHomeReauthAppOnly(t *testing.T) {
	// Given a stored send-as-any profile.
	w := startWizardWith(t, seedThree(t))
	w.waitFor(t, "mailgrant profiles", "daemon")

	// When r re-authorizes it (after a confirmation), its stored secret is
	// used again.
	w.press('r')
	w.waitFor(t, "Re-authorize daemon?")
	w.press('y')
	w.waitFor(t, "token daemon", "Authorized daemon (send-as-any)")

	// Then finishing returns to the list, which says what was saved.
	w.press(tea.KeyEnter)
	w.waitFor(t, "mailgrant profiles", "Saved daemon: works.")
	out, _ := w.finish(t, 'q')
	if !out.Completed || out.Err != nil || out.Cancelled || out.Profile != "daemon" {
		t.Fatalf("outcome = %+v", out)
	}
}
