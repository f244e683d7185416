package flows_test

import (
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
	_, err := flows.Save(dir, failingSecrets{store.NewMemory()}, p, tok, "")
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
	saved, err := flows.Save(dir, mem, p, &flows.Token{RefreshToken: "rt-old"}, "")
	if err != nil {
		t.Fatal(err)
	}
	p.Account = sandbox.MeganBowen.UPN
	if _, err := flows.Save(dir, failingSecrets{mem}, p, tok, ""); err == nil {
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
