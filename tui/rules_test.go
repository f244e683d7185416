package tui_test

import (
	"testing"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// lockedOnDelete is a store that keeps its secrets but cannot delete them,
// as a keyring locked after the wizard started.
type lockedOnDelete struct{ store.Secrets }

func (lockedOnDelete) Delete(string, store.Kind) error {
	return &store.KeyringError{Op: "delete", Cause: "locked", Hint: "unlock it"}
}

// TestHomeDeleteKeepsProfileWhenStoreFails: the home screen deletes with
// flows.DeleteProfile, so a store that fails keeps the profile and says,
// as the command line does, how to finish the delete.
func TestHomeDeleteKeepsProfileWhenStoreFails(t *testing.T) {
	// Given a stored profile whose store then refuses to delete.
	w := startWizardWith(t, func(d *tui.Deps, srv *sandbox.Server) {
		seedApp(t, d, "daemon", store.SendAsAny, sandbox.DaemonApp, sandbox.DaemonApp.Secret)
		d.Secrets = lockedOnDelete{d.Secrets}
	})
	w.waitFor(t, "mailgrant profiles", "daemon")

	// When it is deleted.
	w.press('x')
	w.waitFor(t, "Delete profile daemon")
	w.press('y')

	// Then the screen says why and what to do, and the profile is kept.
	w.waitFor(t, "cannot delete daemon/refresh-token from its store (keyring)", "delete again; the profile is kept", "Code: keyring")
	if _, ok := w.loadProfile(t, "daemon"); !ok {
		t.Fatal("the profile was removed although its secrets remain")
	}
	w.requireSecret(t, "daemon", store.KindClientSecret)
	w.finish(t, 'q')
}
