package flows

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// State is a profile's status, as DESIGN.md lists them.
type State string

// The states of a status check.
const (
	// StateAuthorized: a token was obtained and carries every required permission.
	StateAuthorized State = "authorized"
	// StateUnauthorized: never authorized, or the secret is missing from the keyring.
	StateUnauthorized State = "unauthorized"
	// StateReauthorize: the refresh token is expired or revoked.
	StateReauthorize State = "reauthorize"
	// StateConsentMissing: a token was obtained without a required permission.
	StateConsentMissing State = "consent-missing"
	// StateCredentialExpired: the client secret or certificate is expired or wrong.
	StateCredentialExpired State = "credential-expired"
	// StateError: anything else; the error says what.
	StateError State = "error"
	// StatePending: an rbac profile whose app has its credential but whose
	// Exchange role is not confirmed yet (the PowerShell was not run, or
	// Exchange has not applied it: that takes 30 minutes to 2 hours).
	StatePending State = "pending"
)

// Words says what a state means, in plain words, for screens and tables.
func (s State) Words() string {
	switch s {
	case StateAuthorized:
		return "works"
	case StateUnauthorized, "":
		return "not authorized yet"
	case StateReauthorize:
		return "sign in again"
	case StateConsentMissing:
		return "needs admin consent"
	case StateCredentialExpired:
		return "secret or certificate expired"
	case StatePending:
		return "waiting for the Exchange role"
	}
	return "failed; see status"
}

// Symbol returns a one-character mark for the state, so a terminal never has
// to rely on colour alone.
func (s State) Symbol() string {
	switch s {
	case StateAuthorized:
		return "✓"
	case StateConsentMissing, StateReauthorize, StateCredentialExpired:
		return "!"
	case StatePending:
		return "…"
	case StateUnauthorized:
		return "·"
	default:
		return "✗"
	}
}

