package flows

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/mailgrant/mailgrant/flows/clock"
	"github.com/mailgrant/mailgrant/store"
)

// Token is what a grant returns. Its String method masks the secrets, so a
// Token printed by mistake shows no token.
type Token struct {
	// AccessToken is the bearer token for Graph.
	AccessToken string
	// RefreshToken is set for delegated grants that asked for offline_access.
	RefreshToken string
	// ExpiresAt is when the access token expires (from expires_in).
	ExpiresAt time.Time
	// Scopes are the delegated permissions the token response reports, as
	// short names (Mail.Send), without openid, profile, email, offline_access.
	Scopes []string
	// Roles are the application permissions of an app-only token.
	Roles []string
	// Identity is taken from the ID token, when there is one.
	Identity Identity
	// FromCache is true when the token came from the keyring's cache.
	FromCache bool
	// Rotated is true when a refresh stored a new refresh token.
	Rotated bool
	// ObtainedAt is when the grant answered, by the Env's clock; Save
	// dates the authorization (and the refresh token's 90 days) by it.
	ObtainedAt time.Time
	// ServicePrincipalID is, for an app-only token, its oid claim: the
	// object ID of the app's service principal in the tenant (Enterprise
	// applications), which Exchange's New-ServicePrincipal needs.
	ServicePrincipalID string
}

// Identity is who signed in, as the ID token says.
type Identity struct {
	// TenantID is the tid claim; ConsumersTenantID for personal accounts.
	TenantID string `json:"tid"`
	// Username is preferred_username.
	Username string `json:"preferred_username"`
	// Name is the display name.
	Name string `json:"name"`
	// ObjectID is the oid claim.
	ObjectID string `json:"oid"`
}

// ConsumersTenantID is the tenant of personal Microsoft accounts (reference §1).
const ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// String masks the token.
func (t *Token) String() string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("Token{access:%s refresh:%s expires:%s}", Mask(t.AccessToken), Mask(t.RefreshToken), t.ExpiresAt.Format(time.RFC3339))
}

// GoString masks the token for %#v too.
func (t *Token) GoString() string { return t.String() }

// Mask shows that a secret is there without showing it.
func Mask(s string) string {
	if s == "" {
		return "(none)"
	}
	return fmt.Sprintf("(%d characters)", len(s))
}

// oidcScopes are requested with every delegated sign-in and never counted as
// Graph permissions.
var oidcScopes = []string{"offline_access", "openid", "profile"}

// isOIDC reports whether s is an OpenID Connect scope rather than a Graph permission.
func isOIDC(s string) bool {
	switch strings.ToLower(s) {
	case "openid", "profile", "email", "offline_access":
		return true
	}
	return false
}

// DelegatedScopes is the scope parameter for a delegated profile: its Graph
// permissions as short names (valid in every cloud, reference §2) plus
// offline_access, openid and profile.
func DelegatedScopes(p store.Profile) []string {
	out := make([]string, 0, len(p.Permissions)+len(oidcScopes))
	out = append(out, p.Permissions...)
	return append(out, oidcScopes...)
}

// normalizeScopes turns a token response's scope string into short Graph
// permission names, dropping OIDC scopes and the resource prefix.
func normalizeScopes(scope, resource string) []string {
	var out []string
	for _, s := range strings.Fields(scope) {
		if i := strings.LastIndex(s, "/"); i >= 0 && strings.HasPrefix(strings.ToLower(s), "https://") {
			s = s[i+1:]
		}
		if s == "" || isOIDC(s) || s == ".default" {
			continue
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, s) }) {
			out = append(out, s)
		}
	}
	return out
}

// oauthConfig is the x/oauth2 configuration for a profile.
func (e *Env) oauthConfig(p store.Profile, clientSecret, redirectURI string, scopes []string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:       e.LoginEndpoint(p.Tenant, "oauth2/v2.0/authorize"),
			TokenURL:      e.LoginEndpoint(p.Tenant, "oauth2/v2.0/token"),
			DeviceAuthURL: e.LoginEndpoint(p.Tenant, "oauth2/v2.0/devicecode"),
			AuthStyle:     oauth2.AuthStyleInParams,
		},
		RedirectURL: redirectURI,
		Scopes:      scopes,
	}
}

// httpContext makes x/oauth2 use the Env's HTTP client, with throttled and
// unavailable token-endpoint answers retried.
func (e *Env) httpContext(ctx context.Context) context.Context {
	client := *e.HTTP
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	client.Transport = retryTransport{next: next, base: e.retryBase(), clock: clock.Or(e.Clock), timeout: client.Timeout}
	client.Timeout = 0 // per attempt instead, so Retry-After waits are not cut short
	return context.WithValue(ctx, oauth2.HTTPClient, &client)
}

