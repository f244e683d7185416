package tui_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// clearField empties the focused field (ctrl+u deletes to its start).
func (w *wizard) clearField() { w.tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}) }

// seedBig stores a send-as-any profile of the sandbox app that may be
// granted Mail.Send and Mail.ReadWrite, with only Mail.Send required and
// no admin consent yet.
func seedBig(t *testing.T) func(*tui.Deps, *sandbox.Server) {
	return func(d *tui.Deps, _ *sandbox.Server) {
		seedApp(t, d, "big", store.SendAsAny, sandbox.LargeMailApp, sandbox.LargeMailApp.Secret)
	}
}

func TestEditFromSavesWithoutReauth(t *testing.T) {
	// Given a working send-as-any profile with no From.
	w := startWizardWith(t, seedThree(t))
	w.waitFor(t, "mailgrant profiles", "daemon")
	before, _ := w.loadProfile(t, "daemon")

	// When e opens its edit screen, prefilled, and From is typed (first
	// something invalid, which is refused as typed).
	w.press('e')
	w.waitFor(t, "Edit daemon (send-as-any)", "Permissions", "Mail.Send", "From", "Reply-To")
	w.press(tea.KeyTab)
	w.press(tea.KeyTab)
	w.tm.Type("not-an-address")
	w.waitFor(t, "✗ from:")
	w.clearField()
	w.tm.Type(sandbox.MeganBowen.UPN)
	w.submit()

	// Then it is saved at once, without a sign-in or a token request, and
	// the list shows it.
	w.waitFor(t, "mailgrant profiles", "Saved daemon (no new sign-in or consent needed)")
	out, screen := w.finish(t, 'q')
	if out.Err != nil || out.Cancelled {
		t.Fatalf("outcome = %+v", out)
	}
	requireContains(t, screen, "from: (none) → "+sandbox.MeganBowen.UPN, "From "+sandbox.MeganBowen.UPN)
	p, _ := w.loadProfile(t, "daemon")
	if p.From != sandbox.MeganBowen.UPN {
		t.Errorf("From = %q, want %s", p.From, sandbox.MeganBowen.UPN)
	}
	if p.LastState != before.LastState || !slices.Equal(p.Permissions, before.Permissions) {
		t.Errorf("the edit changed more than From: %+v", p)
	}
	if n := w.srv.RequestCount("/"); n != 0 {
		t.Errorf("%d requests to the tenant; an edit of From needs none", n)
	}
}

func TestEditPermissionsNeedsConsentThenReauthorizes(t *testing.T) {
	// Given a profile requiring Mail.Send, and an admin in the browser.
	w := startWizardWith(t, seedBig(t))
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	w.waitFor(t, "mailgrant profiles", "big")

	// When Mail.ReadWrite is added, the screen first says what it needs.
	w.press('e')
	w.waitFor(t, "Edit big")
	w.clearField()
	w.tm.Type("Mail.Send, Mail.ReadWrite")
	w.submit()
	w.waitFor(t, "Needs: new admin consent", "Mail.ReadWrite", "y apply")
	if p, _ := w.loadProfile(t, "big"); len(p.Permissions) != 1 {
		t.Fatalf("the plan already changed the profile: %+v", p.Permissions)
	}

	// And y re-authorizes: admin consent, a token, the check, the save.
	w.press('y')
	w.waitFor(t, "Authorized big (send-as-any")
	w.press(tea.KeyEnter)
	w.waitFor(t, "mailgrant profiles", "Saved big: works.")
	out, _ := w.finish(t, 'q')
	if !out.Completed || out.Err != nil {
		t.Fatalf("outcome = %+v", out)
	}
	p, _ := w.loadProfile(t, "big")
	if !slices.Equal(p.Permissions, []string{"Mail.Send", "Mail.ReadWrite"}) || p.LastState != string(flows.StateAuthorized) {
		t.Errorf("profile = %+v", p)
	}
	visited, _ := os.ReadFile(w.log)
	if !strings.Contains(string(visited), "/v2.0/adminconsent?") {
		t.Errorf("the browser never opened the admin consent page; it visited:\n%s", visited)
	}
}

