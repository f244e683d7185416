package sandbox

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// deviceCodeLifetime is how long a device code can be used (reference §5:
// 15 minutes by default).
const deviceCodeLifetime = 900 * time.Second

// userCodeAlphabet is what user codes are made of: upper-case letters and
// digits.
const userCodeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// deviceStatus is where a device code stands.
type deviceStatus int

const (
	devicePending deviceStatus = iota
	deviceApproved
	deviceDeclined
	deviceRedeemed
)

// deviceGrant is a device code waiting for its user, kept in memory.
type deviceGrant struct {
	DeviceCode string
	UserCode   string
	ClientID   string
	Kind       tenantKind
	Scopes     scopeSet
	Expires    time.Time
	Interval   time.Duration
	LastPoll   time.Time
	Status     deviceStatus
	UserID     string
	Grant      delegatedGrant
}

// deviceCodeResponse is the devicecode endpoint's answer (reference §5).
type deviceCodeResponse struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

// serveDeviceCode is POST /{tenant}/oauth2/v2.0/devicecode.
func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request, _ string, kind tenantKind) {
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
	tr, e := s.parseTokenRequest(w, r, "", kind)
	if e != nil {
		s.writeOAuthError(w, r, e)
		return
	}
	app, e := tr.app()
	if e != nil {
		s.writeOAuthError(w, r, e)
		return
	}
	raw := tr.form.Get("scope")
	if strings.TrimSpace(raw) == "" {
		s.writeOAuthError(w, r, missing("scope"))
		return
	}
	set, bad := parseScopes(raw)
	if bad != "" {
		s.writeOAuthError(w, r, oauthErr("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist.", safeText(bad)))
		return
	}
	if kind == tenantConsumers && !app.PersonalAccounts {
		s.writeOAuthError(w, r, oauthErr("invalid_request", 9002332, "Application '%s'(%s) is configured for use by Microsoft Entra users only. Please do not use the /consumers endpoint to serve this request.", app.ClientID, app.Name))
		return
	}
	now := s.now()
	interval := time.Duration(s.opts.DeviceInterval) * time.Second
	d := &deviceGrant{
		DeviceCode: "SBXDC." + randomToken(48),
		ClientID:   app.ClientID, Kind: kind, Scopes: set,
		Expires: now.Add(deviceCodeLifetime), Interval: interval,
	}
	s.mu.Lock()
	s.pruneLocked()
	for {
		d.UserCode = newUserCode()
		if _, taken := s.userCodes[d.UserCode]; !taken {
			break
		}
	}
	s.devices[d.DeviceCode] = d
	s.userCodes[d.UserCode] = d.DeviceCode
	s.mu.Unlock()
	verify := s.baseURL(r) + "/devicelogin"
	writeJSON(w, http.StatusOK, deviceCodeResponse{
		UserCode: d.UserCode, DeviceCode: d.DeviceCode, VerificationURI: verify,
		ExpiresIn: int(deviceCodeLifetime / time.Second), Interval: s.opts.DeviceInterval,
		Message: fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, d.UserCode),
	})
}

// newUserCode returns 9 random upper-case letters and digits.
func newUserCode() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b)
}

// normalizeUserCode upper-cases a typed code and drops spaces and dashes.
func normalizeUserCode(c string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(c)))
}

