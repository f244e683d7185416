package flows

import (
	"context"
	"fmt"

	"github.com/mailgrant/mailgrant/store"
)

// DeleteProfile removes every secret of p from secrets (its store), then p
// from profiles.json in dir: the secrets first, so a store that fails (a
// locked keyring, a wrong passphrase) keeps the profile, and the delete can
// be run again; a profile is never gone while secrets of it remain. It
// holds the profile's lock, so a token refresh running meanwhile cannot
// store a rotated refresh token after the delete. The command line and the
// wizard both call it.
func DeleteProfile(ctx context.Context, dir string, secrets Secrets, p store.Profile) error {
	unlock, err := store.ProfileLocker{Dir: dir}.LockProfile(ctx, p.Name)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Code: CodeCancelled, State: StateError, Message: "cancelled; nothing was deleted", Err: ctx.Err()}
		}
		return &Error{Code: CodeLock, State: StateError, Message: "cannot lock the profile: " + err.Error(), Hint: "check the config directory's permissions", Err: err}
	}
	defer unlock()
	for _, k := range store.Kinds {
		if err := secrets.Delete(p.Name, k); err != nil {
			return &Error{
				Code: CodeKeyring, State: StateError,
				Message: fmt.Sprintf("cannot delete %s/%s from its store (%s): %v", p.Name, k, p.SecretsStore(), err),
				Hint:    "make the store reachable (unlock the keyring, or give the encrypted file's passphrase) and delete again; the profile is kept until its secrets are gone",
				Err:     err,
			}
		}
	}
	err = store.UpdateProfiles(dir, func(ps *store.Profiles) error {
		ps.Remove(p.Name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove %s from profiles.json (its secrets are already deleted): %w", p.Name, err)
	}
	return nil
}
