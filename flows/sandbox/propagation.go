package sandbox

import (
	"strings"
	"time"
)

// FaultSlowConsent makes a new admin consent take SlowConsentDelay to reach
// app-only tokens, as Entra's replication does (often minutes): until then
// client-credentials tokens come without the consented roles.
const FaultSlowConsent = "slow-consent"

// SlowConsentDelay is how long FaultSlowConsent holds back a new consent.
const SlowConsentDelay = 1500 * time.Millisecond

func init() {
	FaultNames = append(FaultNames, FaultSlowConsent)
	FaultDescriptions[FaultSlowConsent] = "a new admin consent reaches app-only tokens only after a short delay, as Entra's replication does"
}

// appliedRoles is what of an app's consented roles its tokens carry now.
func (s *Server) appliedRoles(clientID string, roles []string) []string {
	if len(roles) == 0 || !s.fault(FaultSlowConsent) {
		return roles
	}
	ts, err := s.state.read()
	if err != nil {
		return roles
	}
	if s.now().Sub(ts.AdminConsents[strings.ToLower(clientID)].GrantedAt) < SlowConsentDelay {
		return nil
	}
	return roles
}
