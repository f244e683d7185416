package flows

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// Rotation replaces a profile's client secret or certificate without
// downtime: the new credential is proven with a real token first, and only
// then does the profile switch to it. Until then the old one stays stored
// and in use; a new credential that does not work changes nothing.
//
//	p, err := flows.RotateSecret(ctx, env, dir, secrets, p, newSecret, &expires)
//	c, err := flows.PendingCertificate(secrets, p, ...)  // upload c, then
//	p, old, err := flows.RotateCertificate(ctx, env, dir, secrets, p, c, opts)

// ProveCredential asks for a token with a candidate credential: for an
// app-only profile a client-credentials grant, for a delegated confidential
// profile a refresh with the new secret (the rotated refresh token is
// stored, as every refresh does).
func ProveCredential(ctx context.Context, env *Env, secrets Secrets, p store.Profile, cred AppCredential) (*Token, error) {
	if !p.Scenario.Delegated() {
		return AppToken(ctx, env, p, cred)
	}
	if cred.Cert != nil {
		return nil, &InputError{Field: "new-certificate", Problem: "certificates are for app-only profiles here", Hint: p.Name + " is " + string(p.Scenario) + ": rotate its client secret with --client-secret-stdin"}
	}
	rt, err := secrets.Get(p.Name, store.KindRefreshToken)
	if err != nil {
		return nil, &Error{Code: CodeNoSecret, State: StateUnauthorized, Message: fmt.Sprintf("no refresh token for %q in its store (%s)", p.Name, p.SecretsStore()), Hint: "authorize it: mailgrant reauth PROFILE", Err: err}
	}
	return Refresh(ctx, env.ForProfile(p), p, rt, cred.Secret, func(rotated string) error {
		return secrets.Set(p.Name, store.KindRefreshToken, rotated)
	})
}

// RotateSecret proves a new client secret and then switches the profile to
// it, with the new secret's expiry (nil when unknown: the old date no longer
// applies). If the secret does not work, nothing is changed and the error
// says why.
func RotateSecret(ctx context.Context, env *Env, dir string, secrets Secrets, p store.Profile, secret string, expires *time.Time) (store.Profile, error) {
	if secret == "" {
		return p, &InputError{Field: "client-secret", Problem: "no new client secret given", Hint: "pipe it with --client-secret-stdin, set MAILGRANT_CLIENT_SECRET, or type it when asked"}
	}
	if p.Credential == store.CredentialNone {
		return p, &InputError{Field: "client-secret", Problem: fmt.Sprintf("%s is a public client with no secret to rotate", p.Name), Hint: "nothing to rotate; a public client signs in without a credential"}
	}
	tok, err := ProveCredential(ctx, env, secrets, p, AppCredential{Secret: secret})
	if err != nil {
		return p, newCredentialRefused("client secret", err)
	}
	p = WithNewSecret(p, expires)
	if p.Scenario.Delegated() {
		// The refresh with the new secret already stored the rotated
		// refresh token; keep it with the secret.
		return Save(ctx, dir, secrets, p, &Token{RefreshToken: tok.RefreshToken, ObtainedAt: tok.ObtainedAt}, secret)
	}
	return SaveApp(ctx, dir, secrets, p, AppCredential{Secret: secret})
}

// ParseSecretExpiry reads a client secret's expiry date as the portal shows
// it (YYYY-MM-DD, taken as midnight UTC); empty means unknown (nil). A date
// before today (now) is refused: a new secret that has already expired
// would not work.
func ParseSecretExpiry(s string, now time.Time) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	exp, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil, &InputError{Field: "secret-expires", Problem: fmt.Sprintf("%s is not a date", shown(s)), Hint: "use YYYY-MM-DD, e.g. 2027-05-31 (the Expires column under Certificates & secrets)"}
	}
	exp = exp.UTC()
	if exp.Before(now.UTC().Truncate(24 * time.Hour)) {
		return nil, &InputError{Field: "secret-expires", Problem: fmt.Sprintf("%s is in the past", s), Hint: "give the expiry of the new secret, as the Expires column under Certificates & secrets shows it"}
	}
	return &exp, nil
}

// RemoveOldCredential says where the admin removes the credential a
// rotation replaced, once nothing uses it: the certificate with
// oldThumbprint, or (empty) the old client secret.
func RemoveOldCredential(env *Env, p store.Profile, oldThumbprint string) string {
	portal := "https://" + env.Cloud.Portal
	if oldThumbprint != "" {
		return fmt.Sprintf("Now remove the old certificate: %s > App registrations > %s > Certificates & secrets > Certificates > thumbprint %s > Delete.", portal, p.ClientID, oldThumbprint)
	}
	return fmt.Sprintf("Now delete the old secret: %s > App registrations > %s > Certificates & secrets > Client secrets (once no other program uses it).", portal, p.ClientID)
}

