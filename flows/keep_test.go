package flows_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// TestKeep is the one rule for which checked authorizations are stored, as
// the command line and the wizard both apply it.
func TestKeep(t *testing.T) {
	user := store.Profile{Name: "site", Scenario: store.SendAsUser, Account: "adele@contoso.com"}
	app := store.Profile{Name: "daemon", Scenario: store.SendAsAny, Account: "adele@contoso.com"}
	rbac := store.Profile{Name: "scoped", Scenario: store.RBAC, Account: "adele@contoso.com"}
	wrongAccount := []flows.Step{
		{Name: flows.StepToken, Result: flows.StepOK},
		{Name: flows.StepAccount, Result: flows.StepFailed, Err: &flows.Error{Code: "wrong-account", Message: "signed in as alex, not adele"}},
	}
	status := func(s flows.State, steps ...flows.Step) *flows.Status {
		return &flows.Status{State: s, Steps: steps}
	}
	for _, tc := range []struct {
		name   string
		st     *flows.Status
		p      store.Profile
		reauth bool
		keep   bool
	}{
		{"new delegated, authorized", status(flows.StateAuthorized), user, false, true},
		{"new delegated, only consent missing", status(flows.StateConsentMissing), user, false, true},
		{"new delegated, error", status(flows.StateError), user, false, false},
		{"new delegated, wrong account", status(flows.StateError, wrongAccount...), user, false, false},
		{"new delegated, consent missing but wrong account", status(flows.StateConsentMissing, wrongAccount...), user, false, false},
		{"authorized but wrong account", status(flows.StateAuthorized, wrongAccount...), user, false, false},
		{"reauth delegated, authorized", status(flows.StateAuthorized), user, true, true},
		{"reauth delegated, consent missing", status(flows.StateConsentMissing), user, true, false},
		{"reauth delegated, wrong account", status(flows.StateError, wrongAccount...), user, true, false},
		{"new app-only, consent missing", status(flows.StateConsentMissing), app, false, true},
		{"new app-only, test send failed", status(flows.StateError), app, false, true},
		{"new rbac, waiting for the role", status(flows.StatePending), rbac, false, true},
		{"reauth app-only, consent missing", status(flows.StateConsentMissing), app, true, false},
		{"reauth rbac, pending", status(flows.StatePending), rbac, true, false},
		{"reauth app-only, authorized", status(flows.StateAuthorized), app, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := flows.Keep(t.Context(), tc.st, tc.p, tc.reauth)
			if got := err == nil; got != tc.keep {
				t.Fatalf("Keep = %v, want keep %v", err, tc.keep)
			}
			if err != nil && !errors.Is(err, flows.ErrNotKept) {
				t.Fatalf("Keep = %v, does not wrap ErrNotKept", err)
			}
		})
	}

	t.Run("the check's own error says why", func(t *testing.T) {
		st := status(flows.StateError, wrongAccount...)
		st.Error = wrongAccount[1].Err
		err := flows.Keep(t.Context(), st, user, true)
		var fe *flows.Error
		if !errors.As(err, &fe) || fe.Code != "wrong-account" || fe.Message != "signed in as alex, not adele; the stored authorization was left as it was" {
			t.Fatalf("Keep = %#v", err)
		}
		if wrongAccount[1].Err.Message != "signed in as alex, not adele" {
			t.Fatal("Keep changed the check's error")
		}
	})

	t.Run("nothing is kept once cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := flows.Keep(ctx, status(flows.StateAuthorized), user, false)
		var fe *flows.Error
		if !errors.As(err, &fe) || fe.Code != "cancelled" || !errors.Is(err, context.Canceled) || !errors.Is(err, flows.ErrNotKept) {
			t.Fatalf("Keep = %v, want cancelled", err)
		}
	})
}

// TestKeepChecked: a result Keep refuses writes nothing; a kept one is
// stored with the state the check found, for a sign-in and for an app-only
// credential.
func TestKeepChecked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mem := store.NewMemory()
	user := store.Profile{Name: "site", Scenario: store.SendAsUser, Cloud: "global", Tenant: "contoso.onmicrosoft.com", ClientID: "5a4db0c5-0001-4a00-8000-000000000001", Account: "adele@contoso.com", Permissions: []string{"Mail.Send"}, LastState: string(flows.StateAuthorized)}
	refused := &flows.Status{State: flows.StateReauthorize}
	if _, err := flows.KeepChecked(ctx, dir, mem, user, refused, true, flows.Checked{Token: &flows.Token{RefreshToken: "rt-new"}}); !errors.Is(err, flows.ErrNotKept) {
		t.Fatalf("a refused re-authorization: %v", err)
	}
	if _, err := mem.Get("site", store.KindRefreshToken); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused result reached the store: %v", err)
	}
	if ps, err := store.LoadProfiles(dir); err == nil {
		if _, ok := ps.Get("site"); ok {
			t.Fatal("a refused result was recorded in profiles.json")
		}
	}

	saved, err := flows.KeepChecked(ctx, dir, mem, user, &flows.Status{State: flows.StateConsentMissing}, false, flows.Checked{Token: &flows.Token{RefreshToken: "rt-new"}})
	if err != nil || saved.LastState != string(flows.StateConsentMissing) {
		t.Fatalf("a new profile lacking consent: %+v %v", saved, err)
	}
	if v, _ := mem.Get("site", store.KindRefreshToken); v != "rt-new" {
		t.Fatalf("stored refresh token %q", v)
	}

	app := user
	app.Name, app.Scenario = "daemon", store.SendAsAny
	saved, err = flows.KeepChecked(ctx, dir, mem, app, &flows.Status{State: flows.StatePending}, false, flows.Checked{App: &flows.AppCredential{Secret: "s3cret"}})
	if err != nil || saved.LastState != string(flows.StatePending) {
		t.Fatalf("app-only: %+v %v", saved, err)
	}
	if v, _ := mem.Get("daemon", store.KindClientSecret); v != "s3cret" {
		t.Fatalf("stored client secret %q", v)
	}
}
