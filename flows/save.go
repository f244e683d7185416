package flows

import (
	"context"
	"fmt"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// Save and SaveApp record p.LastState as the profile's state, or authorized
// when it is empty: callers set it from the check they ran. Both take the
// context of the authorization: once it is cancelled they write nothing and
// return an error with code "cancelled" (a write already begun finishes, so
// nothing is left half stored).

// Save keeps a verified delegated authorization: the secrets first (refresh
// token, client secret), then the profile. A profile is never saved pointing
// at secrets that were not stored. Save is called only after the new token
// was verified, so a failed or cancelled re-authorization leaves the working
// one in place.
func Save(ctx context.Context, dir string, secrets Secrets, p store.Profile, tok *Token, clientSecret string) (store.Profile, error) {
	items := map[store.Kind]string{}
	if tok != nil && tok.RefreshToken != "" {
		items[store.KindRefreshToken] = tok.RefreshToken
	}
	if clientSecret != "" {
		items[store.KindClientSecret] = clientSecret
		p.Credential = store.CredentialSecret
	}
	var at time.Time
	if tok != nil {
		at = tok.ObtainedAt
	}
	return save(ctx, dir, secrets, p, items, tok != nil && tok.RefreshToken != "", at)
}

// SaveApp keeps a verified app-only authorization: the client secret or the
// certificate's private key, then the profile (with the certificate's
// thumbprint and expiry).
func SaveApp(ctx context.Context, dir string, secrets Secrets, p store.Profile, cred AppCredential) (store.Profile, error) {
	items := map[store.Kind]string{}
	switch {
	case cred.Cert != nil:
		v, err := cred.Cert.StoredForm()
		if err != nil {
			return p, err
		}
		items[store.KindCertificateKey] = v
		p.Credential = store.CredentialCertificate
		p.CertificateThumbprint = cred.Cert.Thumbprint()
		exp := cred.Cert.Leaf.NotAfter.UTC()
		p.CredentialExpiresAt = &exp
	case cred.Secret != "":
		items[store.KindClientSecret] = cred.Secret
		if p.CertificateThumbprint != "" {
			p.CredentialExpiresAt = nil // it was the certificate's
		}
		p.Credential = store.CredentialSecret
		p.CertificateThumbprint = ""
	default:
		return p, &InputError{Field: "credential", Problem: "no client secret or certificate", Hint: "app-only access needs one of them"}
	}
	return save(ctx, dir, secrets, p, items, false, time.Time{})
}

// save dates the profile at at, the token's time by the Env's clock; a
// zero at (SaveApp, which has no token) means now by the system clock.
func save(ctx context.Context, dir string, secrets Secrets, p store.Profile, items map[store.Kind]string, rotated bool, at time.Time) (store.Profile, error) {
	if err := ctx.Err(); err != nil {
		return p, cancelledSave(err)
	}
	if l, ok := secrets.(store.Located); ok {
		p.Store = l.BackendFor(p.Name) // where the secrets really go
	}
	if err := ValidateProfile(p); err != nil {
		return p, err
	}
	// Under the profile's lock: a token or status running at the same time
	// must not store the rotated refresh token of the old grant over the new
	// one, or cache an access token of the old grant.
	unlock, err := store.ProfileLocker{Dir: dir}.LockProfile(ctx, p.Name)
	if err != nil && ctx.Err() != nil {
		return p, cancelledSave(ctx.Err())
	}
	if err != nil {
		return p, &Error{Code: CodeLock, State: StateError, Message: "cannot lock the profile: " + err.Error(), Hint: "check the config directory's permissions", Err: err}
	}
	defer unlock()
	if err := ctx.Err(); err != nil { // cancelled while waiting for the lock
		return p, cancelledSave(err)
	}
	for _, k := range store.Kinds { // a fixed order
		v, ok := items[k]
		if !ok {
			continue
		}
		if err := secrets.Set(p.Name, k, v); err != nil {
			return p, &Error{Code: CodeKeyring, State: StateError, Message: fmt.Sprintf("could not store the %s in the keyring: %v", k, err), Hint: keyringHint(err), Err: err}
		}
	}
	// An access token cached for the old authorization must not outlive it.
	_ = secrets.Delete(p.Name, store.KindAccessToken)
	err = store.UpdateProfiles(dir, func(ps *store.Profiles) error {
		now := at.UTC()
		if at.IsZero() {
			now = time.Now().UTC()
		}
		if old, ok := ps.Get(p.Name); ok && !old.CreatedAt.IsZero() {
			p.CreatedAt = old.CreatedAt
		} else if p.CreatedAt.IsZero() {
			p.CreatedAt = now
		}
		p.AuthorizedAt = &now
		if rotated {
			p.RefreshRotatedAt = &now
		}
		p.LastCheckedAt = &now
		if p.LastState == "" {
			p.LastState = string(StateAuthorized)
		}
		ps.Put(p)
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("save profile: %w", err)
	}
	// A credential of another kind (a secret replaced by a certificate, or
	// the reverse) is removed once the profile no longer points at it.
	for _, k := range []store.Kind{store.KindRefreshToken, store.KindClientSecret, store.KindCertificateKey} {
		if _, keep := items[k]; !keep {
			_ = secrets.Delete(p.Name, k)
		}
	}
	return p, nil
}

// cancelledSave is why a cancelled authorization stored nothing.
func cancelledSave(err error) *Error {
	return &Error{Code: CodeCancelled, State: StateError, Message: "cancelled; nothing was changed", Err: err}
}

// KeepNewCertificate stores a certificate made in this run whose flow did
// not obtain a token yet (it is not uploaded, or consent is pending), so the
// admin can upload it and check later without another new one. The profile
// is recorded as unauthorized until a check finds otherwise. The command
// line and the wizard both keep it here.
func KeepNewCertificate(ctx context.Context, dir string, secrets Secrets, p store.Profile, c *Certificate) (store.Profile, error) {
	p.LastState = string(StateUnauthorized)
	return SaveApp(ctx, dir, secrets, p, AppCredential{Cert: c})
}
