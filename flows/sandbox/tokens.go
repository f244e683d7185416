package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// sandboxKey signs every access token, ID token and refresh token the
// sandbox issues. It is compiled into the package on purpose and is not a
// secret: the sandbox is a simulation whose tokens are worth nothing outside
// it, and a fixed key lets a token issued by one mailgrant process be
// accepted by the sandbox of another (tokens are stateless).
var sandboxKey = []byte("mailgrant-sandbox/hs256/this-key-is-public-by-design/v1")

const (
	// accessTokenLifetime is the lifetime of access tokens; responses say
	// expires_in 3599 like the reference's sample.
	accessTokenLifetime = time.Hour
	// refreshIdleLimit is how long an unused refresh token stays valid
	// (MaxInactiveTime, reference §4).
	refreshIdleLimit = 90 * 24 * time.Hour
	// refreshPrefix starts every sandbox refresh token; it carries a format
	// version like Entra's "0.A…" / "1.A…" tokens.
	refreshPrefix = "0.SBX."
)

// accessClaims are the claims of a sandbox access token for Graph, a subset
// of Entra's v1.0 access tokens (reference §6, §13).
type accessClaims struct {
	Aud               string   `json:"aud"`
	Iss               string   `json:"iss"`
	Iat               int64    `json:"iat"`
	Nbf               int64    `json:"nbf"`
	Exp               int64    `json:"exp"`
	AppDisplayName    string   `json:"app_displayname,omitempty"`
	AppID             string   `json:"appid"`
	IDType            string   `json:"idtyp"`
	Name              string   `json:"name,omitempty"`
	Oid               string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Roles             []string `json:"roles,omitempty"`
	Scp               string   `json:"scp,omitempty"`
	Sub               string   `json:"sub"`
	Tid               string   `json:"tid"`
	UniqueName        string   `json:"unique_name,omitempty"`
	UPN               string   `json:"upn,omitempty"`
	Uti               string   `json:"uti"`
	Ver               string   `json:"ver"`
}

// delegated reports whether the token was issued to a user.
func (c accessClaims) delegated() bool { return c.IDType == "user" }

// hasScope reports whether the delegated token's scp holds perm.
func (c accessClaims) hasScope(perm string) bool {
	for _, s := range strings.Fields(c.Scp) {
		if strings.EqualFold(s, perm) {
			return true
		}
	}
	return false
}

// hasRole reports whether the app-only token's roles hold perm.
func (c accessClaims) hasRole(perm string) bool {
	for _, s := range c.Roles {
		if strings.EqualFold(s, perm) {
			return true
		}
	}
	return false
}

// idClaims are the claims of a v2.0 ID token.
type idClaims struct {
	Aud               string `json:"aud"`
	Iss               string `json:"iss"`
	Iat               int64  `json:"iat"`
	Nbf               int64  `json:"nbf"`
	Exp               int64  `json:"exp"`
	Name              string `json:"name,omitempty"`
	Nonce             string `json:"nonce,omitempty"`
	Oid               string `json:"oid"`
	PreferredUsername string `json:"preferred_username"`
	Sub               string `json:"sub"`
	Tid               string `json:"tid"`
	Ver               string `json:"ver"`
}

// refreshGrant is the content of a sandbox refresh token. A refresh token
// is bound to a user and a client, not to a resource or tenant (reference
// §4); it remembers the consented scopes so a refresh returns them again.
type refreshGrant struct {
	User   string   `json:"u"`
	Client string   `json:"c"`
	Tenant string   `json:"t"`
	Scopes []string `json:"s"`
	Issued int64    `json:"i"` // Unix milliseconds
	Nonce  string   `json:"n"`
}

var b64 = base64.RawURLEncoding

// mac signs data under a purpose label so one kind of token can never be
// passed off as another.
func mac(purpose, data string) []byte {
	h := hmac.New(sha256.New, sandboxKey)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(data))
	return h.Sum(nil)
}

// signJWT returns a compact HS256 JWT of claims.
func signJWT(claims any) string {
	hdr, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT", "kid": "sandbox"})
	body, err := json.Marshal(claims)
	if err != nil {
		panic(err) // claims are our own structs
	}
	input := b64.EncodeToString(hdr) + "." + b64.EncodeToString(body)
	return input + "." + b64.EncodeToString(mac("jwt", input))
}

// errBadToken is any token that is malformed or not signed by the sandbox.
var errBadToken = errors.New("invalid signature")

