package flows

import (
	"context"
	"fmt"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// Save and SaveApp record p.LastState as the profile's state, or authorized
// when it is empty: callers set it from the check they ran.

// Save keeps a verified delegated authorization: the secrets first (refresh
// token, client secret), then the profile. A profile is never saved pointing
// at secrets that were not stored. Save is called only after the new token
// was verified, so a failed or cancelled re-authorization leaves the working
// one in place.
func Save(dir string, secrets Secrets, p store.Profile, tok *Token, clientSecret string) (store.Profile, error) {
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
	return save(dir, secrets, p, items, tok != nil && tok.RefreshToken != "", at)
}

// SaveApp keeps a verified app-only authorization: the client secret or the
// certificate's private key, then the profile (with the certificate's
// thumbprint and expiry).
func SaveApp(dir string, secrets Secrets, p store.Profile, cred AppCredential) (store.Profile, error) {
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
	return save(dir, secrets, p, items, false, time.Time{})
}

// save dates the profile at at, the token's time by the Env's clock; a
// zero at (SaveApp, which has no token) means now by the system clock.
func save(dir string, secrets Secrets, p store.Profile, items map[store.Kind]string, rotated bool, at time.Time) (store.Profile, error) {
	if l, ok := secrets.(store.Located); ok {
		p.Store = l.BackendFor(p.Name) // where the secrets really go
	}
	if err := ValidateProfile(p); err != nil {
		return p, err
	}
	// Under the profile's lock: a token or status running at the same time
	// must not store the rotated refresh token of the old grant over the new
	// one, or cache an access token of the old grant.
	unlock, err := store.ProfileLocker{Dir: dir}.LockProfile(context.Background(), p.Name)
	if err != nil {
		return p, &Error{Code: CodeLock, State: StateError, Message: "cannot lock the profile: " + err.Error(), Hint: "check the config directory's permissions", Err: err}
	}
	defer unlock()
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
