package flows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestRecordChecks: a check's outcome goes into the profile as it is in
// profiles.json now (an edit made during the check is kept), and a profile
// deleted during the check is not re-created.
func TestRecordChecks(t *testing.T) {
	dir, mem := t.TempDir(), store.NewMemory()
	a := appProfile(store.SendAsAny, sandbox.DaemonApp)
	b := appProfile(store.SendAsAny, sandbox.DaemonApp)
	b.Name = "other"
	for _, p := range []store.Profile{a, b} {
		if _, err := flows.SaveApp(t.Context(), dir, mem, p, flows.AppCredential{Secret: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	stA := &flows.Status{Name: a.Name, State: flows.StateConsentMissing, CheckedAt: at, Rotated: true}
	stB := &flows.Status{Name: b.Name, State: flows.StateAuthorized, CheckedAt: at}

	// While the checks run, a is edited and b is deleted.
	err := store.UpdateProfiles(dir, func(ps *store.Profiles) error {
		p, _ := ps.Get(a.Name)
		p.From = "shared@contoso.com"
		ps.Put(p)
		ps.Remove(b.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = flows.RecordChecks(dir, stA, stB)
	if !errors.Is(err, flows.ErrProfileGone) || !strings.Contains(err.Error(), b.Name) {
		t.Fatalf("RecordChecks = %v, want b named as gone", err)
	}
	ps, err := store.LoadProfiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ps.Get(b.Name); ok {
		t.Error("the deleted profile was re-created")
	}
	got, _ := ps.Get(a.Name)
	if got.LastState != string(flows.StateConsentMissing) || got.LastCheckedAt == nil || !got.LastCheckedAt.Equal(at) || got.RefreshRotatedAt == nil || !got.RefreshRotatedAt.Equal(at) {
		t.Errorf("recorded %q at %v (rotated %v)", got.LastState, got.LastCheckedAt, got.RefreshRotatedAt)
	}
	if got.From != "shared@contoso.com" {
		t.Error("recording the check undid an edit made meanwhile")
	}
	if err := flows.RecordChecks(dir, stA); err != nil {
		t.Errorf("RecordChecks of a stored profile = %v", err)
	}
}

// TestRecordRotation: token and send note a rotated refresh token in the
// stored profile, and never re-create one deleted meanwhile.
func TestRecordRotation(t *testing.T) {
	dir, mem := t.TempDir(), store.NewMemory()
	p := delegated("site", sandbox.TenantDomain, sandbox.PublicApp, sandbox.AdeleVance.UPN)
	if _, err := flows.Save(t.Context(), dir, mem, p, &flows.Token{RefreshToken: "rt"}, ""); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	if err := flows.RecordRotation(dir, p.Name, at); err != nil {
		t.Fatal(err)
	}
	if err := flows.RecordRotation(dir, "deleted", at); err != nil {
		t.Fatal(err)
	}
	ps, _ := store.LoadProfiles(dir)
	if got, _ := ps.Get(p.Name); got.RefreshRotatedAt == nil || !got.RefreshRotatedAt.Equal(at) {
		t.Errorf("rotation recorded at %v, want %v", got.RefreshRotatedAt, at)
	}
	if _, ok := ps.Get("deleted"); ok || len(ps.List) != 1 {
		t.Errorf("a rotation re-created a deleted profile: %+v", ps.List)
	}
}
