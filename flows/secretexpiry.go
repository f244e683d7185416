package flows

import (
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// WithNewSecret is p about to switch to a new client secret (rotate, or
// reauth with a secret given anew): the credential's expiry becomes the new
// secret's (nil when unknown), never the date of the secret or certificate
// it replaces.
func WithNewSecret(p store.Profile, expires *time.Time) store.Profile {
	p.CredentialExpiresAt = expires
	p.CertificateThumbprint = ""
	return p
}

// NewSecret is p about to store the client secret secret: when secret is
// given and differs from the one stored for p (a secret given anew, in
// reauth or the wizard), p switches to it with expiry expires
// (WithNewSecret) and replaced is true; otherwise p is returned unchanged.
// A secret that cannot be read counts as replaced: then the old date is
// dropped rather than kept for a secret it may not belong to.
func NewSecret(secrets Secrets, p store.Profile, secret string, expires *time.Time) (_ store.Profile, replaced bool) {
	if secret == "" {
		return p, false
	}
	if old, err := secrets.Get(p.Name, store.KindClientSecret); err == nil && old == secret {
		return p, false
	}
	return WithNewSecret(p, expires), true
}
