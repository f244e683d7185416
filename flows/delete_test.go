package flows_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// undeletable refuses to delete one kind of secret, as a keyring locked
// halfway through would.
type undeletable struct {
	*store.Memory
	kind store.Kind
}

func (u undeletable) Delete(profile string, k store.Kind) error {
	if k == u.kind {
		return &store.KeyringError{Op: "delete", Cause: "locked", Hint: "unlock it"}
	}
	return u.Memory.Delete(profile, k)
}

// TestDeleteProfile: the secrets go first; a store that fails keeps the
// profile (so the delete can be run again) and says so; a held profile lock
// is waited for.
func TestDeleteProfile(t *testing.T) {
	dir, mem := t.TempDir(), store.NewMemory()
	p := appProfile(store.SendAsAny, sandbox.DaemonApp)
	p, err := flows.SaveApp(t.Context(), dir, mem, p, flows.AppCredential{Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	_ = mem.Set(p.Name, store.KindAccessToken, "cached")
	stored := func() bool {
		ps, err := store.LoadProfiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		_, ok := ps.Get(p.Name)
		return ok
	}

	// A store that cannot delete the access token: the profile is kept.
	err = flows.DeleteProfile(t.Context(), dir, undeletable{mem, store.KindAccessToken}, p)
	var fe *flows.Error
	if !errors.As(err, &fe) || fe.Code != "keyring" || !strings.Contains(fe.Message, p.Name+"/access-token") || !strings.Contains(fe.Hint, "the profile is kept until its secrets are gone") {
		t.Fatalf("DeleteProfile with a failing store = %#v", err)
	}
	if !stored() {
		t.Fatal("the profile was removed although a secret of it remains")
	}

	// The lock held by another process (a token refresh): the delete waits,
	// and a cancelled wait deletes nothing.
	unlock, err := store.ProfileLocker{Dir: dir}.LockProfile(t.Context(), p.Name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := flows.DeleteProfile(ctx, dir, mem, p); !errors.As(err, &fe) || fe.Code != "cancelled" {
		t.Fatalf("DeleteProfile while locked and cancelled = %v", err)
	}
	if v, _ := mem.Get(p.Name, store.KindAccessToken); v != "cached" || !stored() {
		t.Fatal("a cancelled delete removed something")
	}
	unlock()

	// A working store: every secret and the profile go.
	if err := flows.DeleteProfile(t.Context(), dir, mem, p); err != nil {
		t.Fatal(err)
	}
	if stored() || mem.Len() != 0 {
		t.Fatalf("after delete: profile stored %v, %d secrets left", stored(), mem.Len())
	}
}
