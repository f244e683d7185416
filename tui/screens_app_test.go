package tui

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// appDetails is a details form for an app-only scenario with the client
// secret field left empty.
func appDetails(t *testing.T, sc store.Scenario) detailsScreen {
	t.Helper()
	return newDetailsScreen(newStyles(), testDeps(t), sc, "")
}

// chooseCredential moves to the credential field and picks c.
func chooseCredential(t *testing.T, s detailsScreen, c credChoice) detailsScreen {
	t.Helper()
	s, _ = s.focusOn(fieldCredential)
	for s.credential() != c {
		s, _ = s.Update(keypress("right"))
	}
	return s
}

// flat is a view without escapes, its wrapped lines joined.
func flat(view string) string { return strings.Join(strings.Fields(ansi.Strip(view)), " ") }

func TestDetailsAppOnlyNeedsSecret(t *testing.T) {
	// Given a send-as-any form with no secret.
	s := appDetails(t, store.SendAsAny)

	// When it is submitted.
	s, cmd := s.Update(keypress("ctrl+s"))

	// Then it stays on the secret, saying why.
	if msg := msgOf(t, cmd); msg != nil {
		if _, ok := msg.(detailsEnteredMsg); ok {
			t.Fatal("submitted without a secret")
		}
	}
	if s.focus != fieldSecret {
		t.Fatalf("focus = %d, want the secret", s.focus)
	}
	if v := flat(s.View()); !strings.Contains(v, "client-secret: is empty") || !strings.Contains(v, "app-only access needs") {
		t.Fatalf("view lacks the error:\n%s", v)
	}

	// With a secret, the profile is emitted with the credential kind.
	s = typeInto(s, "s3cret")
	_, cmd = s.Update(keypress("ctrl+s"))
	msg, ok := msgOf(t, cmd).(detailsEnteredMsg)
	if !ok || msg.ClientSecret != "s3cret" || msg.Profile.Credential != store.CredentialSecret || msg.Profile.Scenario != store.SendAsAny {
		t.Fatalf("emitted %#v", msgOf(t, cmd))
	}
}

func TestDetailsCertificateFileErrors(t *testing.T) {
	// Given a certificate file that does not exist.
	s := chooseCredential(t, appDetails(t, store.SendAsAny), credCertFile)
	s, _ = s.focusOn(fieldCertFile)

	// An empty path is refused as typed-in fields are: on submit, no I/O.
	s, cmd := s.Update(keypress("ctrl+s"))
	if cmd != nil {
		if _, ok := msgOf(t, cmd).(credentialCheckedMsg); ok {
			t.Fatal("an empty path was read")
		}
	}
	if s.focus != fieldCertFile || !strings.Contains(flat(s.View()), "certificate-file: is empty") {
		t.Fatalf("focus %d, view:\n%s", s.focus, flat(s.View()))
	}

	// A missing file is found by the command and shown on its field.
	missing := filepath.Join(t.TempDir(), "nope.pem")
	s = typeInto(s, missing)
	s, cmd = s.Update(keypress("ctrl+s"))
	checked, ok := msgOf(t, cmd).(credentialCheckedMsg)
	if !ok || checked.Err == nil {
		t.Fatalf("submit ran %#v, want a failed file check", msgOf(t, cmd))
	}
	s, cmd = s.Update(checked)
	if msg := msgOf(t, cmd); msg != nil {
		if _, ok := msg.(detailsEnteredMsg); ok {
			t.Fatal("submitted with a missing file")
		}
	}
	if v := flat(s.View()); s.focus != fieldCertFile || !strings.Contains(v, "certificate-file: cannot read "+missing) {
		t.Fatalf("focus %d, view:\n%s", s.focus, v)
	}

	// A late result of an earlier check is dropped.
	if next, _ := s.Update(credentialCheckedMsg{Attempt: checked.Attempt}); next.checking != 0 {
		t.Fatal("stale result acted on")
	}
}