// verifyAccessToken checks a bearer token's signature and lifetime and
// returns its claims. The error text is fit for Graph's message; it never
// contains the token.
func verifyAccessToken(tok string, now time.Time) (accessClaims, error) {
	var c accessClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		//lint:ignore ST1005 the text is Graph's own message, returned to the client as it would be
		return c, errors.New("IDX14100: JWT is not well formed, there are no dots (.).")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "HS256" {
		return c, errBadToken
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac("jwt", parts[0]+"."+parts[1])) {
		return c, errBadToken
	}
	body, err := b64.DecodeString(parts[1])
	if err != nil || json.Unmarshal(body, &c) != nil {
		return c, errBadToken
	}
	if !strings.HasPrefix(c.Aud, "https://graph.") && c.Aud != GraphAppID {
		//lint:ignore ST1005 the text is Graph's own message, returned to the client as it would be
		return c, errors.New("Invalid audience.")
	}
	if c.IDType != "user" && c.IDType != "app" {
		return c, errBadToken
	}
	n := now.Unix()
	if n >= c.Exp || n+300 < c.Nbf {
		//lint:ignore ST1005 the text is Graph's own message, returned to the client as it would be
		return c, errors.New("Lifetime validation failed, the token is expired.")
	}
	return c, nil
}

// encodeRefresh packs a refresh grant into an opaque, signed string.
func encodeRefresh(g refreshGrant) string {
	body, _ := json.Marshal(g)
	payload := b64.EncodeToString(body)
	return refreshPrefix + payload + "." + b64.EncodeToString(mac("refresh", payload))
}

// decodeRefresh unpacks a refresh token; ok is false when it is malformed or
// not signed by the sandbox.
func decodeRefresh(tok string) (refreshGrant, bool) {
	var g refreshGrant
	rest, ok := strings.CutPrefix(tok, refreshPrefix)
	if !ok {
		return g, false
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return g, false
	}
	s, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(s, mac("refresh", payload)) {
		return g, false
	}
	body, err := b64.DecodeString(payload)
	if err != nil || json.Unmarshal(body, &g) != nil {
		return g, false
	}
	return g, true
}

// randomID returns a random GUID-shaped string.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}

// oidcScopes are the OpenID Connect scopes, in the order responses list them.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

// graphHosts are the Graph resource hosts of every cloud (reference §2); a
// scope prefixed with any of them names a Graph permission.
var graphHosts = []string{"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"}

// knownPermissions gives Graph permission names their canonical case.
var knownPermissions = []string{
	"Mail.Send", "Mail.Send.Shared", "Mail.Read", "Mail.ReadBasic", "Mail.ReadWrite",
	"User.Read", "User.ReadBasic.All", "User.Read.All", "Calendars.Read", "Calendars.ReadWrite",
	"Contacts.Read", "Files.Read", "Files.Read.All", "MailboxSettings.Read", "MailboxSettings.ReadWrite",
}

var permissionName = &lazyRegexp{expr: `^[A-Za-z][A-Za-z0-9._-]{0,119}$`}

// scopeSet is a parsed scope parameter.
type scopeSet struct {
	// Graph holds Graph permission short names, canonical case, sorted.
	Graph []string
	// OIDC holds the OpenID Connect scopes asked for, in oidcScopes order.
	OIDC []string
	// Default is true when https://graph.microsoft.com/.default was asked.
	Default bool
}

// parseScopes reads a space-separated scope parameter. bad is the first
// value that names neither Graph nor an OIDC scope.
func parseScopes(raw string) (set scopeSet, bad string) {
	oidc := map[string]bool{}
	graph := map[string]bool{}
	for _, item := range strings.Fields(raw) {
		if slices.Contains(oidcScopes, strings.ToLower(item)) {
			oidc[strings.ToLower(item)] = true
			continue
		}
		name := item
		if i := strings.Index(item, "://"); i >= 0 {
			u, err := url.Parse(item)
			if err != nil || !slices.Contains(graphHosts, strings.ToLower(u.Host)) {
				return set, item
			}
			name = strings.TrimPrefix(u.Path, "/")
		} else if rest, ok := strings.CutPrefix(strings.ToLower(item), GraphAppID+"/"); ok {
			name = item[len(item)-len(rest):]
		}
		if name == ".default" {
			set.Default = true
			continue
		}
		if !permissionName.MatchString(name) {
			return set, item
		}
		graph[canonicalPermission(name)] = true
	}
	for _, o := range oidcScopes {
		if oidc[o] {
			set.OIDC = append(set.OIDC, o)
		}
	}
	for g := range graph {
		set.Graph = append(set.Graph, g)
	}
	sort.Strings(set.Graph)
	return set, ""
}

