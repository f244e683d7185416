package flows

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mailgrant/mailgrant/store"
)

// AppCredential is an app-only profile's client credential: a secret or a
// certificate. Its String method masks the secret.
type AppCredential struct {
	// Secret is the client secret's value.
	Secret string
	// Cert is the certificate with its private key.
	Cert *Certificate
}

// String masks the secret.
func (c AppCredential) String() string {
	if c.Cert != nil {
		return c.Cert.String()
	}
	return "client secret " + Mask(c.Secret)
}

// GoString masks the secret for %#v too.
func (c AppCredential) GoString() string { return c.String() }

// LoadAppCredential reads an app-only profile's credential from the keyring.
func LoadAppCredential(secrets Secrets, p store.Profile) (AppCredential, error) {
	kind := store.KindClientSecret
	if p.Credential == store.CredentialCertificate {
		kind = store.KindCertificateKey
	}
	v, err := secrets.Get(p.Name, kind)
	if errors.Is(err, store.ErrNotFound) {
		return AppCredential{}, &Error{Code: CodeNoSecret, State: StateUnauthorized,
			Message: fmt.Sprintf("no %s for %q in its store (%s)", kind, p.Name, p.SecretsStore()),
			Hint:    "authorize it again: mailgrant reauth PROFILE"}
	}
	if err != nil {
		return AppCredential{}, &Error{Code: CodeKeyring, State: StateError, Message: "cannot read the stored secret: " + err.Error(), Hint: keyringHint(err), Err: err}
	}
	if kind == store.KindClientSecret {
		return AppCredential{Secret: v}, nil
	}
	c, err := ParseStoredCertificate(v)
	if err != nil {
		return AppCredential{}, &Error{Code: CodeKeyring, State: StateUnauthorized, Message: err.Error(), Hint: "authorize it again: mailgrant reauth PROFILE", Err: err}
	}
	return AppCredential{Cert: c}, nil
}

// assertionAudience is the aud of a client assertion: the token endpoint
// actually called (reference §6), as MSAL does. With MAILGRANT_LOGIN_HOST
// set (a proxy or a test tenant) that is the overriding host: the server
// that checks the assertion refuses one made out to another (AADSTS700023).
func (e *Env) assertionAudience(tenant string) string {
	return e.LoginEndpoint(tenant, "oauth2/v2.0/token")
}

// AppToken runs the client-credentials grant for the cloud's Graph resource
// (https://graph.microsoft.com/.default in the global cloud). There is never
// a refresh token.
func AppToken(ctx context.Context, env *Env, p store.Profile, cred AppCredential) (*Token, error) {
	env = env.ForProfile(p)
	conf := clientcredentials.Config{
		ClientID:     p.ClientID,
		ClientSecret: cred.Secret,
		TokenURL:     env.LoginEndpoint(p.Tenant, "oauth2/v2.0/token"),
		Scopes:       []string{env.GraphResource() + "/.default"},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	switch {
	case cred.Cert != nil:
		if err := CheckCertificateUsable(cred.Cert, env.Now()); err != nil {
			return nil, &Error{Code: CodeCertificateExpired, State: StateCredentialExpired, Message: AsError(err).Message, Hint: "create a new certificate (mailgrant reauth PROFILE offers one), upload it, and re-authorize", Err: err}
		}
		assertion, err := cred.Cert.Assertion(p.ClientID, env.assertionAudience(p.Tenant), env.Now())
		if err != nil {
			return nil, err
		}
		conf.EndpointParams = url.Values{
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion},
		}
	case cred.Secret == "":
		return nil, &Error{Code: CodeNoSecret, State: StateUnauthorized, Message: "app-only access needs a client secret or a certificate", Hint: "give one in the wizard, with --client-secret-stdin, or with --certificate-file / --new-certificate"}
	}
	ot, err := conf.Token(env.httpContext(ctx))
	if err != nil {
		return nil, env.tokenError(err)
	}
	return env.fromOAuth(ot), nil
}

// ConsentFlow is a v2 admin-consent request (reference §7): the browser goes
// to the adminconsent URL, an admin accepts, and Entra redirects back to the
// loopback listener.
type ConsentFlow struct {
	url string
	lb  *loopback
}

// StartAdminConsent opens the loopback listener and builds the consent URL
// for the app's application permissions (scope = the resource's /.default).
func StartAdminConsent(_ context.Context, env *Env, p store.Profile, timeout time.Duration) (*ConsentFlow, error) {
	env = env.ForProfile(p)
	lb, err := newLoopback(timeout, pageText{
		subject: pageSubject(p),
		heading: "Consent answer received",
		failed:  "Admin consent not granted",
		lines:   []string{"The admin's answer reached mailgrant. mailgrant is now checking that the permission took effect; this can take a few minutes."},
	})
	if err != nil {
		return nil, err
	}
	q := url.Values{
		"client_id":    {p.ClientID},
		"scope":        {env.GraphResource() + "/.default"},
		"redirect_uri": {lb.redirectURI()},
		"state":        {lb.state},
	}
	return &ConsentFlow{url: env.LoginEndpoint(p.Tenant, "v2.0/adminconsent") + "?" + q.Encode(), lb: lb}, nil
}

// URL is the admin-consent URL to open.
func (c *ConsentFlow) URL() string { return c.url }

// Close stops the listener.
func (c *ConsentFlow) Close() { c.lb.close() }

// Wait blocks until the admin has answered. The tenant in the redirect is
// never used: it can be forged (reference §7).
func (c *ConsentFlow) Wait(ctx context.Context) error {
	return c.lb.wait(ctx, func(_ context.Context, q url.Values) error {
		if q.Get("error") != "" {
			return ParseRedirectError(q)
		}
		if q.Get("admin_consent") != "True" {
			return &Error{Code: CodeNoConsent, State: StateConsentMissing, Message: "the consent redirect did not confirm consent", Hint: "grant consent again, or use the portal's Grant admin consent button"}
		}
		return nil
	})
}

// ConsentWait is how long mailgrant keeps asking for a token after an admin
// consented: Entra can take minutes to put new roles into app-only tokens.
const ConsentWait = 3 * time.Minute

// WaitForConsent asks for app-only tokens until one carries every
// application permission the profile needs, or the wait ends (time up,
// skipped, cancelled). It returns the last token obtained, which may still
// lack permissions: the check that follows names them.
func WaitForConsent(ctx context.Context, env *Env, p store.Profile, cred AppCredential, o PollOptions) (*Token, error) {
	var last *Token
	err := poll(ctx, env, o, func() error {
		tok, err := AppToken(ctx, env, p, cred)
		if err != nil {
			return err
		}
		last = tok
		if NeedsAdminConsent(p, tok) {
			return &Error{Code: CodeConsentPending, State: StateConsentMissing, Message: "the token does not carry the consented permissions yet"}
		}
		return nil
	})
	if last != nil && (err == nil || errors.Is(err, ErrConsentPending) || IsSkipped(err)) {
		return last, nil
	}
	return last, err
}
