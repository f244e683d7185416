package flows

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mailgrant/mailgrant/store"
)

// An rbac profile is scoped in Exchange Online one of two ways (reference
// §11): RBAC for Applications, where the app must NOT hold tenant-wide
// Mail.Send in Entra, or a legacy ApplicationAccessPolicy, which narrows a
// tenant-wide Mail.Send the app MUST hold. The profile records which
// (store.Profile.Scoping), and the status check follows it.

// ParseScoping reads --scoping.
func ParseScoping(s string) (store.Scoping, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "rbac":
		return store.ScopingRBAC, nil
	case "policy", "access-policy", "legacy-policy":
		return store.ScopingPolicy, nil
	}
	return "", &InputError{Field: "scoping", Problem: fmt.Sprintf("unknown scoping %s", shown(s)), Hint: "use rbac (RBAC for Applications, the default) or policy (a legacy ApplicationAccessPolicy)"}
}

// ParsePolicyAccess reads --policy-access: the policy's -AccessRight.
func ParsePolicyAccess(s string) (store.PolicyAccess, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "restrict", "restrictaccess":
		return store.PolicyRestrict, nil
	case "deny", "denyaccess":
		return store.PolicyDeny, nil
	}
	return "", &InputError{Field: "policy-access", Problem: fmt.Sprintf("unknown access right %s", shown(s)), Hint: "use RestrictAccess (only the group's members, the default) or DenyAccess (everyone but the group's members)"}
}

// SetScoping records a new profile's Exchange scoping, given as setup's
// --scoping and --policy-access take it (the wizard's question gives the same
// words): an rbac profile records rbac or policy, and a policy its access
// right (RestrictAccess unless DenyAccess is asked), so the profile says
// which check applies. A scoping or access right that does not fit the
// scenario is kept for ValidateProfile to refuse, naming the field.
func SetScoping(p store.Profile, scoping, access string) (store.Profile, error) {
	s, err := ParseScoping(scoping)
	if err != nil {
		return p, err
	}
	var a store.PolicyAccess
	if strings.TrimSpace(access) != "" {
		if a, err = ParsePolicyAccess(access); err != nil {
			return p, err
		}
	}
	switch {
	case p.Scenario != store.RBAC && s == store.ScopingRBAC:
		s = "" // nothing to record: only rbac profiles are scoped in Exchange
	case s == store.ScopingPolicy && a == "":
		a = store.PolicyRestrict
	}
	p.Scoping, p.PolicyAccess = s, a
	return p, nil
}

// ChangeScoping switches a stored rbac profile's Exchange scoping, as edit
// --scoping and the wizard's edit screen do, recording what SetScoping
// records for a new profile: RBAC for Applications has no access right; an
// access policy keeps the one it has, or RestrictAccess.
func ChangeScoping(p store.Profile, s store.Scoping) store.Profile {
	p.Scoping = s
	switch {
	case s != store.ScopingPolicy:
		p.PolicyAccess = ""
	case p.PolicyAccess == "":
		p.PolicyAccess = store.PolicyRestrict
	}
	return p
}

// validateScoping checks the scoping fields against the scenario.
func validateScoping(p store.Profile) error {
	if !p.Scoping.Valid() {
		return &InputError{Field: "scoping", Problem: fmt.Sprintf("unknown scoping %s", shown(string(p.Scoping))), Hint: "use rbac or policy"}
	}
	if !p.PolicyAccess.Valid() {
		return &InputError{Field: "policy-access", Problem: fmt.Sprintf("unknown access right %s", shown(string(p.PolicyAccess))), Hint: "use RestrictAccess or DenyAccess"}
	}
	if p.Scoping == store.ScopingPolicy && p.Scenario != store.RBAC {
		return &InputError{Field: "scoping", Problem: "applies to the rbac scenario only", Hint: "use --scenario rbac --scoping policy"}
	}
	if p.PolicyAccess != "" && p.Scoping != store.ScopingPolicy {
		return &InputError{Field: "policy-access", Problem: "applies to an access policy only", Hint: "add --scoping policy, or leave --policy-access out"}
	}
	return nil
}

// ScopingTitle names a profile's Exchange scoping for people.
func ScopingTitle(p store.Profile) string {
	switch {
	case p.Scenario != store.RBAC:
		return ""
	case p.Denies():
		return "ApplicationAccessPolicy (DenyAccess: a block list)"
	case p.UsesPolicy():
		return "ApplicationAccessPolicy (RestrictAccess)"
	}
	return "RBAC for Applications"
}

// AppPermissions are the application permissions an app-only profile needs
// granted in Entra: its permissions, less Mail.Send under RBAC for
// Applications (Exchange grants that per mailbox, and an Entra grant would
// lift the restriction), plus Mail.Send under an access policy (the policy
// narrows it). Delegated profiles need none.
func AppPermissions(p store.Profile) []string {
	if p.Scenario.Delegated() {
		return nil
	}
	isMailSend := func(s string) bool { return strings.EqualFold(s, "Mail.Send") }
	perms := slices.Clone(p.Permissions)
	switch {
	case p.UsesPolicy():
		if !slices.ContainsFunc(perms, isMailSend) {
			perms = append([]string{"Mail.Send"}, perms...)
		}
	case p.Scenario == store.RBAC:
		perms = slices.DeleteFunc(perms, isMailSend)
	}
	return perms
}

