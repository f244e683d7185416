package flows

import (
	"fmt"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// Save keeps a verified authorization: the secrets first (refresh token,
// client secret), then the profile. A profile is never saved pointing at
// secrets that were not stored. Save is called only after the new token was
// verified, so a failed or cancelled re-authorization leaves the working one.
func Save(dir string, secrets Secrets, p store.Profile, tok *Token, clientSecret string) (store.Profile, error) {
	if err := ValidateProfile(p); err != nil {
		return p, err
	}
	if tok != nil && tok.RefreshToken != "" {
		if err := secrets.Set(p.Name, store.KindRefreshToken, tok.RefreshToken); err != nil {
			return p, &Error{Code: "keyring", State: StateError, Message: "could not store the refresh token in the keyring: " + err.Error(), Hint: keyringHint(err), Err: err}
		}
	}
	if clientSecret != "" {
		if err := secrets.Set(p.Name, store.KindClientSecret, clientSecret); err != nil {
			return p, &Error{Code: "keyring", State: StateError, Message: "could not store the client secret in the keyring: " + err.Error(), Hint: keyringHint(err), Err: err}
		}
	}
	err := store.UpdateProfiles(dir, func(ps *store.Profiles) error {
		now := time.Now().UTC()
		if old, ok := ps.Get(p.Name); ok && !old.CreatedAt.IsZero() {
			p.CreatedAt = old.CreatedAt
		} else if p.CreatedAt.IsZero() {
			p.CreatedAt = now
		}
		p.AuthorizedAt = &now
		if tok != nil && tok.RefreshToken != "" {
			p.RefreshRotatedAt = &now
		}
		p.LastCheckedAt = &now
		p.LastState = string(StateAuthorized)
		ps.Put(p)
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("save profile: %w", err)
	}
	return p, nil
}
