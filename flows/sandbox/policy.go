package sandbox

import (
	"slices"
	"strings"
)

// The sandbox can simulate an Exchange Online ApplicationAccessPolicy on
// RBACApp (reference §11 (a)), switched on like a fault. With either switch,
// RBACApp also holds tenant-wide Mail.Send in Entra, as the policy route
// requires, and the policy narrows it:
const (
	// FaultAccessPolicy is a RestrictAccess policy: RBACApp may send only
	// as InScopeMailboxes.
	FaultAccessPolicy = "access-policy"
	// FaultAccessPolicyDeny is a DenyAccess policy (a block list): RBACApp
	// may send as every mailbox except OutOfScopeMailboxes.
	FaultAccessPolicyDeny = "access-policy-deny"
)

func init() {
	// Kept in this file, beside the code that enforces them.
	FaultNames = append(FaultNames, FaultAccessPolicy, FaultAccessPolicyDeny)
	FaultDescriptions[FaultAccessPolicy] = "RBACApp holds tenant-wide Mail.Send, narrowed by a RestrictAccess ApplicationAccessPolicy to the in-scope mailboxes"
	FaultDescriptions[FaultAccessPolicyDeny] = "RBACApp holds tenant-wide Mail.Send, narrowed by a DenyAccess ApplicationAccessPolicy that blocks the out-of-scope mailboxes"
}

// tenantWideForRBAC reports whether RBACApp holds tenant-wide Mail.Send in
// Entra: by mistake (FaultRBACTenantWide) or for an access policy.
func (s *Server) tenantWideForRBAC() bool {
	return s.fault(FaultRBACTenantWide) || s.fault(FaultAccessPolicy) || s.fault(FaultAccessPolicyDeny)
}

// appMayUse decides whether an app-only token may send as mailbox in
// Exchange: with Mail.Send granted in Entra, unless an access policy on the
// app excludes the mailbox ("DenyAccess wins over RestrictAccess"); without
// it, only within RBACApp's RBAC scope.
func (s *Server) appMayUse(c accessClaims, app App, mailbox string) *graphError {
	if !c.hasRole("Mail.Send") {
		if !inScope(mailbox) {
			return errODataDenied
		}
		return nil
	}
	if !app.RBAC {
		return nil
	}
	blocked := func(list []string) bool {
		return slices.ContainsFunc(list, func(m string) bool { return strings.EqualFold(m, mailbox) })
	}
	switch {
	case s.fault(FaultAccessPolicyDeny) && blocked(OutOfScopeMailboxes):
		return errODataDenied
	case s.fault(FaultAccessPolicy) && !inScope(mailbox):
		return errODataDenied
	}
	return nil
}