func TestDetailsNewCertificatePath(t *testing.T) {
	s := chooseCredential(t, appDetails(t, store.SendAsAny), credNewCert)

	// The validity is checked as typed.
	s, _ = s.focusOn(fieldCertDays)
	s = clear(s)
	s = typeInto(s, "5000")
	if err := s.inputs[fieldCertDays].Err; err == nil || !strings.Contains(err.Error(), "1 to 1096") {
		t.Fatalf("days error = %v", err)
	}
	s = clear(s)
	s = typeInto(s, "30")

	// A path in a missing directory is refused on its field.
	s, _ = s.focusOn(fieldNewCert)
	s = typeInto(s, filepath.Join(t.TempDir(), "no", "such", "dir", "x.pem"))
	s, cmd := s.Update(keypress("ctrl+s"))
	s, _ = s.Update(msgOf(t, cmd))
	if v := flat(s.View()); s.focus != fieldNewCert || !strings.Contains(v, "new-certificate: the directory") || !strings.Contains(v, "does not exist") {
		t.Fatalf("focus %d, view:\n%s", s.focus, v)
	}

	// A good path submits the request for a new certificate.
	good := filepath.Join(t.TempDir(), "mailer.pem")
	s = clear(s)
	s = typeInto(s, good)
	s, cmd = s.Update(keypress("ctrl+s"))
	_, cmd = s.Update(msgOf(t, cmd))
	msg, ok := msgOf(t, cmd).(detailsEnteredMsg)
	if !ok || msg.NewCertPath != good || msg.NewCertDays != 30 || msg.Profile.Credential != store.CredentialCertificate {
		t.Fatalf("emitted %#v", msgOf(t, cmd))
	}
}

func TestDetailsRBACCrossChecks(t *testing.T) {
	s := appDetails(t, store.RBAC)
	s = s.withSecret("s3cret")
	s, _ = s.focusOn(fieldOutOfScope)
	s = typeInto(s, testAccount)
	s, _ = s.Update(keypress("ctrl+s"))
	if s.focus != fieldOutOfScope || !strings.Contains(flat(s.View()), "out-of-scope: is the test mailbox") {
		t.Fatalf("focus %d, view:\n%s", s.focus, flat(s.View()))
	}
	s = clear(s)
	s = typeInto(s, "not an address")
	if s.inputs[fieldOutOfScope].Err == nil {
		t.Fatal("a bad out-of-scope address is not flagged as typed")
	}
}

func TestStatusValidatesTestAddress(t *testing.T) {
	s, _ := newStatusScreen(newStyles()).start(context.Background(), testDeps(t), store.Profile{Name: "mailer", Scenario: store.SendAsUser, Account: testAccount})
	s, _ = s.Update(statusCheckedMsg{Attempt: s.attempt, Status: &flows.Status{State: flows.StateAuthorized}})
	s, _ = s.Update(keypress("t"))
	s, _ = s.Update(keypress("ctrl+u"))
	for _, r := range "bad@" {
		s, _ = s.Update(keypress(string(r)))
	}
	s, cmd := s.Update(keypress("enter"))
	if cmd != nil || !s.asking || s.running {
		t.Fatal("a bad address started a check")
	}
	if v := flat(s.View()); !strings.Contains(v, "test-send-to:") {
		t.Fatalf("view lacks the error:\n%s", v)
	}
}

// goldenAt compares a root model's view at 80×24 with its golden file.
func goldenAt(t *testing.T, m Model) {
	t.Helper()
	golden.RequireEqual(t, []byte(viewAt(m, 80, 24)))
}