func TestEditFailedReauthorizationChangesNothing(t *testing.T) {
	// Given a profile whose admin consent will be declined.
	w := startWizardWith(t, seedBig(t))
	w.srv.SetFaults(sandbox.FaultDeclinedConsent)
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	w.waitFor(t, "mailgrant profiles", "big")
	before, _ := w.loadProfile(t, "big")
	secret := w.requireSecret(t, "big", store.KindClientSecret)

	// When Mail.ReadWrite is added and the re-authorization fails.
	w.press('e')
	w.waitFor(t, "Edit big")
	w.clearField()
	w.tm.Type("Mail.Send, Mail.ReadWrite")
	w.submit()
	w.waitFor(t, "Needs: new admin consent")
	w.press('y')
	w.waitFor(t, "consent was declined", "Hint:")

	// Then the stored profile and its secret are as they were.
	out, _ := w.finish(t, 'q')
	if out.Completed {
		t.Fatalf("outcome = %+v, want no save", out)
	}
	p, _ := w.loadProfile(t, "big")
	if !slices.Equal(p.Permissions, before.Permissions) || p.LastState != before.LastState || p.Account != before.Account {
		t.Errorf("profile changed: %+v, was %+v", p, before)
	}
	if got := w.requireSecret(t, "big", store.KindClientSecret); got != secret {
		t.Error("the stored client secret changed")
	}
}

func TestEditEscChangesNothing(t *testing.T) {
	// Given the edit screen with a change under review.
	w := startWizardWith(t, seedBig(t))
	w.waitFor(t, "mailgrant profiles", "big")
	w.press('e')
	w.waitFor(t, "Edit big")
	w.clearField()
	w.tm.Type("Mail.Send, Mail.ReadWrite")
	w.submit()
	w.waitFor(t, "Needs: new admin consent")

	// When n goes back to the form and esc to the list.
	w.press('n')
	w.waitFor(t, "Changes are checked before they are kept")
	w.press(tea.KeyEscape)
	w.waitFor(t, "mailgrant profiles")

	// Then nothing was asked of Entra and nothing changed.
	out, _ := w.finish(t, 'q')
	if out.Err != nil || out.Completed {
		t.Fatalf("outcome = %+v", out)
	}
	if p, _ := w.loadProfile(t, "big"); len(p.Permissions) != 1 {
		t.Errorf("permissions = %v", p.Permissions)
	}
	if n := w.srv.RequestCount("/"); n != 0 {
		t.Errorf("%d requests to the tenant", n)
	}
}

// rotateSecretTo opens the rotation of daemon and submits secret with
// its expiry.
func (w *wizard) rotateSecretTo(t *testing.T, secret, expires string) {
	t.Helper()
	w.waitFor(t, "mailgrant profiles", "daemon")
	w.press('R')
	w.waitFor(t, "Rotate the credential of daemon", "New secret", "Expires")
	w.tm.Type(secret)
	w.press(tea.KeyTab)
	w.tm.Type("2020-01-31")
	w.press(tea.KeyEnter)
	w.waitFor(t, "is in the past")
	w.clearField()
	w.tm.Type(expires)
	w.press(tea.KeyEnter)
}

func TestRotateSecretSwitches(t *testing.T) {
	// Given a working profile and a second secret added to its app.
	w := startWizardWith(t, seedThree(t))
	expires := time.Now().AddDate(1, 0, 0).UTC().Format(time.DateOnly)

	// When R rotates to it with its expiry.
	w.rotateSecretTo(t, sandbox.SecondSecret(sandbox.DaemonApp), expires)

	// Then the profile uses it, with the new expiry, and the old secret is
	// named for deletion.
	w.waitFor(t, "now uses it", "It expires on "+expires)
	w.press(tea.KeyEnter)
	w.waitFor(t, "mailgrant profiles", "Rotated daemon")
	out, screen := w.finish(t, 'q')
	if out.Err != nil {
		t.Fatalf("outcome = %+v", out)
	}
	requireContains(t, screen, "it now uses a client secret, expires "+expires, "Now delete the old secret")
	if got := w.requireSecret(t, "daemon", store.KindClientSecret); got != sandbox.SecondSecret(sandbox.DaemonApp) {
		t.Error("the stored secret is not the new one")
	}
	p, _ := w.loadProfile(t, "daemon")
	if p.CredentialExpiresAt == nil || p.CredentialExpiresAt.Format(time.DateOnly) != expires {
		t.Errorf("expiry = %v, want %s", p.CredentialExpiresAt, expires)
	}
}

func TestRotateBadSecretChangesNothing(t *testing.T) {
	// Given a working profile.
	w := startWizardWith(t, seedThree(t))
	expires := time.Now().AddDate(1, 0, 0).UTC().Format(time.DateOnly)

	// When R is given a secret the app does not have.
	w.rotateSecretTo(t, "Sbx8Q~not-a-secret-of-this-app", expires)

	// Then it says why and that nothing changed.
	w.waitFor(t, "does not work", "AADSTS7000215")
	w.press(tea.KeyEnter)
	w.waitFor(t, "mailgrant profiles", "Nothing rotated: daemon keeps its old credential")
	w.finish(t, 'q')
	if got := w.requireSecret(t, "daemon", store.KindClientSecret); got != sandbox.DaemonApp.Secret {
		t.Error("the stored secret changed")
	}
	if p, _ := w.loadProfile(t, "daemon"); p.CredentialExpiresAt != nil {
		t.Errorf("expiry = %v, want none", p.CredentialExpiresAt)
	}
}

