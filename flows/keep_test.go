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