func TestGoldenNewScreens(t *testing.T) {
	noProfiles := profilesLoadedMsg{Profiles: &store.Profiles{Version: store.SchemaVersion}}
	at := time.Date(2025, 3, 4, 15, 4, 0, 0, time.Local)
	t.Run("registration", func(t *testing.T) {
		next, _ := New(context.Background(), testDeps(t)).Update(noProfiles)
		next, _ = next.Update(scenarioChosenMsg{Scenario: store.SendAsAny})
		goldenAt(t, next.(Model))
	})
	t.Run("details-rbac", func(t *testing.T) {
		d := testDeps(t)
		d.Prefill.OutOfScope = "alex.wilber@mailgrant-sandbox.onmicrosoft.com"
		next, _ := New(context.Background(), d).Update(noProfiles)
		next, _ = next.Update(scenarioChosenMsg{Scenario: store.RBAC})
		next, _ = next.Update(registrationClosedMsg{})
		m := next.(Model)
		m.details = chooseCredential(t, m.details, credNewCert)
		goldenAt(t, m)
	})
	t.Run("consent", func(t *testing.T) {
		m := New(context.Background(), testDeps(t))
		m.step = stepAppAuth
		m.appAuth.req = appRequest{Profile: store.Profile{Name: "daemon", Scenario: store.SendAsAny, Permissions: []string{"Mail.Send"}}}
		m.appAuth.attempt, m.appAuth.phase = 1, phaseConsent
		m.appAuth.consentURL = "https://login.microsoftonline.com/" + testTenant + "/v2.0/adminconsent?client_id=" + testClientID + "&redirect_uri=http%3A%2F%2Flocalhost%3A49152&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&state=Xy"
		m.appAuth.setKeys()
		goldenAt(t, m)
	})
	t.Run("device-code", func(t *testing.T) {
		m := authorizing(t)
		m.authorize.device = true
		m.authorize.deviceFlow = &flows.DeviceFlow{UserCode: "K7QP2M9XZ", VerificationURI: "https://microsoft.com/devicelogin", ExpiresAt: at.Add(15 * time.Minute)}
		m.authorize.startedAt, m.authorize.now = at, at.Add(75*time.Second)
		m.authorize.setKeys()
		goldenAt(t, m)
	})
	t.Run("rbac-script", func(t *testing.T) {
		m := New(context.Background(), testDeps(t))
		p := store.Profile{Name: "scoped", Scenario: store.RBAC, ClientID: testClientID, Account: testAccount, OutOfScopeMailbox: "alex.wilber@mailgrant-sandbox.onmicrosoft.com"}
		next, _ := m.toRBAC(p)
		goldenAt(t, next.(Model))
	})
	t.Run("status", func(t *testing.T) {
		m := New(context.Background(), testDeps(t))
		p := store.Profile{Name: "daemon", Scenario: store.SendAsAny, Account: testAccount, Permissions: []string{"Mail.Send"}}
		next, _ := m.toStatus(p)
		m = next.(Model)
		fe := &flows.Error{Code: "consent-missing", Message: "the token lacks the application permission Mail.Send", Hint: "add the application permission under API permissions and have an admin grant consent"}
		st := &flows.Status{State: flows.StateConsentMissing, Error: fe, Steps: []flows.Step{
			{Name: flows.StepToken, Result: flows.StepOK, Detail: "access token valid until 16:04"},
			{Name: flows.StepPermissions, Result: flows.StepFailed, Detail: "missing Mail.Send", Err: fe},
		}}
		next, _ = m.Update(statusCheckedMsg{Attempt: m.status.attempt, Status: st})
		next, _ = next.Update(statusRecordedMsg{Attempt: m.status.attempt})
		next, _ = next.Update(keypress("t"))
		goldenAt(t, next.(Model))
	})
	t.Run("home", func(t *testing.T) {
		exp := at.AddDate(1, 0, 0)
		tok := at.Add(time.Hour)
		ps := &store.Profiles{Version: store.SchemaVersion, List: []store.Profile{
			{Name: "daemon", Scenario: store.SendAsAny, Account: testAccount, Tenant: testTenant, ClientID: testClientID, Credential: store.CredentialCertificate, CredentialExpiresAt: &exp, LastState: "authorized", LastCheckedAt: &at},
			{Name: "wordpress", Scenario: store.SendAsUser, Account: testAccount, Tenant: testTenant, ClientID: testClientID, RefreshRotatedAt: &at, LastState: "reauthorize", LastCheckedAt: &at},
			{Name: "fresh", Scenario: store.Personal, Account: "sam@outlook.com"},
		}}
		next, _ := New(context.Background(), testDeps(t)).Update(profilesLoadedMsg{Profiles: ps})
		m := next.(Model)
		m.home = m.home.remember(&flows.Status{Name: "daemon", TokenExpiresAt: &tok})
		next, _ = m.Update(keypress("x"))
		goldenAt(t, next.(Model))
	})
	t.Run("done-certificate", func(t *testing.T) {
		exp := time.Date(2026, 3, 4, 0, 0, 0, 0, time.Local)
		m := New(context.Background(), testDeps(t))
		p := store.Profile{Name: "daemon", Scenario: store.SendAsAny, Account: testAccount, Credential: store.CredentialCertificate, CertificateThumbprint: "3F2A9C0B7D1E4F5A6B7C8D9E0F1A2B3C4D5E6F70", CredentialExpiresAt: &exp}
		st := &flows.Status{State: flows.StateAuthorized, Steps: []flows.Step{
			{Name: flows.StepToken, Result: flows.StepOK, Detail: "access token valid until 16:04"},
			{Name: flows.StepPermissions, Result: flows.StepOK, Detail: "all present: Mail.Send"},
			{Name: flows.StepSend, Result: flows.StepSkipped, Detail: "no test message requested"},
		}}
		m.step = stepDone
		m.done = newDoneScreen(m.styles, m.deps, p, st, "/home/admin/daemon.pem")
		goldenAt(t, m)
	})
}

func TestDoneOutcomeCarriesState(t *testing.T) {
	fe := &flows.Error{Code: "consent-missing", Message: "missing"}
	s := newDoneScreen(newStyles(), testDeps(t), store.Profile{Name: "x"}, &flows.Status{State: flows.StateConsentMissing, Error: fe}, "")
	if out := s.outcome(); !out.Completed || !errors.Is(out.Err, fe) {
		t.Fatalf("outcome = %+v", out)
	}
}