// loginHost is the host name used in network errors.
func (e *Env) loginHost() string {
	u, _ := url.Parse(e.LoginURL)
	return u.Host
}

func (e *Env) graphHost() string {
	u, _ := url.Parse(e.GraphURL)
	return u.Host
}

// fromOAuth converts an x/oauth2 token.
func (e *Env) fromOAuth(t *oauth2.Token) *Token {
	now := e.Now()
	tok := &Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresAt: t.Expiry, ObtainedAt: now}
	// x/oauth2 dates Expiry by the system clock; expires_in dated by the
	// Env's clock keeps the cache and the checks on one time.
	if d, ok := expiresIn(t); ok {
		tok.ExpiresAt = now.Add(d)
	}
	if tok.ExpiresAt.IsZero() {
		tok.ExpiresAt = now.Add(time.Hour)
	}
	if s, ok := t.Extra("scope").(string); ok {
		tok.Scopes = normalizeScopes(SafeText(s), e.GraphResource())
	}
	if id, ok := t.Extra("id_token").(string); ok && id != "" {
		if claims, err := DecodeClaims(id); err == nil {
			tok.Identity = Identity{TenantID: claims.TenantID, Username: claims.PreferredUsername, Name: claims.Name, ObjectID: claims.ObjectID}
		}
	}
	if claims, err := DecodeClaims(t.AccessToken); err == nil {
		tok.Roles = claims.Roles
		if claims.Scope == "" && IsGUID(claims.ObjectID) {
			tok.ServicePrincipalID = claims.ObjectID
		}
		if len(tok.Scopes) == 0 && claims.Scope != "" {
			tok.Scopes = normalizeScopes(claims.Scope, e.GraphResource())
		}
	}
	return tok
}

