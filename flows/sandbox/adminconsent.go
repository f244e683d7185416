package sandbox

import (
	"net/http"
	"net/url"
	"strings"
)

// serveAdminConsent is GET/POST /{tenant}/v2.0/adminconsent (and the older
// /{tenant}/adminconsent): it shows the app's application permissions and
// the tenant's accounts; Accept by a Global Administrator records tenant-wide
// consent (reference §7).
func (s *Server) serveAdminConsent(w http.ResponseWriter, r *http.Request, _ string, kind tenantKind) {
	v2 := strings.Contains(strings.ToLower(r.URL.Path), "/v2.0/")
	params, ok := s.pageParams(w, r)
	if !ok {
		return
	}
	clientID := params.Get("client_id")
	if clientID == "" {
		s.renderError(w, r, missing("client_id"))
		return
	}
	app, ok := appByID(clientID)
	if !ok {
		s.renderError(w, r, oauthErr("unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", safeText(clientID), TenantDomain))
		return
	}
	// reference §1, §7: v2 admin consent takes a GUID, a domain or
	// "organizations", not "common"; nobody consents for a tenant on
	// "consumers".
	if kind == tenantConsumers || (v2 && kind == tenantCommon) {
		s.renderError(w, r, oauthErr("invalid_request", 90130, "Application '%s'(%s) is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.", app.ClientID, app.Name))
		return
	}
	req := authRequest{App: app, Kind: kind, RedirectURI: params.Get("redirect_uri"), State: params.Get("state")}
	if req.RedirectURI == "" {
		s.renderError(w, r, missing("redirect_uri"))
		return
	}
	if !validRedirectURI(req.RedirectURI) {
		s.renderError(w, r, oauthErr("invalid_request", 50011, "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.", safeText(req.RedirectURI), app.ClientID))
		return
	}
	fail := func(e *oauthError) {
		body := s.errorBody(r, e)
		s.redirect(w, r, req, url.Values{"error": {e.Err}, "error_description": {body.Description}, "admin_consent": {"True"}})
	}
	raw := params.Get("scope")
	if v2 && strings.TrimSpace(raw) == "" {
		fail(missing("scope"))
		return
	}
	set, bad := parseScopes(raw)
	if bad != "" {
		fail(oauthErr("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist.", safeText(bad)))
		return
	}
	users := signInUsers(tenantOwn, app)
	if r.Method != http.MethodPost {
		s.renderAdminConsent(w, r, app, set, users, params, "")
		return
	}
	if params.Get("action") != "accept" || s.fault(FaultDeclinedConsent) {
		fail(oauthErr("consent_required", 65004, "User declined to consent to access the app."))
		return
	}
	user, ok := pickUser(users, params.Get("user"))
	if !ok {
		s.renderAdminConsent(w, r, app, set, users, params, "Choose one of the accounts below.")
		return
	}
	if !user.Admin {
		fail(oauthErr("access_denied", 90094, "The grant requires admin permission. %s is not an administrator who can grant tenant-wide consent.", user.UPN))
		return
	}
	if err := s.grantAdminConsent(app.ClientID, user.UPN); err != nil {
		fail(oauthErr("temporarily_unavailable", 90033, "A transient error has occurred. Please try again."))
		return
	}
	var granted []string
	for _, role := range app.AppRoles {
		granted = append(granted, GraphResource+"/"+role)
	}
	for _, p := range set.Graph {
		granted = append(granted, GraphResource+"/"+p)
	}
	if len(granted) == 0 {
		granted = []string{GraphResource + "/.default"}
	}
	s.redirect(w, r, req, url.Values{"admin_consent": {"True"}, "tenant": {TenantID}, "scope": {strings.Join(granted, " ")}})
}

// renderAdminConsent shows the admin consent page; the first administrator
// (or the login_hint account) is preselected.
func (s *Server) renderAdminConsent(w http.ResponseWriter, r *http.Request, app App, set scopeSet, users []User, params url.Values, problem string) {
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	var perms []permRow
	if set.Default || len(set.Graph) == 0 {
		for _, role := range app.AppRoles {
			perms = append(perms, permRow{Name: role, Description: appRoleText[role]})
		}
	}
	for _, p := range set.Graph {
		perms = append(perms, permRow{Name: p, Description: permissionText[p]})
	}
	hint := params.Get("user")
	if hint == "" {
		hint = params.Get("login_hint")
	}
	if hint == "" {
		for _, u := range users {
			if u.Admin {
				hint = u.UPN
				break
			}
		}
	}
	intro := "asks for permissions that only an administrator can grant, for the whole organization."
	if len(perms) == 0 {
		intro = "asks an administrator to consent for the whole organization. It requests no application permissions."
	}
	render(w, status, "form", formPage{
		Title: "Permissions requested", Heading: "Permissions requested — accept for your organization", Error: problem,
		AppName: app.Name, ClientID: app.ClientID, Intro: intro,
		Kind: "adminconsent", Action: r.URL.Path,
		AcceptLabel: "Accept for the organization", UserLegend: "Sign in as an administrator",
		Permissions: perms,
		Users: userRows(users, hint, func(u User) string {
			if u.Admin {
				return "Global Administrator"
			}
			return "not an administrator"
		}),
		Hidden: hiddenFrom(params),
	})
}

// serveLogout is /{tenant}/oauth2/v2.0/logout. The sandbox keeps no
// sessions; it redirects to a loopback post_logout_redirect_uri or shows a
// page.
func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request, _ string, _ tenantKind) {
	_ = r.ParseForm()
	if u := r.Form.Get("post_logout_redirect_uri"); u != "" && validRedirectURI(u) {
		http.Redirect(w, r, u, http.StatusFound)
		return
	}
	renderMessage(w, http.StatusOK, "Signed out", "You signed out of the sandbox. You may now close this window.")
}
