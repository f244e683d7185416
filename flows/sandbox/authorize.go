package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// codeLifetime is how long an authorization code can be redeemed
// (reference §3: about 10 minutes).
const codeLifetime = 10 * time.Minute

// authCode is an issued authorization code, kept in memory until redeemed
// or expired. It is bound to everything the token request must repeat.
type authCode struct {
	ClientID    string
	RedirectURI string
	Challenge   string
	Method      string
	UserID      string
	Nonce       string
	Grant       delegatedGrant
	Expires     time.Time
	Used        bool
}

// authRequest is a checked authorize request.
type authRequest struct {
	App          App
	Kind         tenantKind
	RedirectURI  string
	ResponseMode string
	State        string
	Nonce        string
	LoginHint    string
	Challenge    string
	Method       string
	Scopes       scopeSet
}

// serveAuthorize is GET/POST /{tenant}/oauth2/v2.0/authorize: it checks the
// request, shows the sign-in page, and on the page's POST redirects back with
// a code or an error. Errors that make the redirect URI untrustworthy are
// shown as pages, never redirected.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request, _ string, kind tenantKind) {
	params, ok := s.pageParams(w, r)
	if !ok {
		return
	}
	req, pageErr, redirErr := checkAuthorize(params, kind)
	if pageErr != nil {
		s.renderError(w, r, pageErr)
		return
	}
	if redirErr != nil {
		s.redirectError(w, r, req, redirErr)
		return
	}
	users := signInUsers(kind, req.App)
	grant := grantFor(req.App, req.Scopes)
	if r.Method != http.MethodPost {
		s.renderSignIn(w, r, req, grant, users, params, "")
		return
	}

	if params.Get("action") != "accept" {
		s.redirectError(w, r, req, oauthErr("access_denied", 65004, "User declined to consent to access the app."))
		return
	}
	user, ok := pickUser(users, params.Get("user"))
	if !ok {
		s.renderSignIn(w, r, req, grant, users, params, "Choose one of the accounts below.")
		return
	}
	code := randomToken(48)
	s.mu.Lock()
	s.pruneLocked()
	s.codes[code] = &authCode{
		ClientID: req.App.ClientID, RedirectURI: req.RedirectURI,
		Challenge: req.Challenge, Method: req.Method, UserID: user.ID,
		Nonce: req.Nonce, Grant: grant, Expires: s.now().Add(codeLifetime),
	}
	s.mu.Unlock()
	s.redirect(w, r, req, url.Values{"code": {code}})
}

