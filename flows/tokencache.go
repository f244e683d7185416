package flows

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// CacheMinValidity is how long a cached access token must still be valid to
// be handed out; a script gets at least this much use of it.
const CacheMinValidity = 5 * time.Minute

// Locker serializes a profile's token refreshes across processes
// (store.ProfileLocker).
type Locker interface {
	LockProfile(ctx context.Context, name string) (unlock func(), err error)
}

// TokenOptions configure GetToken.
type TokenOptions struct {
	// Lock, when set, is held around reading, redeeming and storing the
	// refresh token.
	Lock Locker
	// UseCache returns the access token kept in the keyring while it is valid
	// for more than CacheMinValidity, and keeps a new one there.
	UseCache bool
}

// cachedToken is the keyring form of an access token (kind access-token).
type cachedToken struct {
	AccessToken string    `json:"access_token"`
	ExpiresAt   time.Time `json:"expires_at"`
	Scopes      []string  `json:"scopes,omitempty"`
	Roles       []string  `json:"roles,omitempty"`
	ClientID    string    `json:"client_id"`
	Tenant      string    `json:"tenant"`
	Account     string    `json:"account"`
}

// GetToken returns an access token for a stored profile: from the cache when
// allowed and fresh enough, else by a refresh (or client credentials) under
// the profile's lock. With the cache, a second process that waited for the
// lock uses the token the first one obtained instead of refreshing again.
func GetToken(ctx context.Context, env *Env, secrets Secrets, p store.Profile, o TokenOptions) (*Token, error) {
	env = env.ForProfile(p)
	if o.UseCache {
		if t := readCache(secrets, p, env.Now()); t != nil {
			return t, nil
		}
	}
	if o.Lock != nil {
		unlock, err := o.Lock.LockProfile(ctx, p.Name)
		if ctx.Err() != nil {
			return nil, &Error{Code: CodeCancelled, Message: "cancelled while waiting for another mailgrant using this profile", State: StateError, Err: ctx.Err()}
		}
		if err != nil {
			return nil, &Error{Code: CodeLock, State: StateError, Message: "cannot lock the profile: " + err.Error(), Hint: "check the config directory's permissions", Err: err}
		}
		defer unlock()
		if o.UseCache {
			if t := readCache(secrets, p, env.Now()); t != nil {
				return t, nil
			}
		}
	}
	tok, err := AccessToken(ctx, env, secrets, p)
	if err != nil {
		return nil, err
	}
	if o.UseCache {
		writeCache(secrets, p, tok)
	}
	return tok, nil
}

// readCache returns the cached token if it belongs to this profile's app and
// tenant and is valid for more than CacheMinValidity.
func readCache(secrets Secrets, p store.Profile, now time.Time) *Token {
	raw, err := secrets.Get(p.Name, store.KindAccessToken)
	if err != nil {
		return nil
	}
	c, err := parseCachedToken(raw)
	if err != nil || c.ClientID != p.ClientID || c.Tenant != p.Tenant || c.Account != p.Account || c.ExpiresAt.Sub(now) <= CacheMinValidity {
		return nil
	}
	return &Token{AccessToken: c.AccessToken, ExpiresAt: c.ExpiresAt, Scopes: c.Scopes, Roles: c.Roles, FromCache: true}
}

// parseCachedToken decodes the keyring form of a cached access token.
func parseCachedToken(raw string) (*cachedToken, error) {
	var c cachedToken
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil, errors.New("cached token is not JSON")
	}
	if c.AccessToken == "" || c.ExpiresAt.IsZero() {
		return nil, errors.New("cached token is incomplete")
	}
	return &c, nil
}

// writeCache keeps the access token; a failure only costs a refresh later.
func writeCache(secrets Secrets, p store.Profile, t *Token) {
	data, err := json.Marshal(cachedToken{AccessToken: t.AccessToken, ExpiresAt: t.ExpiresAt.UTC(), Scopes: t.Scopes, Roles: t.Roles, ClientID: p.ClientID, Tenant: p.Tenant, Account: p.Account})
	if err == nil {
		_ = secrets.Set(p.Name, store.KindAccessToken, string(data))
	}
}