// redeemDeviceCode is the device_code grant: it answers
// authorization_pending until the user acts, slow_down when polled faster
// than the interval, then the tokens (once).
func (s *Server) redeemDeviceCode(tr tokenRequest) (tokenResponse, *oauthError) {
	app, e := tr.app()
	if e != nil {
		return tokenResponse{}, e
	}
	code := tr.form.Get("device_code")
	if code == "" {
		return tokenResponse{}, missing("device_code")
	}
	if !app.Public || s.fault(FaultPublicFlowsDisabled) {
		return tokenResponse{}, oauthErr("invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if e := s.authenticateClient(tr, app, false); e != nil {
		return tokenResponse{}, e
	}
	now := s.now()
	s.mu.Lock()
	d, ok := s.devices[code]
	if !ok || !strings.EqualFold(d.ClientID, app.ClientID) || d.Kind != tr.kind {
		s.mu.Unlock()
		return tokenResponse{}, oauthErr("bad_verification_code", 70000, "The provided value for the 'device_code' parameter is not valid.")
	}
	if now.After(d.Expires) && d.Status != deviceRedeemed {
		s.mu.Unlock()
		return tokenResponse{}, oauthErr("expired_token", 70019, "Verification code expired.")
	}
	switch d.Status {
	case devicePending:
		last := d.LastPoll
		d.LastPoll = now
		s.mu.Unlock()
		if !last.IsZero() && now.Sub(last) < d.Interval-d.Interval/4 {
			// slow_down is not on Microsoft's page (reference §5); the
			// sandbox sends it as RFC 8628 §3.5 describes.
			return tokenResponse{}, oauthErr("slow_down", 70016, "OAuth 2.0 device flow error. Polling too fast: wait at least %d seconds between requests.", int(d.Interval/time.Second))
		}
		return tokenResponse{}, oauthErr("authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	case deviceDeclined:
		s.mu.Unlock()
		return tokenResponse{}, oauthErr("authorization_declined", 65004, "User declined to consent to access the app.")
	case deviceRedeemed:
		s.mu.Unlock()
		return tokenResponse{}, oauthErr("invalid_grant", 54005, "The device code was already redeemed; start a new device code flow.")
	}
	d.Status = deviceRedeemed
	userID, grant := d.UserID, d.Grant
	s.mu.Unlock()
	user, ok := userByName(userID)
	if !ok {
		return tokenResponse{}, oauthErr("invalid_grant", 50034, "The user account does not exist in the directory.")
	}
	return s.issueDelegated(app, user, grant, s.baseURL(tr.r), ""), nil
}

// ApproveDevice acts as the user on the device login page: with accept, upn
// (who must be able to sign in for that code's tenant and app) approves the
// pending code userCode; without, the code is declined. It fails for an
// unknown, expired or already used code.
func (s *Server) ApproveDevice(userCode, upn string, accept bool) error {
	s.mu.Lock()
	dc, ok := s.userCodes[normalizeUserCode(userCode)]
	var d *deviceGrant
	if ok {
		d = s.devices[dc]
	}
	s.mu.Unlock()
	if d == nil {
		return errors.New("sandbox: unknown device user code")
	}
	app, _ := appByID(d.ClientID)
	var user User
	if accept {
		var found bool
		user, found = pickUser(signInUsers(d.Kind, app), upn)
		if !found {
			return fmt.Errorf("sandbox: %q cannot sign in to %s on this tenant", upn, app.Name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.now().After(d.Expires) {
		return errors.New("sandbox: the device code has expired")
	}
	if d.Status != devicePending {
		return errors.New("sandbox: the device code was already used")
	}
	if !accept {
		d.Status = deviceDeclined
		return nil
	}
	d.Status = deviceApproved
	d.UserID = user.ID
	d.Grant = grantFor(app, d.Scopes)
	return nil
}

// pendingDevice returns a copy of the pending device grant for a user code.
func (s *Server) pendingDevice(userCode string) (deviceGrant, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, ok := s.userCodes[normalizeUserCode(userCode)]
	if !ok {
		return deviceGrant{}, "That code didn't work. Check the code and try again. (AADSTS70018)"
	}
	d := s.devices[dc]
	switch {
	case s.now().After(d.Expires):
		return deviceGrant{}, "That code has expired. Go back to the application for a new one. (AADSTS70019)"
	case d.Status != devicePending:
		return deviceGrant{}, "That code was already used. Go back to the application for a new one. (AADSTS90120)"
	}
	return *d, ""
}

// serveDeviceLogin is the verification page at /devicelogin: GET asks for
// the code; POST with only the code shows the account picker with
// Accept/Cancel; POST with code, user and action approves or declines.
func (s *Server) serveDeviceLogin(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		render(w, http.StatusOK, "devicecode", map[string]any{"Title": "Enter code", "Code": normalizeUserCode(r.URL.Query().Get("code"))})
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	code := normalizeUserCode(r.PostForm.Get("code"))
	d, problem := s.pendingDevice(code)
	if problem != "" {
		render(w, http.StatusBadRequest, "devicecode", map[string]any{"Title": "Enter code", "Code": code, "Error": problem})
		return
	}
	app, _ := appByID(d.ClientID)
	users := signInUsers(d.Kind, app)
	action := r.PostForm.Get("action")
	if action == "" || (action == "accept" && r.PostForm.Get("user") == "") {
		render(w, http.StatusOK, "form", formPage{
			Title: "Sign in", Heading: "Sign in on your other device",
			AppName: app.Name, ClientID: app.ClientID,
			Intro: "is asking to sign you in on another device. Continue only if you started this sign-in.",
			Kind:  "device", Action: "/devicelogin",
			AcceptLabel: "Accept", UserLegend: "Pick an account",
			Permissions: permissionRows(grantFor(app, d.Scopes)),
			Users:       userRows(users, "", nil),
			Hidden:      []hiddenField{{Name: "code", Value: code}},
		})
		return
	}
	accept := action == "accept"
	if err := s.ApproveDevice(code, r.PostForm.Get("user"), accept); err != nil {
		renderMessage(w, http.StatusBadRequest, "Sign-in failed", strings.TrimPrefix(err.Error(), "sandbox: ")+".")
		return
	}
	if accept {
		renderMessage(w, http.StatusOK, "You're signed in", fmt.Sprintf("You have signed in to the %s application on your device. You may now close this window.", app.Name))
		return
	}
	renderMessage(w, http.StatusOK, "Sign-in cancelled", "You declined the sign-in. You may now close this window.")
}
