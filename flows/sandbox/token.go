package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Grant types the token endpoint accepts.
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	// jwtBearer is the only client_assertion_type Entra accepts.
	jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// tokenRequest is a parsed token request: its form, the tenant it was sent
// to, and the client credential however it was sent (form or HTTP Basic).
type tokenRequest struct {
	r      *http.Request
	form   url.Values
	tenant string
	kind   tenantKind
	// clientID is from the form or, failing that, HTTP Basic.
	clientID string
	// secret is the client secret from the form or HTTP Basic; "" if none.
	secret string
}

// serveToken is POST /{tenant}/oauth2/v2.0/token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string, kind tenantKind) {
	if r.Method != http.MethodPost {
		s.writeOAuthError(w, r, oauthErr("invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
		return
	}
	if s.fault(FaultServerError) {
		e := oauthErr("temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
		e.RetryAfter = 1
		s.writeOAuthError(w, r, e)
		return
	}
	tr, e := s.parseTokenRequest(w, r, tenant, kind)
	if e != nil {
		s.writeOAuthError(w, r, e)
		return
	}
	var resp tokenResponse
	switch gt := tr.form.Get("grant_type"); gt {
	case "":
		e = missing("grant_type")
	case grantAuthorizationCode:
		resp, e = s.redeemCode(tr)
	case grantRefreshToken:
		resp, e = s.redeemRefresh(tr)
	case grantDeviceCode:
		resp, e = s.redeemDeviceCode(tr)
	case grantClientCredentials:
		resp, e = s.clientCredentials(tr)
	default:
		e = oauthErr("unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", safeText(gt))
	}
	if e != nil {
		s.writeOAuthError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// missing is AADSTS900144 for a required parameter.
func missing(name string) *oauthError {
	return oauthErr("invalid_request", 900144, "The request body must contain the following parameter: '%s'.", name)
}

// parseTokenRequest reads the form body and HTTP Basic client credentials
// (RFC 6749 §2.3.1: both parts are form-encoded inside Basic).
func (s *Server) parseTokenRequest(w http.ResponseWriter, r *http.Request, tenant string, kind tenantKind) (tokenRequest, *oauthError) {
	tr := tokenRequest{r: r, tenant: tenant, kind: kind}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return tr, oauthErr("invalid_request", 9002313, "Invalid request. Request is malformed or invalid.")
	}
	tr.form = r.PostForm
	tr.clientID = strings.TrimSpace(tr.form.Get("client_id"))
	tr.secret = tr.form.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		id, err1 := url.QueryUnescape(user)
		sec, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return tr, oauthErr("invalid_request", 9002313, "Invalid request. The Authorization header is malformed.")
		}
		if tr.clientID != "" && !strings.EqualFold(tr.clientID, id) {
			return tr, oauthErr("invalid_request", 9002313, "Invalid request. The client_id in the Authorization header differs from the one in the body.")
		}
		tr.clientID = id
		if tr.secret == "" {
			tr.secret = sec
		}
	}
	return tr, nil
}

// app resolves the request's client.
func (tr tokenRequest) app() (App, *oauthError) {
	if tr.clientID == "" {
		return App{}, missing("client_id")
	}
	app, ok := appByID(tr.clientID)
	if !ok {
		return App{}, oauthErr("unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", safeText(tr.clientID), TenantDomain)
	}
	return app, nil
}

// authenticateClient checks the client credential. A public client must
// send none (AADSTS700025); a confidential one must send its secret or a
// certificate assertion. For a public client and requireCredential (client
// credentials), sending none is AADSTS7000218.
func (s *Server) authenticateClient(tr tokenRequest, app App, requireCredential bool) *oauthError {
	assertion := tr.form.Get("client_assertion")
	assertionType := tr.form.Get("client_assertion_type")
	hasCred := tr.secret != "" || assertion != "" || assertionType != ""
	if app.Public {
		if hasCred {
			return oauthErr("invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
		}
		if requireCredential {
			return oauthErr("invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		}
		return nil
	}
	switch {
	case assertion != "" || assertionType != "":
		return s.verifyAssertion(tr, app, assertionType, assertion)
	case tr.secret != "":
		return s.checkSecret(app, tr.secret)
	}
	return oauthErr("invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

// checkSecret compares a client secret in constant time. The secret never
// appears in an error.
func (s *Server) checkSecret(app App, secret string) *oauthError {
	a := sha256.Sum256([]byte(secret))
	b := sha256.Sum256([]byte(app.Secret))
	b2 := sha256.Sum256([]byte(SecondSecret(app)))
	if app.Secret == "" || subtle.ConstantTimeCompare(a[:], b[:])|subtle.ConstantTimeCompare(a[:], b2[:]) != 1 {
		return oauthErr("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID)
	}
	if s.fault(FaultExpiredSecret) || (!app.SecretExpires.IsZero() && s.now().After(app.SecretExpires)) {
		return oauthErr("invalid_client", 7000222, "The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", app.ClientID)
	}
	return nil
}

// userAllowed reports whether user may get tokens on this tenant value.
func userAllowed(kind tenantKind, u User) bool {
	if u.Personal {
		return kind.allowsPersonal()
	}
	return kind.allowsWork()
}

// wrongTenant is the error for a user who is not in the tenant asked for.
func wrongTenant(u User) *oauthError {
	return oauthErr("invalid_grant", 50020, "User account '%s' from identity provider '%s' does not exist in tenant '%s' and cannot access the application in that tenant.", u.UPN, map[bool]string{true: "live.com", false: "https://sts.windows.net/" + TenantID + "/"}[u.Personal], TenantDomain)
}

// redeemCode is the authorization_code grant (reference §3).
func (s *Server) redeemCode(tr tokenRequest) (tokenResponse, *oauthError) {
	app, e := tr.app()
	if e != nil {
		return tokenResponse{}, e
	}
	code := tr.form.Get("code")
	if code == "" {
		return tokenResponse{}, missing("code")
	}
	redirectURI := tr.form.Get("redirect_uri")
	if redirectURI == "" {
		return tokenResponse{}, missing("redirect_uri")
	}
	if e := s.authenticateClient(tr, app, false); e != nil {
		return tokenResponse{}, e
	}
	c, e := s.takeCode(code, app, redirectURI, tr.form.Get("code_verifier"))
	if e != nil {
		return tokenResponse{}, e
	}
	user, ok := userByName(c.UserID)
	if !ok {
		return tokenResponse{}, oauthErr("invalid_grant", 50034, "The user account does not exist in the directory.")
	}
	return s.issueDelegated(app, user, c.Grant, s.baseURL(tr.r), c.Nonce), nil
}

// takeCode checks an authorization code against the token request and marks
// it used; a code is good once.
func (s *Server) takeCode(code string, app App, redirectURI, verifier string) (authCode, *oauthError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	switch {
	case !ok:
		return authCode{}, oauthErr("invalid_grant", 70000, "The provided value for the 'code' parameter is not valid.")
	case c.Used:
		return authCode{}, oauthErr("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case s.now().After(c.Expires):
		return authCode{}, oauthErr("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case !strings.EqualFold(c.ClientID, app.ClientID):
		return authCode{}, oauthErr("invalid_grant", 70000, "The provided value for the 'code' parameter is not valid. The code was issued to a different client.")
	case c.RedirectURI != redirectURI:
		return authCode{}, oauthErr("invalid_grant", 500112, "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", safeText(redirectURI), c.RedirectURI)
	}
	if c.Challenge != "" {
		if verifier == "" {
			return authCode{}, missing("code_verifier")
		}
		if !pkceMatches(c.Method, c.Challenge, verifier) {
			return authCode{}, oauthErr("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		}
	}
	c.Used = true
	return *c, nil
}

// pkceMatches checks a code_verifier against the stored challenge.
func pkceMatches(method, challenge, verifier string) bool {
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// redeemRefresh is the refresh_token grant (reference §4): it returns a new
// refresh token every time and leaves the old one valid.
func (s *Server) redeemRefresh(tr tokenRequest) (tokenResponse, *oauthError) {
	app, e := tr.app()
	if e != nil {
		return tokenResponse{}, e
	}
	rt := tr.form.Get("refresh_token")
	if rt == "" {
		return tokenResponse{}, missing("refresh_token")
	}
	if e := s.authenticateClient(tr, app, false); e != nil {
		return tokenResponse{}, e
	}
	g, ok := decodeRefresh(rt)
	if !ok {
		return tokenResponse{}, oauthErr("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid. The refresh token is not valid.")
	}
	if !strings.EqualFold(g.Client, app.ClientID) {
		return tokenResponse{}, oauthErr("invalid_grant", 70000, "The provided value for the 'refresh_token' parameter is not valid. The refresh token was issued to a different client.")
	}
	user, ok := userByName(g.User)
	if !ok {
		return tokenResponse{}, oauthErr("invalid_grant", 50034, "The user account does not exist in the directory.")
	}
	if !userAllowed(tr.kind, user) {
		return tokenResponse{}, wrongTenant(user)
	}
	now := s.now()
	issued := time.UnixMilli(g.Issued)
	validFrom, err := s.tokensValidFrom(user.ID)
	if err != nil {
		return tokenResponse{}, oauthErr("temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
	}
	if s.fault(FaultRevoked) && validFrom < now.UnixMilli() {
		validFrom = now.UnixMilli()
	}
	if validFrom > 0 && g.Issued <= validFrom {
		return tokenResponse{}, oauthErr("invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
			issued.UTC().Format("2006-01-02T15:04:05.0000000Z"), time.UnixMilli(validFrom).UTC().Format("2006-01-02T15:04:05.0000000Z"))
	}
	if s.fault(FaultSingleUseRefresh) {
		s.mu.Lock()
		again := s.redeemed[rt]
		if s.redeemed == nil {
			s.redeemed = map[string]bool{}
		}
		s.redeemed[rt] = true
		s.mu.Unlock()
		if again {
			return tokenResponse{}, oauthErr("invalid_grant", 70000, "The provided value for the 'refresh_token' parameter is not valid. The refresh token was already redeemed.")
		}
	}
	if idle := now.Sub(issued); idle > refreshIdleLimit {
		return tokenResponse{}, oauthErr("invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
			issued.UTC().Format("2006-01-02T15:04:05.0000000Z"), formatIdle(refreshIdleLimit))
	}
	stored := grantFromScopes(g.Scopes)
	grant := delegatedGrant{Graph: union(stored.Graph, graphOnly(app.Delegated)), OIDC: stored.OIDC}
	if raw := tr.form.Get("scope"); raw != "" {
		set, bad := parseScopes(raw)
		if bad != "" {
			return tokenResponse{}, oauthErr("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist.", safeText(bad))
		}
		for _, p := range set.Graph {
			if !slices.Contains(grant.Graph, p) {
				return tokenResponse{}, oauthErr("invalid_grant", 65001, "The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", app.ClientID, app.Name)
			}
		}
		for _, o := range set.OIDC {
			if !slices.Contains(grant.OIDC, o) {
				grant.OIDC = append(grant.OIDC, o)
			}
		}
		grant.OIDC = orderOIDC(grant.OIDC)
	}
	return s.issueDelegated(app, user, grant, s.baseURL(tr.r), ""), nil
}

// orderOIDC puts OIDC scopes in oidcScopes order.
func orderOIDC(in []string) []string {
	var out []string
	for _, o := range oidcScopes {
		if slices.Contains(in, o) {
			out = append(out, o)
		}
	}
	return out
}

// clientCredentials is the client_credentials grant (reference §6).
func (s *Server) clientCredentials(tr tokenRequest) (tokenResponse, *oauthError) {
	if tr.kind == tenantCommon || tr.kind == tenantConsumers {
		return tokenResponse{}, oauthErr("invalid_request", 9001023, "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.")
	}
	app, e := tr.app()
	if e != nil {
		return tokenResponse{}, e
	}
	raw := strings.TrimSpace(tr.form.Get("scope"))
	if raw == "" {
		return tokenResponse{}, missing("scope")
	}
	set, bad := parseScopes(raw)
	if bad != "" || !set.Default || len(set.Graph) > 0 || len(set.OIDC) > 0 || len(strings.Fields(raw)) != 1 {
		return tokenResponse{}, oauthErr("invalid_scope", 70011, "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid. For client credentials use %s/.default.", safeText(raw), GraphResource)
	}
	if e := s.authenticateClient(tr, app, true); e != nil {
		return tokenResponse{}, e
	}
	roles, err := s.consentedRoles(app.ClientID)
	if err != nil {
		return tokenResponse{}, oauthErr("temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
	}
	roles = s.appliedRoles(app.ClientID, roles)
	if app.RBAC && s.tenantWideForRBAC() {
		roles = union(roles, []string{"Mail.Send"})
	}
	if s.fault(FaultMissingRole) {
		roles = without(roles, "Mail.Send")
	}
	return s.issueAppOnly(app, roles), nil
}