// expiresIn is a token response's expires_in. x/oauth2 fills ExpiresIn for
// most grants; its clientcredentials package leaves it out, so the raw
// response's field is read then: a JSON number, or digits in a string.
func expiresIn(t *oauth2.Token) (time.Duration, bool) {
	secs := t.ExpiresIn
	if secs <= 0 {
		switch v := t.Extra("expires_in").(type) {
		case float64:
			secs = int64(v)
		case string:
			secs, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if secs <= 0 || secs > maxExpiresIn {
		return 0, false // none, or past what time.Duration holds sensibly
	}
	return time.Duration(secs) * time.Second, true
}

// maxExpiresIn bounds a believable expires_in, in seconds: a year, far
// above Entra's 24 hours.
const maxExpiresIn = 366 * 24 * 60 * 60

// Claims are the JWT claims mailgrant reads. Reading an access token is for
// display and for app-only roles only (reference §13): Graph tokens may be
// opaque, so every use tolerates a decode failure.
type Claims struct {
	TenantID          string   `json:"tid"`
	ObjectID          string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
	Name              string   `json:"name"`
	Scope             string   `json:"scp"`
	Roles             []string `json:"roles"`
	AppID             string   `json:"appid"`
	Audience          any      `json:"aud"`
	Expires           int64    `json:"exp"`
}

// maxJWT caps what DecodeClaims will read; real tokens are a few KiB.
const maxJWT = 64 << 10

// DecodeClaims decodes (without verifying) the payload of a JWT.
func DecodeClaims(jwt string) (*Claims, error) {
	if len(jwt) > maxJWT {
		return nil, errors.New("token too large")
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("JWT payload is not base64url")
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("JWT payload is not JSON")
	}
	for _, f := range []*string{&c.TenantID, &c.ObjectID, &c.PreferredUsername, &c.UPN, &c.Name, &c.Scope, &c.AppID} {
		*f = SafeText(*f)
	}
	for i, r := range c.Roles {
		c.Roles[i] = SafeText(r)
	}
	return &c, nil
}

// entraError is the JSON shape of a token-endpoint error (reference §8).
type entraError struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	Codes         []int  `json:"error_codes"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// ParseEntraError decodes a token-endpoint error body into an explained
// Error. It never includes the request, so no secret can leak through it,
// and every field is safe to print (SafeText).
func ParseEntraError(status int, body []byte) *Error {
	return parseEntraError(status, body).safe()
}

func parseEntraError(status int, body []byte) *Error {
	var ee entraError
	_ = json.Unmarshal(body, &ee)
	e := &Error{HTTPStatus: status, TraceID: ee.TraceID, CorrelationID: ee.CorrelationID, State: StateError}
	desc := firstLine(ee.Description)
	e.Description = desc
	if len(ee.Codes) > 0 {
		n := ee.Codes[0]
		e.Code = Code(fmt.Sprintf("AADSTS%d", n))
		e.LookupURL = LookupURL(n)
		if en, ok := aadsts[n]; ok {
			e.Message, e.Hint, e.State = en.cause, en.fix, en.state
			return e
		}
	}
	if en, ok := oauthErrors[ee.Error]; ok {
		if e.Code == "" {
			e.Code = Code(ee.Error)
		}
		e.Message, e.Hint, e.State = en.cause, en.fix, en.state
		if desc != "" && e.Code != Code(ee.Error) {
			e.Message = stripAADSTS(desc) // unknown AADSTS: Microsoft's own words
		}
		return e
	}
	if e.Code == "" {
		e.Code = Code(ee.Error)
	}
	switch {
	case e.Code == "" && desc == "":
		e.Code = Code(fmt.Sprintf("http-%d", status))
		e.Message = fmt.Sprintf("Entra answered HTTP %d with no error details", status)
	case e.Code == "":
		e.Code = Code(fmt.Sprintf("http-%d", status))
		e.Message = stripAADSTS(desc)
	case desc != "":
		e.Message = stripAADSTS(desc)
	default:
		e.Message = "Entra refused the request"
	}
	if e.LookupURL != "" {
		e.Hint = "see " + e.LookupURL
	}
	return e
}

// stripAADSTS drops a leading "AADSTSnnnn: " (the code is shown apart).
func stripAADSTS(desc string) string {
	if n := aadstsNumber(desc); n > 0 {
		rest := strings.TrimPrefix(desc, fmt.Sprintf("AADSTS%d", n))
		return strings.TrimSpace(strings.TrimPrefix(rest, ":"))
	}
	return desc
}

// firstLine returns the first line of an error description: Entra appends
// trace and correlation ids and a timestamp on later lines.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(strings.TrimSuffix(s, "\r"))
}

// tokenError turns an x/oauth2 error into an explained Error that names the
// host and what to check. RetrieveError's own text includes the response
// body, so it is never shown.
func (e *Env) tokenError(err error) *Error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		out := ParseEntraError(status, re.Body)
		if strings.HasPrefix(string(out.Code), "http-") {
			out.Message = fmt.Sprintf("%s answered HTTP %d without an Entra error", e.loginHost(), status)
			out.Hint = "a proxy, firewall or outage may be in the way: check HTTPS_PROXY, MAILGRANT_LOGIN_HOST, and try again later"
			if re.ErrorCode != "" {
				out.Code = Code(SafeText(re.ErrorCode))
			}
		}
		return out
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return networkError(e.loginHost(), err)
	}
	return &Error{
		Code: CodeBadResponse, State: StateError, Err: err,
		Message: fmt.Sprintf("the answer from %s could not be read as a token response", e.loginHost()),
		Hint:    "a proxy or captive portal may be answering instead of Entra, or the connection broke: check HTTPS_PROXY and MAILGRANT_LOGIN_HOST, then try again",
	}
}

// Refresh redeems a refresh token and hands the rotated refresh token to save
// before returning the access token: if save fails, no token is returned, so
// a caller never uses a token whose successor was lost.
func Refresh(ctx context.Context, env *Env, p store.Profile, refreshToken, clientSecret string, save func(rotated string) error) (*Token, error) {
	env = env.ForProfile(p)
	conf := env.oauthConfig(p, clientSecret, "", DelegatedScopes(p))
	ot, err := conf.TokenSource(env.httpContext(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, env.tokenError(err)
	}
	tok := env.fromOAuth(ot)
	if tok.RefreshToken != "" && tok.RefreshToken != refreshToken {
		if err := save(tok.RefreshToken); err != nil {
			return nil, &Error{Code: CodeKeyring, Message: "could not store the new refresh token: " + err.Error(), Hint: keyringHint(err), State: StateError, Err: err}
		}
		tok.Rotated = true
	}
	return tok, nil
}

// keyringHint returns the hint of a store error, if it has one.
func keyringHint(err error) string {
	var ke *store.KeyringError
	if errors.As(err, &ke) && ke.Hint != "" {
		return ke.Hint
	}
	var fe *store.FileStoreError
	if errors.As(err, &fe) && fe.Hint != "" {
		return fe.Hint
	}
	return "check that the keyring is unlocked, or use --store file"
}
