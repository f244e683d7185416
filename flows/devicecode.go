package flows

import (
	"context"
	"errors"
	"net"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/mailgrant/mailgrant/store"
)

// DeviceFlow is one device-code sign-in (reference §5): the admin opens
// VerificationURI on any device and types UserCode, while Wait polls.
type DeviceFlow struct {
	// UserCode is the code the admin types.
	UserCode string
	// VerificationURI is where to type it.
	VerificationURI string
	// ExpiresAt is when the code stops working.
	ExpiresAt time.Time
	// Interval is the wait between polls Entra asked for.
	Interval time.Duration

	env  *Env
	conf *oauth2.Config
	da   *oauth2.DeviceAuthResponse
}

// DeviceCodeOptions configure StartDeviceCode.
type DeviceCodeOptions struct {
	// ClientSecret is sent when polling for confidential web apps.
	ClientSecret string
}

// StartDeviceCode asks Entra for a device code. It returns at once with the
// code to show.
func StartDeviceCode(ctx context.Context, env *Env, p store.Profile, o DeviceCodeOptions) (*DeviceFlow, error) {
	env = env.ForProfile(p)
	conf := env.oauthConfig(p, o.ClientSecret, "", DelegatedScopes(p))
	da, err := conf.DeviceAuth(env.httpContext(ctx))
	if err != nil {
		return nil, env.tokenError(err)
	}
	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if da.Expiry.IsZero() {
		da.Expiry = env.Now().Add(15 * time.Minute)
	}
	return &DeviceFlow{UserCode: SafeText(da.UserCode), VerificationURI: SafeText(da.VerificationURI), ExpiresAt: da.Expiry, Interval: interval, env: env, conf: conf, da: da}, nil
}

// Wait polls the token endpoint at the interval Entra gave (longer after
// slow_down) until the admin finishes, declines, or the code expires.
func (d *DeviceFlow) Wait(ctx context.Context) (*Token, error) {
	ot, err := d.conf.DeviceAccessToken(d.env.httpContext(ctx), d.da)
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return nil, d.env.tokenError(&oauth2.RetrieveError{ErrorCode: "expired_token", Body: []byte(`{"error":"expired_token"}`)})
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return nil, &Error{Code: CodeCancelled, Message: "device sign-in cancelled", State: StateError, Err: err}
	default:
		return nil, d.env.tokenError(err)
	}
	tok := d.env.fromOAuth(ot)
	if tok.RefreshToken == "" {
		return nil, &Error{Code: CodeNoRefreshToken, Message: "Entra returned no refresh token", Hint: "make sure offline_access is allowed for the app", State: StateError}
	}
	return tok, nil
}

// OnThisMachine reports whether the verification page is on a loopback
// address (the sandbox): then only a browser on this machine can open it,
// not "any device".
func (d *DeviceFlow) OnThisMachine() bool {
	u, err := url.Parse(d.VerificationURI)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "localhost" || ip != nil && ip.IsLoopback()
}
