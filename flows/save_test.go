package flows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestSaveWritesNoProfileWhenSecretsFail: issue 11 item 7. Save stores the
// secrets first and the profile after: when the keyring refuses the secret
// (as a crash between the two steps would leave it), no new profile points
// at a missing secret and an existing profile is left exactly as it was.
func TestSaveWritesNoProfileWhenSecretsFail(t *testing.T) {
	dir := t.TempDir()
	p := delegated("site", sandbox.TenantDomain, sandbox.PublicApp, sandbox.AdeleVance.UPN)
	tok := &flows.Token{AccessToken: "at", RefreshToken: "rt-new", ExpiresAt: time.Now().Add(time.Hour)}

	// A new profile: nothing is saved.
	_, err := flows.Save(t.Context(), dir, failingSecrets{store.NewMemory()}, p, tok, "")
	var fe *flows.Error
	if !errors.As(err, &fe) || fe.Code != "keyring" {
		t.Fatalf("Save = %v, want the keyring's refusal", err)
	}
	ps, err := store.LoadProfiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ps.Get("site"); ok {
		t.Fatal("the profile was saved although its refresh token was not")
	}

	// An existing profile: unchanged by a re-authorization whose secret
	// could not be stored.
	mem := store.NewMemory()
	saved, err := flows.Save(t.Context(), dir, mem, p, &flows.Token{RefreshToken: "rt-old"}, "")
	if err != nil {
		t.Fatal(err)
	}
	p.Account = sandbox.MeganBowen.UPN
	if _, err := flows.Save(t.Context(), dir, failingSecrets{mem}, p, tok, ""); err == nil {
		t.Fatal("Save succeeded with a failing keyring")
	}
	ps, _ = store.LoadProfiles(dir)
	got, _ := ps.Get("site")
	if got.Account != saved.Account || !got.AuthorizedAt.Equal(*saved.AuthorizedAt) {
		t.Fatalf("the stored profile changed: %+v", got)
	}
	if rt, _ := mem.Get("site", store.KindRefreshToken); rt != "rt-old" {
		t.Fatalf("refresh token = %q, want the old one", rt)
	}
}

// TestSaveCancelledChangesNothing: a re-authorization cancelled before its
// save (Ctrl+C after the check) leaves the stored profile and its secrets as
// they were, for Save and SaveApp alike.
func TestSaveCancelledChangesNothing(t *testing.T) {
	// Given a stored delegated profile and a stored app-only one
	dir, mem := t.TempDir(), store.NewMemory()
	p := delegated("site", sandbox.TenantDomain, sandbox.PublicApp, sandbox.AdeleVance.UPN)
	if _, err := flows.Save(t.Context(), dir, mem, p, &flows.Token{RefreshToken: "rt-old"}, ""); err != nil {
		t.Fatal(err)
	}
	app := appProfile(store.SendAsAny, sandbox.DaemonApp)
	if _, err := flows.SaveApp(t.Context(), dir, mem, app, flows.AppCredential{Secret: "secret-old"}); err != nil {
		t.Fatal(err)
	}
	before, err := store.LoadProfiles(dir)
	if err != nil {
		t.Fatal(err)
	}

	// When both are saved anew with a cancelled context
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p.Account = sandbox.MeganBowen.UPN
	_, err = flows.Save(ctx, dir, mem, p, &flows.Token{RefreshToken: "rt-new"}, "")
	app.Account = sandbox.MeganBowen.UPN
	_, aerr := flows.SaveApp(ctx, dir, mem, app, flows.AppCredential{Secret: "secret-new"})

	// Then both refuse as cancelled, and nothing stored changed
	for _, e := range []error{err, aerr} {
		var fe *flows.Error
		if !errors.As(e, &fe) || fe.Code != "cancelled" || !errors.Is(e, context.Canceled) {
			t.Fatalf("save with a cancelled context = %v, want a cancelled error", e)
		}
	}
	after, err := store.LoadProfiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{p.Name, app.Name} {
		b, _ := before.Get(name)
		a, _ := after.Get(name)
		if a.Account != b.Account || !a.AuthorizedAt.Equal(*b.AuthorizedAt) {
			t.Errorf("%s changed: %+v", name, a)
		}
	}
	if rt, _ := mem.Get(p.Name, store.KindRefreshToken); rt != "rt-old" {
		t.Errorf("refresh token = %q, want the old one", rt)
	}
	if cs, _ := mem.Get(app.Name, store.KindClientSecret); cs != "secret-old" {
		t.Errorf("client secret = %q, want the old one", cs)
	}
}

// TestKeepNewCertificate: a certificate whose flow got no token yet is kept
// with its key, and the profile says it is not authorized yet (as the
// command line and the wizard both record it).
func TestKeepNewCertificate(t *testing.T) {
	dir, mem := t.TempDir(), store.NewMemory()
	c, err := flows.GenerateCertificate("mailgrant test", 30*24*time.Hour, 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := appProfile(store.SendAsAny, sandbox.DaemonApp)
	p.LastState = string(flows.StateCredentialExpired) // what the failed token request said
	saved, err := flows.KeepNewCertificate(t.Context(), dir, mem, p, c)
	if err != nil {
		t.Fatal(err)
	}
	if saved.LastState != string(flows.StateUnauthorized) || saved.CertificateThumbprint != c.Thumbprint() || saved.Credential != store.CredentialCertificate {
		t.Fatalf("kept profile: %+v", saved)
	}
	if v, err := mem.Get(p.Name, store.KindCertificateKey); err != nil || v == "" {
		t.Fatalf("the key was not kept: %v", err)
	}
}