func TestRotateCertificateNamesTheOldOne(t *testing.T) {
	// Given a profile working with an uploaded certificate, and the
	// sandbox's upload standing in for the portal.
	w, oldThumb := certProfile(t, true)
	pem := filepath.Join(t.TempDir(), "certd-new.pem")
	w.waitFor(t, "mailgrant profiles", "certd")

	// When R makes a new certificate written to pem.
	w.press('R')
	w.waitFor(t, "Rotate the credential of certd", "Save public to")
	w.clearField()
	w.tm.Type(pem)
	w.press(tea.KeyEnter)

	// Then the profile switches once a token signed with it works, and the
	// old certificate is named for removal.
	w.waitFor(t, "now uses it", "remove the old certificate")
	w.press(tea.KeyEnter)
	w.waitFor(t, "mailgrant profiles", "Rotated certd")
	_, screen := w.finish(t, 'q')
	p, _ := w.loadProfile(t, "certd")
	if p.CertificateThumbprint == oldThumb || p.CertificateThumbprint == "" {
		t.Fatalf("thumbprint = %q, old %q", p.CertificateThumbprint, oldThumb)
	}
	requireContains(t, screen, "Now remove the old certificate", "thumbprint "+oldThumb+" > Delete", "(thumbprint "+p.CertificateThumbprint+")")
	data, err := os.ReadFile(pem)
	if err != nil || !strings.Contains(string(data), "BEGIN CERTIFICATE") || strings.Contains(string(data), "PRIVATE") {
		t.Fatalf("public certificate file: %v\n%s", err, data)
	}
	if _, err := w.secrets.Get("certd", store.KindCertificateKeyNext); err == nil {
		t.Error("the pending key is still kept after the switch")
	}
}