// WritePendingCertificate writes a rotation's new certificate (its public
// part, for upload) to path, as a new file (WriteNewFile: never
// following a link, replacing a file only with force). A resumed rotation
// whose file already holds this certificate leaves it: already is true.
func WritePendingCertificate(path string, c *Certificate, resumed, force bool) (already bool, err error) {
	if old, rerr := os.ReadFile(path); resumed && rerr == nil && bytes.Equal(old, c.CertPEM()) {
		return true, nil
	}
	return false, WriteNewFile("new-certificate", path, c.CertPEM(), 0o644, force)
}

// newCredentialRefused wraps why a new credential did not work, saying that
// the old one is still in use.
func newCredentialRefused(what string, err error) error {
	fe := *AsError(err)
	fe.Message = fmt.Sprintf("the new %s does not work (%s); nothing was changed, the profile still uses the old one", what, fe.Message)
	return &fe
}

// PendingCertificate returns the certificate a rotation is waiting on: the
// one kept from an interrupted rotation, or a new one made by generate and
// kept (with its key) in the keyring until it is proven. resumed is true for
// the kept one.
func PendingCertificate(secrets Secrets, p store.Profile, now time.Time, generate func() (*Certificate, error)) (c *Certificate, resumed bool, err error) {
	v, err := secrets.Get(p.Name, store.KindCertificateKeyNext)
	if err == nil {
		if c, perr := ParseStoredCertificate(v); perr == nil && CheckCertificateUsable(c, now) == nil {
			return c, true, nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, &Error{Code: CodeKeyring, State: StateError, Message: "cannot read the keyring: " + err.Error(), Hint: keyringHint(err), Err: err}
	}
	if c, err = generate(); err != nil {
		return nil, false, err
	}
	stored, err := c.StoredForm()
	if err != nil {
		return nil, false, err
	}
	if err := secrets.Set(p.Name, store.KindCertificateKeyNext, stored); err != nil {
		return nil, false, &Error{Code: CodeKeyring, State: StateError, Message: fmt.Sprintf("could not keep the new certificate's key in the keyring: %v", err), Hint: keyringHint(err), Err: err}
	}
	return c, false, nil
}

// PollOptions configure waiting for something Entra applies with a delay
// (a new certificate, an admin consent).
type PollOptions struct {
	// Interval is the time between attempts; default 10 seconds.
	Interval time.Duration
	// Timeout is how long to keep trying; default 10 minutes.
	Timeout time.Duration
	// Waiting, when set, is called after each failed attempt with its error
	// and the time left.
	Waiting func(err error, left time.Duration)
	// Skip, when set, ends the wait early when it receives.
	Skip <-chan struct{}
}

func (o PollOptions) withDefaults() PollOptions {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	return o
}

// errSkipped ends a poll that the user skipped.
var errSkipped = errors.New("skipped")

// poll calls try until it succeeds, ctx ends, the time is up or the wait is
// skipped; it returns try's last error.
func poll(ctx context.Context, env *Env, o PollOptions, try func() error) error {
	o = o.withDefaults()
	deadline := env.Now().Add(o.Timeout)
	for {
		err := try()
		if err == nil {
			return nil
		}
		left := deadline.Sub(env.Now())
		if left <= 0 {
			return err
		}
		if o.Waiting != nil {
			o.Waiting(err, left)
		}
		select {
		case <-ctx.Done():
			return &Error{Code: CodeCancelled, State: StateError, Message: "cancelled while waiting", Err: ctx.Err()}
		case <-o.Skip:
			return fmt.Errorf("%w: %w", errSkipped, err)
		case <-env.after(min(o.Interval, left)):
		}
	}
}

// IsSkipped reports whether a wait ended because the user skipped it.
func IsSkipped(err error) bool { return errors.Is(err, errSkipped) }

// RotateCertificate waits until a client-credentials token signed with the
// new certificate works (the admin uploads it meanwhile), then switches the
// profile to it and returns the old certificate's thumbprint, for the admin
// to remove. Until then the old certificate stays in use; on timeout or
// cancel nothing is switched and the new key stays kept for a later run.
func RotateCertificate(ctx context.Context, env *Env, dir string, secrets Secrets, p store.Profile, c *Certificate, o PollOptions) (store.Profile, string, error) {
	if p.Scenario.Delegated() {
		return p, "", &InputError{Field: "new-certificate", Problem: "certificates are for app-only profiles here", Hint: p.Name + " is " + string(p.Scenario) + ": rotate its client secret with --client-secret-stdin"}
	}
	old := p.CertificateThumbprint
	err := poll(ctx, env, o, func() error {
		_, err := AppToken(ctx, env, p, AppCredential{Cert: c})
		return err
	})
	if err != nil {
		return p, "", newCredentialRefused("certificate", err)
	}
	saved, err := SaveApp(ctx, dir, secrets, p, AppCredential{Cert: c})
	if err != nil {
		return p, "", err
	}
	_ = secrets.Delete(p.Name, store.KindCertificateKeyNext)
	return saved, old, nil
}