// NeedsAdminConsent reports whether an app-only profile's token lacks an
// application permission that only an administrator's consent grants.
func NeedsAdminConsent(p store.Profile, tok *Token) bool {
	return !p.Scenario.Delegated() && tok != nil && LacksAny(tok.Roles, AppPermissions(p))
}

// GrantsMailSendEverywhere reports whether admin consent for the profile
// grants tenant-wide Mail.Send (send-as-any, or rbac under an access policy
// until the policy applies), so the admin is told before consenting.
func GrantsMailSendEverywhere(p store.Profile) bool {
	return slices.ContainsFunc(AppPermissions(p), func(s string) bool { return strings.EqualFold(s, "Mail.Send") })
}

// checkPolicy checks an rbac profile scoped by an ApplicationAccessPolicy:
// the token must carry tenant-wide Mail.Send (the policy narrows it), a send
// as the in-scope account must be accepted, and a send as the out-of-scope
// mailbox must be refused — that refusal is the only proof the policy works.
func (s *Status) checkPolicy(ctx context.Context, env *Env, p store.Profile, tok *Token, o CheckOptions) {
	s.Required = nonNil(AppPermissions(p))
	s.comparePermissions(o, tok.Roles)
	if s.State != "" {
		if slices.ContainsFunc(s.Missing, func(m string) bool { return strings.EqualFold(m, "Mail.Send") }) {
			last := &s.Steps[len(s.Steps)-1]
			e := *last.Err
			e.Hint = "an access policy narrows the tenant-wide application permission Mail.Send, so the app needs it: add Mail.Send (Application) under API permissions and grant admin consent; mailgrant reauth PROFILE opens the consent page"
			last.Err, s.Error = &e, &e
		}
		return
	}
	to := o.TestSendTo
	if to == "" {
		to = p.Account
	}
	if !s.testSend(ctx, env, p, tok, to, o) {
		return
	}
	if p.OutOfScopeMailbox == "" {
		s.add(o, Step{Name: StepScope, Result: StepWarning, Detail: "no out-of-scope mailbox to test: nothing shows that the access policy restricts the app, which holds tenant-wide Mail.Send; set one with " + cmp.Or(o.Command, "mailgrant") + " edit " + p.Name + " --out-of-scope ADDR"})
		return
	}
	s.probeOutOfScope(ctx, env, p, tok, o)
}

// probeOutOfScope sends as the profile's out-of-scope mailbox, which Exchange
// must refuse (ErrorAccessDenied, 403).
func (s *Status) probeOutOfScope(ctx context.Context, env *Env, p store.Profile, tok *Token, o CheckOptions) {
	m := Message{From: p.OutOfScopeMailbox, To: []string{p.OutOfScopeMailbox}, Subject: "mailgrant scope test", Body: "If you read this, the Exchange scope does not restrict this app."}
	err := env.SendMail(ctx, tok.AccessToken, true, m)
	fe := AsError(err)
	where := "out of scope"
	if p.Denies() {
		where = "in the access policy's block list"
	}
	switch {
	case err == nil && p.UsesPolicy():
		s.add(o, Step{Name: StepScope, Result: StepFailed, Detail: "a send as " + p.OutOfScopeMailbox + " was accepted", Err: &Error{
			Code: CodePolicyUnrestricted, State: StateError,
			Message: fmt.Sprintf("the app could send as %s, which should be %s: the access policy does not restrict its tenant-wide Mail.Send", p.OutOfScopeMailbox, where),
			Hint:    "run the policy (mailgrant rbac-script PROFILE prints it), check it with Test-ApplicationAccessPolicy, and allow more than an hour for it to reach Graph",
		}})
	case err == nil:
		s.add(o, Step{Name: StepScope, Result: StepFailed, Detail: "a send as " + p.OutOfScopeMailbox + " was accepted", Err: &Error{
			Code: CodeRBACUnrestricted, State: StateError,
			Message: fmt.Sprintf("the app could send as %s, which should be out of scope", p.OutOfScopeMailbox),
			Hint:    "check the management scope's recipient filter (Test-ServicePrincipalAuthorization), and allow up to 2 hours for RBAC changes to apply",
		}})
	case fe.HTTPStatus == 403:
		detail := fmt.Sprintf("a send as %s was refused (%s)", p.OutOfScopeMailbox, fe.Code)
		if p.Denies() {
			detail = fmt.Sprintf("a send as %s, in the policy's block list, was refused (%s)", p.OutOfScopeMailbox, fe.Code)
		}
		s.add(o, Step{Name: StepScope, Result: StepOK, Detail: detail})
	default:
		s.add(o, Step{Name: StepScope, Result: StepFailed, Detail: fe.Message, Err: fe})
	}
}