// Error is a failure explained for the admin: a code to look up, what
// happened, and what to do. Message and Hint never contain secrets.
type Error struct {
	// Code is the most specific code known: AADSTS7000215, ErrorAccessDenied,
	// invalid_grant, network, timeout …
	Code Code `json:"code"`
	// Message says what happened, in one line.
	Message string `json:"message"`
	// Hint says what to do about it.
	Hint string `json:"hint"`
	// State is the status this error puts a profile in.
	State State `json:"-"`
	// HTTPStatus is the response status, if there was a response.
	HTTPStatus int `json:"http_status,omitempty"`
	// Description is Microsoft's error_description or Graph message.
	Description string `json:"description,omitempty"`
	// TraceID and CorrelationID identify the request for Microsoft support.
	TraceID       string `json:"trace_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	// LookupURL is Microsoft's page for an AADSTS code.
	LookupURL string `json:"lookup_url,omitempty"`
	// RetryAfter is the wait a throttled (429) or unavailable (503) answer
	// asked for in Retry-After, when retries gave up; 0 when none.
	RetryAfter time.Duration `json:"-"`
	// Err is the underlying error, if any.
	Err error `json:"-"`
}

func (e *Error) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// FillCommands makes the commands a hint names runnable: each
// "mailgrant VERB PROFILE" becomes prefix (mailgrant with the flags in
// force, such as "mailgrant --sandbox") and the profile's name. Hints in
// this package name commands that way so every front end fills them alike.
func FillCommands(hint, prefix, profile string) string {
	if profile == "" {
		profile = "NAME"
	}
	for _, verb := range []string{"reauth", "status", "rbac-script", "token", "delete", "send"} {
		hint = strings.ReplaceAll(hint, "mailgrant "+verb+" PROFILE", prefix+" "+verb+" "+profile)
	}
	return hint
}

// AsError returns err as an *Error, wrapping unknown errors with StateError.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var ie *InputError
	if errors.As(err, &ie) {
		return &Error{Code: CodeBadInput, Message: ie.Field + ": " + ie.Problem, Hint: ie.Hint, State: StateError, Err: err}
	}
	return &Error{Code: CodeError, Message: SafeText(err.Error()), State: StateError, Err: err}
}

// entry is one line of the error catalogue.
type entry struct {
	cause string
	fix   string
	state State
}

// aadsts explains the AADSTS codes of reference §3–§8.
var aadsts = map[int]entry{
	50011:   {"the redirect URI is not registered for this app", "in Entra, add http://localhost as a redirect URI under the right platform (Mobile and desktop for public clients, Web for confidential ones)", StateError},
	500113:  {"the app has no redirect URI registered", "in Entra, add http://localhost as a redirect URI", StateError},
	50020:   {"the account is not from this tenant", "sign in with an account of this tenant, or invite the user as a guest", StateError},
	50034:   {"the account does not exist in this directory", "check the account name and the tenant", StateError},
	50058:   {"no sign-in session could be used", "run the interactive sign-in again", StateReauthorize},
	50059:   {"no tenant could be determined from the request", "give a tenant ID or domain", StateError},
	50076:   {"multi-factor authentication is required", "re-authorize interactively: mailgrant reauth PROFILE", StateReauthorize},
	50079:   {"the user must register for multi-factor authentication", "the user registers security info, then mailgrant reauth PROFILE", StateReauthorize},
	50126:   {"wrong username or password", "sign in again with the right password", StateReauthorize},
	50173:   {"the grant was revoked (password change or reset, or an admin revoked sessions)", "sign in again: mailgrant reauth PROFILE", StateReauthorize},
	50194:   {"the app is single-tenant but a multi-tenant endpoint (/common) was used", "use the tenant ID or domain instead of common, or make the app multitenant", StateError},
	53003:   {"blocked by Conditional Access", "an admin reviews the Conditional Access policy in the Entra sign-in logs", StateError},
	54005:   {"the authorization code was already redeemed", "start the sign-in again", StateError},
	65001:   {"nobody has consented to this app's permissions", "sign in again and consent, or have an admin grant consent", StateConsentMissing},
	65004:   {"consent was declined", "sign in again and accept, or ask an admin to grant consent", StateConsentMissing},
	70000:   {"the refresh token is invalid", "sign in again: mailgrant reauth PROFILE", StateReauthorize},
	70008:   {"the refresh token or code expired through inactivity", "sign in again: mailgrant reauth PROFILE", StateReauthorize},
	700082:  {"the refresh token expired after 90 days without use", "sign in again: mailgrant reauth PROFILE; use the profile at least every 90 days", StateReauthorize},
	700084:  {"the refresh token of a single-page app expired", "sign in again; register the redirect URI as Mobile and desktop, not SPA", StateReauthorize},
	70043:   {"Conditional Access sign-in frequency requires a new sign-in", "sign in again: mailgrant reauth PROFILE", StateReauthorize},
	70011:   {"the requested scope is invalid", "check the permissions; app-only requests must use https://graph.microsoft.com/.default", StateError},
	70016:   {"the user has not finished signing in yet", "finish the sign-in in the browser", StateError},
	70018:   {"the device code entered is wrong", "type the code exactly as shown", StateError},
	70019:   {"the device code expired", "start the device sign-in again", StateError},
	700016:  {"the application was not found in the tenant", "check the client ID and the tenant; an admin may need to consent to the app in this tenant", StateError},
	700021:  {"the client assertion's issuer or subject is not the client ID", "mailgrant builds the assertion; check the client ID of the profile", StateCredentialExpired},
	700023:  {"the client assertion's audience is wrong", "check the tenant and cloud of the profile", StateCredentialExpired},
	700024:  {"the client assertion is not within its valid time range", "check this machine's clock", StateCredentialExpired},
	700025:  {"a public client sent a client secret or certificate", "remove the credential from the profile, or register the app as a Web (confidential) app", StateError},
	700027:  {"the certificate assertion failed signature validation", "upload this certificate (its thumbprint is in mailgrant status) to the app registration under Certificates & secrets", StateCredentialExpired},
	7000215: {"the client secret is invalid", "copy the secret's Value (not its ID) from Certificates & secrets, or create a new secret", StateCredentialExpired},
	7000218: {"the request needs a client secret or certificate", "in Entra, under Authentication, set \"Allow public client flows\" to Yes, or give the app's client secret", StateError},
	7000222: {"the client secret has expired", "create a new client secret (or switch to a certificate) and run mailgrant reauth PROFILE", StateCredentialExpired},
	90002:   {"the tenant was not found", "check the tenant ID or domain, and the cloud (--cloud)", StateError},
	90014:   {"a required field is missing from the request", "report this as a mailgrant bug with --debug output", StateError},
	90038:   {"the tenant belongs to another national cloud", "pass the right --cloud (usgov, usgovdod, china)", StateError},
	501491:  {"the PKCE code challenge has the wrong size", "report this as a mailgrant bug with --debug output", StateError},
	90120:   {"the device code was already used (authorized or declined)", "start the device sign-in again", StateError},
	50134:   {"the device sign-in went to the wrong datacenter", "start the device sign-in again", StateError},
	50027:   {"the client assertion is not a valid JWT", "re-create the certificate credential: mailgrant reauth PROFILE", StateCredentialExpired},
	90033:   {"Entra is temporarily unavailable", "try again in a few minutes", StateError},
	90094:   {"an administrator must grant consent", "ask a Global Administrator or Privileged Role Administrator to grant admin consent", StateConsentMissing},
	9001023: {"client credentials do not work with /common or /consumers", "use the tenant ID or domain", StateError},
	9002313: {"the request was malformed", "report this as a mailgrant bug with --debug output", StateError},
	9002332: {"the app is for work accounts only, so /consumers cannot be used", "allow personal Microsoft accounts in the app's supported account types", StateError},
	500011:  {"the resource (Microsoft Graph) was not found in the tenant", "check the tenant and cloud", StateError},
	501481:  {"the PKCE code verifier did not match", "start the sign-in again", StateError},
	650057:  {"the permission is not in the app's required permissions", "add the permission under API permissions in the app registration", StateConsentMissing},
}

// oauthErrors explains token-endpoint `error` values when no AADSTS code is known.
var oauthErrors = map[string]entry{
	"invalid_request":         {"the request was invalid", "check the tenant, client ID and permissions", StateError},
	"invalid_grant":           {"the refresh token or code is invalid or expired", "sign in again: mailgrant reauth PROFILE", StateReauthorize},
	"unauthorized_client":     {"the app may not use this grant type", "check the app registration's platform and settings", StateError},
	"invalid_client":          {"client authentication failed", "check the client secret or certificate of the app registration", StateCredentialExpired},
	"unsupported_grant_type":  {"the grant type is not supported", "report this as a mailgrant bug", StateError},
	"invalid_resource":        {"the resource is not configured in the tenant", "check the tenant and cloud", StateError},
	"interaction_required":    {"an interactive sign-in is required", "sign in again: mailgrant reauth PROFILE", StateReauthorize},
	"consent_required":        {"consent is required", "sign in again and consent, or have an admin grant consent", StateConsentMissing},
	"invalid_scope":           {"the requested permission is invalid", "check the permissions of the profile", StateError},
	"temporarily_unavailable": {"Entra is temporarily unavailable", "try again in a few minutes", StateError},
	"access_denied":           {"the sign-in was cancelled or consent was declined", "sign in again and accept", StateConsentMissing},
	"authorization_declined":  {"the user declined the device sign-in", "start again and accept", StateError},
	"expired_token":           {"the device code expired before the sign-in finished", "start the device sign-in again and finish it within the time shown", StateError},
	"bad_verification_code":   {"the device code was not recognized", "start the device sign-in again", StateError},
	"server_error":            {"Entra had an internal error", "try again in a few minutes", StateError},
}

// graphErrors explains Microsoft Graph error codes (reference §9, §10).
var graphErrors = map[string]entry{
	"InvalidAuthenticationToken":          {"Graph refused the access token", "re-authorize the profile: mailgrant reauth PROFILE", StateReauthorize},
	"ErrorAccessDenied":                   {"Graph denied access to the mailbox", "check the granted Mail.Send permission; for app-only, check Exchange scoping (RBAC or application access policy)", StateConsentMissing},
	"Authorization_RequestDenied":         {"the token lacks the permission for this request", "grant the missing permission in the app registration and consent to it", StateConsentMissing},
	"ErrorSendAsDenied":                   {"the signed-in user may not send as that address", "grant the user Send As or Send on Behalf on that mailbox in Exchange, and use Mail.Send.Shared", StateConsentMissing},
	"MailboxNotEnabledForRESTAPI":         {"the account has no Exchange Online mailbox (unlicensed, or hosted on-premises)", "assign an Exchange Online license, or use a mailbox in Exchange Online", StateError},
	"MailboxNotSupportedForRESTAPI":       {"the mailbox cannot be used through Graph", "use a mailbox hosted in Exchange Online", StateError},
	"ErrorInvalidUser":                    {"the mailbox does not exist", "check the address", StateError},
	"ResourceNotFound":                    {"the user or mailbox does not exist", "check the address", StateError},
	"Request_ResourceNotFound":            {"the user does not exist", "check the address", StateError},
	"ErrorInvalidRecipients":              {"the message has no valid recipient", "give at least one --to address", StateError},
	"ErrorMessageSizeExceeded":            {"Exchange refused the message: it is larger than the mailbox may send", "send large files as a link, or have an admin raise the mailbox's limit (Set-Mailbox NAME -MaxSendSize 150MB) and pass the new limit with --max-message-size", StateError},
	"ErrorMimeContentInvalidBase64String": {"the MIME message was not valid base64", "report this as a mailgrant bug", StateError},
	"RequestBodyRead":                     {"Graph could not read the request body", "report this as a mailgrant bug with --debug output", StateError},
	"TooManyRequests":                     {"Graph is throttling this app and mailbox", "wait and try again; send fewer messages at once", StateError},
	"BadRequest":                          {"Graph rejected the request", "check the message and the profile", StateError},
	"ServiceNotAvailable":                 {"Graph is temporarily unavailable", "try again in a few minutes", StateError},
	"generalException":                    {"Graph had an internal error", "try again in a few minutes", StateError},
}

// Explain returns the catalogue's cause and fix for a code: an AADSTS code
// ("AADSTS7000215" or "7000215"), a token-endpoint error, or a Graph code.
func Explain(code string) (cause, fix string, state State, ok bool) {
	if n, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(code), "AADSTS")); err == nil {
		if e, found := aadsts[n]; found {
			return e.cause, e.fix, e.state, true
		}
		return "", "", "", false
	}
	if e, found := oauthErrors[code]; found {
		return e.cause, e.fix, e.state, true
	}
	if e, found := graphErrors[code]; found {
		return e.cause, e.fix, e.state, true
	}
	return "", "", "", false
}

// LookupURL is Microsoft's page for an AADSTS number.
func LookupURL(n int) string {
	return "https://login.microsoftonline.com/error?code=" + strconv.Itoa(n)
}

// networkError explains a transport failure: which host, and what to check.
func networkError(host string, err error) *Error {
	e := &Error{Code: CodeNetwork, State: StateError, Err: err}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var urlErr *url.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Code, e.Message, e.Hint = CodeCancelled, "cancelled", ""
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		e.Code = CodeTimeout
		e.Message = fmt.Sprintf("%s did not answer in time", host)
		e.Hint = "check your network connection, and HTTPS_PROXY if you are behind a proxy"
	case errors.As(err, &dnsErr):
		e.Code = CodeDNS
		e.Message = fmt.Sprintf("cannot resolve %s", host)
		e.Hint = "check DNS and the host name (MAILGRANT_LOGIN_HOST / MAILGRANT_GRAPH_HOST if set)"
	case errors.As(err, &urlErr) && strings.Contains(urlErr.Err.Error(), "proxyconnect"):
		e.Code = CodeProxy
		e.Message = fmt.Sprintf("the proxy refused or failed the connection to %s", host)
		e.Hint = "check HTTPS_PROXY / NO_PROXY"
	case errors.As(err, &opErr):
		e.Message = fmt.Sprintf("cannot connect to %s: %s", host, opErr.Err)
		e.Hint = "check your network connection, firewall, and HTTPS_PROXY if you are behind a proxy"
	default:
		e.Message = fmt.Sprintf("request to %s failed", host)
		e.Hint = "check your network connection, and HTTPS_PROXY if you are behind a proxy"
	}
	return e
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