// checkAuthorize validates an authorize request. pageErr is an error to
// show as a page (the redirect URI cannot be trusted); redirErr one to send
// back to the redirect URI.
func checkAuthorize(p url.Values, kind tenantKind) (req authRequest, pageErr, redirErr *oauthError) {
	req.Kind = kind
	clientID := p.Get("client_id")
	if clientID == "" {
		return req, oauthErr("invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."), nil
	}
	app, ok := appByID(clientID)
	if !ok {
		return req, oauthErr("unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", safeText(clientID), TenantDomain), nil
	}
	req.App = app
	req.RedirectURI = p.Get("redirect_uri")
	if req.RedirectURI == "" {
		return req, oauthErr("invalid_request", 900144, "The request body must contain the following parameter: 'redirect_uri'."), nil
	}
	if !validRedirectURI(req.RedirectURI) {
		return req, oauthErr("invalid_request", 50011, "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.", safeText(req.RedirectURI), app.ClientID), nil
	}
	if kind == tenantConsumers && !app.PersonalAccounts {
		return req, oauthErr("invalid_request", 9002332, "Application '%s'(%s) is configured for use by Microsoft Entra users only. Please do not use the /consumers endpoint to serve this request.", app.ClientID, app.Name), nil
	}
	req.ResponseMode = p.Get("response_mode")
	switch req.ResponseMode {
	case "", "query", "fragment", "form_post":
	default:
		req.ResponseMode = ""
		return req, nil, oauthErr("invalid_request", 9002313, "Invalid request. The response_mode '%s' is not supported.", safeText(p.Get("response_mode")))
	}
	req.State = p.Get("state")
	req.Nonce = p.Get("nonce")
	req.LoginHint = p.Get("login_hint")
	switch rt := p.Get("response_type"); rt {
	case "code":
	case "":
		return req, nil, oauthErr("invalid_request", 900144, "The request body must contain the following parameter: 'response_type'.")
	default:
		return req, nil, oauthErr("unsupported_response_type", 700054, "response_type '%s' is not enabled for the application.", safeText(rt))
	}
	raw := p.Get("scope")
	if strings.TrimSpace(raw) == "" {
		return req, nil, oauthErr("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	set, bad := parseScopes(raw)
	if bad != "" {
		return req, nil, oauthErr("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist.", safeText(bad))
	}
	req.Scopes = set
	req.Challenge = p.Get("code_challenge")
	req.Method = p.Get("code_challenge_method")
	if req.Challenge != "" {
		switch req.Method {
		case "":
			req.Method = "plain" // reference §3: plain is assumed when omitted
		case "S256", "plain":
		default:
			return req, nil, oauthErr("invalid_request", 501471, "Invalid code_challenge_method '%s'; use S256 or plain.", safeText(req.Method))
		}
		if n := len(req.Challenge); (req.Method == "S256" && n != 43) || n < 43 || n > 128 {
			return req, nil, oauthErr("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
		}
	}
	if p.Get("prompt") == "none" {
		return req, nil, oauthErr("login_required", 50058, "A silent sign-in request was sent but no user is signed in.")
	}
	return req, nil, nil
}

// pickUser finds the chosen UPN among the users offered.
func pickUser(users []User, upn string) (User, bool) {
	for _, u := range users {
		if strings.EqualFold(u.UPN, upn) {
			return u, true
		}
	}
	return User{}, false
}

// renderSignIn shows the sign-in and consent page.
func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, req authRequest, g delegatedGrant, users []User, params url.Values, problem string) {
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	hint := params.Get("user")
	if hint == "" {
		hint = req.LoginHint
	}
	render(w, status, "form", formPage{
		Title: "Sign in", Heading: "Sign in and allow access", Error: problem,
		AppName: req.App.Name, ClientID: req.App.ClientID,
		Intro: "wants to sign you in and use the permissions below.",
		Kind:  "signin", Action: r.URL.Path,
		AcceptLabel: "Accept", UserLegend: "Pick an account",
		Permissions: permissionRows(g),
		Users: userRows(users, hint, func(u User) string {
			switch {
			case u.Personal:
				return "personal account"
			case u.Admin:
				return "Global Administrator"
			case !u.Mailbox:
				return "no mailbox"
			}
			return ""
		}),
		Hidden: hiddenFrom(params),
	})
}

// redirect sends the browser back to the request's redirect URI with
// params (and state), in the requested response mode.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, req authRequest, params url.Values) {
	if req.State != "" {
		params.Set("state", req.State)
	}
	target := req.RedirectURI
	if u, err := url.Parse(target); err == nil && u.Path == "" {
		// reference §3: a URI without a path comes back with a trailing "/".
		target += "/"
	}
	switch req.ResponseMode {
	case "form_post":
		var hidden []hiddenField
		for _, n := range []string{"code", "error", "error_description", "error_codes", "admin_consent", "tenant", "scope", "state"} {
			if v := params.Get(n); v != "" {
				hidden = append(hidden, hiddenField{Name: n, Value: v})
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_ = pages().ExecuteTemplate(w, "formpost", map[string]any{"Action": target, "Hidden": hidden})
	case "fragment":
		http.Redirect(w, r, target+"#"+params.Encode(), http.StatusFound)
	default:
		http.Redirect(w, r, target+"?"+params.Encode(), http.StatusFound)
	}
}

// redirectError sends an OAuth error back to the redirect URI.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, req authRequest, e *oauthError) {
	body := s.errorBody(r, e)
	s.redirect(w, r, req, url.Values{"error": {e.Err}, "error_description": {body.Description}})
}

// pruneLocked forgets expired authorization codes, device codes and
// assertion IDs; the caller holds s.mu.
func (s *Server) pruneLocked() {
	now := s.now()
	for k, c := range s.codes {
		if now.After(c.Expires.Add(time.Hour)) {
			delete(s.codes, k)
		}
	}
	for k, d := range s.devices {
		if now.After(d.Expires.Add(time.Hour)) {
			delete(s.devices, k)
			delete(s.userCodes, d.UserCode)
		}
	}
	for k, exp := range s.jtis {
		if now.After(exp.Add(time.Hour)) {
			delete(s.jtis, k)
		}
	}
}

// pageParams reads a page request's parameters: the query of a GET, the form
// of a POST (capped at 1 MiB). It answers the request itself and returns
// false when there is nothing to read.
func (s *Server) pageParams(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return r.URL.Query(), true
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			s.renderError(w, r, oauthErr("invalid_request", 9002313, "Invalid request. Request is malformed or invalid."))
			return nil, false
		}
		return r.PostForm, true
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
}
