package sandbox

import (
	"os"
	"strings"
)

// Faults are switches that make the sandbox misbehave the way a real tenant
// can, so that every error path of mailgrant can be tried without a tenant.
// Pass them in Options.Faults, in the comma-separated environment variable
// MAILGRANT_SANDBOX_FAULTS (read by FaultsFromEnv), or change them while the
// server runs with Server.SetFaults. Unknown names are ignored.
const (
	// FaultRevoked makes every refresh_token grant fail with invalid_grant
	// AADSTS50173, as after a password reset or an admin revoking sessions.
	FaultRevoked = "revoked"
	// FaultMissingScope leaves delegated Mail.Send out of the token response's
	// scope and the access token's scp, as when consent was never granted.
	FaultMissingScope = "missing-scope"
	// FaultMissingRole leaves the application permission Mail.Send out of the
	// roles of app-only tokens.
	FaultMissingRole = "missing-role"
	// FaultRBACTenantWide gives RBACApp a tenant-wide Mail.Send app role in
	// Entra, the misconfiguration that defeats Exchange RBAC scoping.
	FaultRBACTenantWide = "rbac-tenant-wide"
	// FaultExpiredSecret makes a correct client secret fail with
	// invalid_client AADSTS7000222 (secret expired).
	FaultExpiredSecret = "expired-secret"
	// FaultDeclinedConsent makes the admin consent page report that consent
	// was declined (consent_required, AADSTS65004) whatever is clicked.
	FaultDeclinedConsent = "declined-consent"
	// FaultPublicFlowsDisabled makes device-code redemption fail with
	// invalid_client AADSTS7000218, as when "Allow public client flows" is off.
	FaultPublicFlowsDisabled = "public-flows-disabled"
	// FaultThrottle makes every Options.ThrottleEvery-th Graph request fail
	// with 429 TooManyRequests and Retry-After: 1.
	FaultThrottle = "throttle"
	// FaultServerError makes the token and device-code endpoints answer 503
	// temporarily_unavailable.
	FaultServerError = "server-error"
	// FaultSingleUseRefresh makes a refresh token redeemable once (Entra
	// keeps the old one valid; some identity providers do not). Tests use it
	// to show that concurrent mailgrant processes never redeem one refresh
	// token twice.
	FaultSingleUseRefresh = "single-use-refresh"
	// FaultUploadInterrupt makes the second chunk of every upload session
	// fail with 500 after keeping half its bytes, as a connection cut
	// mid-chunk does; the session's nextExpectedRanges then says where to
	// resume.
	FaultUploadInterrupt = "upload-interrupt"
)

// FaultsEnv is the environment variable FaultsFromEnv reads: a comma-separated
// list of fault names.
const FaultsEnv = "MAILGRANT_SANDBOX_FAULTS"

// FaultNames lists every fault switch the sandbox knows, in the order help
// shows them. FaultDescriptions holds a one-line description of each.
var FaultNames = []string{
	FaultRevoked,
	FaultMissingScope,
	FaultMissingRole,
	FaultRBACTenantWide,
	FaultExpiredSecret,
	FaultDeclinedConsent,
	FaultPublicFlowsDisabled,
	FaultThrottle,
	FaultServerError,
	FaultSingleUseRefresh,
	FaultUploadInterrupt,
}

// FaultDescriptions maps each name in FaultNames to a one-line description
// of what the fault does.
var FaultDescriptions = map[string]string{
	FaultRevoked:             "refresh tokens are refused as revoked (invalid_grant, AADSTS50173)",
	FaultMissingScope:        "delegated tokens come without Mail.Send (consent missing)",
	FaultMissingRole:         "app-only tokens come without the Mail.Send role (admin consent missing)",
	FaultRBACTenantWide:      "RBACApp also holds tenant-wide Mail.Send in Entra, defeating RBAC scoping",
	FaultExpiredSecret:       "client secrets are refused as expired (invalid_client, AADSTS7000222)",
	FaultDeclinedConsent:     "admin consent always ends declined (consent_required, AADSTS65004)",
	FaultPublicFlowsDisabled: "device-code redemption fails as if public client flows were off (AADSTS7000218)",
	FaultThrottle:            "every ThrottleEvery-th Graph request gets 429 TooManyRequests with Retry-After: 1",
	FaultServerError:         "the token and device-code endpoints answer 503 temporarily_unavailable",
	FaultSingleUseRefresh:    "a refresh token works once; a second redemption fails (invalid_grant, AADSTS70000)",
	FaultUploadInterrupt:     "the second chunk of each attachment upload session fails with 500 after half of it arrived",
}

// KnownFault reports whether name is one of FaultNames.
func KnownFault(name string) bool {
	_, ok := FaultDescriptions[name]
	return ok
}

// FaultsFromEnv returns the fault names listed in MAILGRANT_SANDBOX_FAULTS,
// trimmed and lower-cased, without empty entries. It returns nil when the
// variable is unset or empty.
func FaultsFromEnv() []string {
	return parseFaults(os.Getenv(FaultsEnv))
}

func parseFaults(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// faultSet is a set of fault names.
type faultSet map[string]bool

func newFaultSet(names []string) faultSet {
	fs := faultSet{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n != "" {
			fs[n] = true
		}
	}
	return fs
}

// SetFaults replaces the fault switches while the server runs; with no
// arguments it clears them all.
func (s *Server) SetFaults(f ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = newFaultSet(f)
}

// fault reports whether the named fault is switched on.
func (s *Server) fault(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[name]
}