func TestRotateDelegatedExplains(t *testing.T) {
	// Given a delegated profile.
	w := startWizardWith(t, func(d *tui.Deps, _ *sandbox.Server) {
		err := store.UpdateProfiles(d.ConfigDir, func(ps *store.Profiles) error {
			ps.Put(store.Profile{Name: "mailer", Scenario: store.SendAsUser, Cloud: d.Env.Cloud.Name, Tenant: sandbox.TenantID,
				ClientID: sandbox.PublicApp.ClientID, Account: sandbox.AdeleVance.UPN, Permissions: flows.DefaultPermissions(store.SendAsUser)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	w.waitFor(t, "mailgrant profiles", "mailer")

	// When R is pressed, the list says rotation is for app-only credentials.
	w.press('R')
	w.waitFor(t, "Rotation applies to app-only credentials")
	out, screen := w.finish(t, 'q')
	if out.Err != nil {
		t.Fatalf("outcome = %+v", out)
	}
	if strings.Contains(screen, "Rotate the credential") {
		t.Error("the rotation screen opened for a delegated profile")
	}
}

// signedInMailer runs a setup of send-as-user with perms, signing in as
// the prefilled account, then starts the wizard again on its list.
func signedInMailer(t *testing.T, perms ...string) *wizard {
	t.Helper()
	w := startWizard(t, func(d *tui.Deps) { d.Prefill.Permissions = perms })
	w.signIn(t)
	w.waitFor(t, "token mailer")
	if out, _ := w.finish(t, tea.KeyEnter); !out.Completed {
		t.Fatalf("setup outcome = %+v", out)
	}
	w.deps.Start = tui.StartHome
	w.start(t)
	w.waitFor(t, "mailgrant profiles", "mailer")
	return w
}

func TestEditAccountSignsInAgain(t *testing.T) {
	// Given a delegated profile signed in as Adele.
	w := signedInMailer(t, "Mail.Send", "User.Read")
	before := w.requireSecret(t, "mailer", store.KindRefreshToken)

	// When its account becomes Megan, the screen says a sign-in is needed.
	w.press('e')
	w.waitFor(t, "Edit mailer (send-as-user)")
	w.press(tea.KeyTab)
	w.clearField()
	w.tm.Type(sandbox.MeganBowen.UPN)
	w.submit()
	w.waitFor(t, "Needs: a new sign-in", "opens the browser")

	// And y signs Megan in, checks and saves.
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.MeganBowen.UPN)
	w.press('y')
	w.waitFor(t, "Authorized mailer as "+sandbox.MeganBowen.UPN)
	w.press(tea.KeyEnter)
	w.waitFor(t, "mailgrant profiles", "Saved mailer: works.")
	w.finish(t, 'q')
	p, _ := w.loadProfile(t, "mailer")
	if p.Account != sandbox.MeganBowen.UPN || p.LastState != string(flows.StateAuthorized) {
		t.Errorf("profile = %+v", p)
	}
	if w.requireSecret(t, "mailer", store.KindRefreshToken) == before {
		t.Error("the refresh token was not replaced by Megan's")
	}
}

func TestEditFewerDelegatedPermissionsKeepsTheGrant(t *testing.T) {
	// Given a delegated profile that also asked for Calendars.Read.
	w := signedInMailer(t, "Mail.Send", "User.Read", "Calendars.Read")
	visits := func() int { data, _ := os.ReadFile(w.log); return strings.Count(string(data), "/authorize?") }
	signIns := visits()
	if signIns == 0 {
		t.Fatal("the setup's sign-in is not in the browser log")
	}

	// When Calendars.Read is dropped, a check is enough.
	w.press('e')
	w.waitFor(t, "Edit mailer")
	w.clearField()
	w.tm.Type("Mail.Send, User.Read")
	w.submit()
	w.waitFor(t, "Needs: a check with the new settings", "stored sign-in")
	w.press('y')

	// Then the stored grant is checked and the shorter list saved, with no
	// new sign-in.
	w.waitFor(t, "Authorized mailer")
	w.press(tea.KeyEnter)
	w.waitFor(t, "mailgrant profiles", "Saved mailer")
	w.finish(t, 'q')
	p, _ := w.loadProfile(t, "mailer")
	if !slices.Equal(p.Permissions, []string{"Mail.Send", "User.Read"}) {
		t.Errorf("permissions = %v", p.Permissions)
	}
	if n := visits(); n != signIns {
		t.Errorf("%d new visits to the sign-in page; a shorter list needs none", n-signIns)
	}
}

// certProfile starts the wizard on a send-as-any profile "certd" working
// with an uploaded certificate, and returns its thumbprint. upload says
// whether the sandbox takes new certificates at once (as if the admin
// uploaded them) or never.
func certProfile(t *testing.T, upload bool) (*wizard, string) {
	t.Helper()
	var oldThumb string
	w := startWizardWith(t, func(d *tui.Deps, srv *sandbox.Server) {
		c, err := flows.GenerateCertificate("old", 30*24*time.Hour, 2048, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		oldThumb = c.Thumbprint()
		if err := srv.UploadCertificate(sandbox.DaemonApp.ClientID, c.Leaf.Raw); err != nil {
			t.Fatal(err)
		}
		if err := srv.GrantAdminConsent(sandbox.DaemonApp.ClientID); err != nil {
			t.Fatal(err)
		}
		p := store.Profile{Name: "certd", Scenario: store.SendAsAny, Cloud: d.Env.Cloud.Name, Tenant: sandbox.TenantID,
			ClientID: sandbox.DaemonApp.ClientID, Account: sandbox.AdeleVance.UPN, Permissions: flows.DefaultPermissions(store.SendAsAny)}
		if _, err := flows.SaveApp(context.Background(), d.ConfigDir, d.Secrets, p, flows.AppCredential{Cert: c}); err != nil {
			t.Fatal(err)
		}
		if upload {
			d.UploadCertificate = srv.UploadCertificate
		}
	})
	return w, oldThumb
}

func TestRotateCertificateStopWaitingChangesNothing(t *testing.T) {
	// Given a certificate profile, and a new certificate nobody uploads.
	w, oldThumb := certProfile(t, false)
	pem := filepath.Join(t.TempDir(), "certd-new.pem")
	w.waitFor(t, "mailgrant profiles", "certd")
	oldKey := w.requireSecret(t, "certd", store.KindCertificateKey)

	// When the rotation waits for it, with a countdown, and esc stops it.
	w.press('R')
	w.waitFor(t, "Save public to")
	w.clearField()
	w.tm.Type(pem)
	w.press(tea.KeyEnter)
	w.waitFor(t, "Waiting until a token signed with the new certificate works", "left", "not yet:")
	w.press(tea.KeyEscape)
	w.waitFor(t, "stopped waiting; nothing was switched")

	// Then the profile still uses the old certificate, and the new key is
	// kept for a later run to resume with.
	w.press(tea.KeyEnter)
	w.waitFor(t, "mailgrant profiles", "Nothing rotated")
	w.finish(t, 'q')
	p, _ := w.loadProfile(t, "certd")
	if p.CertificateThumbprint != oldThumb {
		t.Errorf("thumbprint = %q, want the old %q", p.CertificateThumbprint, oldThumb)
	}
	if w.requireSecret(t, "certd", store.KindCertificateKey) != oldKey {
		t.Error("the stored key changed")
	}
	w.requireSecret(t, "certd", store.KindCertificateKeyNext)
}