// canonicalPermission returns a known permission's canonical spelling.
func canonicalPermission(name string) string {
	for _, k := range knownPermissions {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

// graphOnly returns the Graph permissions of a list that may hold OIDC
// scopes, in canonical case.
func graphOnly(perms []string) []string {
	var out []string
	for _, p := range perms {
		if !slices.Contains(oidcScopes, strings.ToLower(p)) {
			out = append(out, canonicalPermission(p))
		}
	}
	return out
}

// union returns the sorted union of permission lists, without duplicates.
func union(lists ...[]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, p := range l {
			if !seen[strings.ToLower(p)] {
				seen[strings.ToLower(p)] = true
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// without returns perms minus name (ignoring case).
func without(perms []string, name string) []string {
	var out []string
	for _, p := range perms {
		if !strings.EqualFold(p, name) {
			out = append(out, p)
		}
	}
	return out
}

// tokenResponse is the token endpoint's success body (reference §3).
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// delegatedGrant is what a user (or the app's pre-consent) granted a client.
type delegatedGrant struct {
	Graph []string
	OIDC  []string
}

// scopes returns the grant as a refresh token stores it.
func (g delegatedGrant) scopes() []string {
	return append(slices.Clone(g.Graph), g.OIDC...)
}

// grantFromScopes splits stored scopes back into a grant.
func grantFromScopes(scopes []string) delegatedGrant {
	var g delegatedGrant
	for _, s := range scopes {
		if slices.Contains(oidcScopes, s) {
			g.OIDC = append(g.OIDC, s)
		} else {
			g.Graph = append(g.Graph, s)
		}
	}
	return g
}

// grantFor is what a client gets when a user accepts a request for set:
// Entra puts every consented permission of the resource in the token, so it
// is the app's pre-consented delegated permissions plus those requested.
func grantFor(app App, set scopeSet) delegatedGrant {
	return delegatedGrant{Graph: union(graphOnly(app.Delegated), set.Graph), OIDC: set.OIDC}
}

// issueDelegated builds the token response for a user: an access token for
// Graph, a refresh token when offline_access was granted, an ID token when
// openid was. issuer is the v2.0 issuer base for the ID token.
func (s *Server) issueDelegated(app App, user User, g delegatedGrant, issuerBase, nonce string) tokenResponse {
	now := s.now()
	graph := g.Graph
	if s.fault(FaultMissingScope) {
		graph = without(graph, "Mail.Send")
	}
	tid := user.tenantOf()
	at := accessClaims{
		Aud: GraphResource, Iss: "https://sts.windows.net/" + tid + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(accessTokenLifetime).Unix(),
		AppDisplayName: app.Name, AppID: app.ClientID, IDType: "user",
		Name: user.DisplayName, Oid: user.ID, PreferredUsername: user.UPN,
		Scp: strings.Join(graph, " "), Sub: user.ID, Tid: tid,
		UniqueName: user.UPN, UPN: user.UPN, Uti: randomToken(16), Ver: "1.0",
	}
	resp := tokenResponse{
		TokenType: "Bearer", ExpiresIn: 3599, ExtExpiresIn: 3599,
		Scope:       strings.Join(append(slices.Clone(graph), g.OIDC...), " "),
		AccessToken: signJWT(at),
	}
	if slices.Contains(g.OIDC, "offline_access") {
		resp.RefreshToken = encodeRefresh(refreshGrant{
			User: user.ID, Client: app.ClientID, Tenant: tid,
			Scopes: g.scopes(), Issued: now.UnixMilli(), Nonce: randomToken(12),
		})
	}
	if slices.Contains(g.OIDC, "openid") {
		id := idClaims{
			Aud: app.ClientID, Iss: issuerBase + "/" + tid + "/v2.0",
			Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(accessTokenLifetime).Unix(),
			Nonce: nonce, Oid: user.ID, PreferredUsername: user.UPN, Sub: user.ID,
			Tid: tid, Ver: "2.0",
		}
		if slices.Contains(g.OIDC, "profile") {
			id.Name = user.DisplayName
		}
		resp.IDToken = signJWT(id)
	}
	return resp
}

// issueAppOnly builds the client_credentials response: an access token with
// the roles granted to the app, and never a refresh token.
func (s *Server) issueAppOnly(app App, roles []string) tokenResponse {
	now := s.now()
	at := accessClaims{
		Aud: GraphResource, Iss: "https://sts.windows.net/" + TenantID + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(accessTokenLifetime).Unix(),
		AppDisplayName: app.Name, AppID: app.ClientID, IDType: "app",
		Oid: app.ServicePrincipalID, Roles: roles, Sub: app.ServicePrincipalID,
		Tid: TenantID, Uti: randomToken(16), Ver: "1.0",
	}
	return tokenResponse{TokenType: "Bearer", ExpiresIn: 3599, ExtExpiresIn: 3599, AccessToken: signJWT(at)}
}

// formatIdle renders an idle time the way AADSTS700082 does (d.hh:mm:ss).
func formatIdle(d time.Duration) string {
	days := int(d.Hours()) / 24
	rem := d - time.Duration(days)*24*time.Hour
	return fmt.Sprintf("%d.%02d:%02d:%02d", days, int(rem.Hours()), int(rem.Minutes())%60, int(rem.Seconds())%60)
}
