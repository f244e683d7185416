package flows

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"github.com/mailgrant/mailgrant/store"
)

// The validators below check one field each and return an *InputError that
// names the field, what is wrong, and how to fix it. The wizard runs them as
// the admin types; commands run them before anything is written.

var (
	guidRe   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRe = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)
	permRe   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$`)
)

// shown quotes a value for an error message, unless it is long enough to be
// a secret pasted into the wrong field: then only its length is shown.
func shown(v string) string {
	if len(v) > 40 {
		return fmt.Sprintf("the value given (%d characters)", len(v))
	}
	return fmt.Sprintf("%q", v)
}

// IsGUID reports whether s has the 8-4-4-4-12 hex form of a GUID.
func IsGUID(s string) bool { return guidRe.MatchString(s) }

// ValidateTenant checks a tenant for a scenario: a GUID or a domain for work
// scenarios; consumers (or its GUID) for personal accounts.
func ValidateTenant(sc store.Scenario, tenant string) error {
	t := strings.TrimSpace(tenant)
	field := "tenant"
	if t == "" {
		return &InputError{Field: field, Problem: "is empty", Hint: "give the Directory (tenant) ID from the app's Overview page, or a domain such as contoso.onmicrosoft.com"}
	}
	lower := strings.ToLower(t)
	if sc == store.Personal {
		if lower == "consumers" || lower == ConsumersTenantID {
			return nil
		}
		return &InputError{Field: field, Problem: fmt.Sprintf("%s is not the personal-account tenant", shown(t)), Hint: "personal Outlook.com accounts use the tenant consumers"}
	}
	switch lower {
	case "consumers", ConsumersTenantID:
		return &InputError{Field: field, Problem: "consumers is for personal Microsoft accounts", Hint: "use your organization's tenant ID or domain, or choose the personal scenario"}
	case "common", "organizations":
		if !sc.Delegated() {
			return &InputError{Field: field, Problem: lower + " cannot be used without a signed-in user", Hint: "app-only access needs your tenant's ID or domain (reference: client credentials require a real tenant)"}
		}
		return &InputError{Field: field, Problem: lower + " does not name one tenant", Hint: "use your tenant ID or domain, so only accounts of your organization can sign in"}
	}
	if IsGUID(t) || domainRe.MatchString(t) {
		return nil
	}
	return &InputError{Field: field, Problem: fmt.Sprintf("%s is neither a tenant ID nor a domain", shown(t)), Hint: "a tenant ID looks like 72f988bf-86f1-41af-91ab-2d7cd011db47; a domain like contoso.onmicrosoft.com"}
}

// ValidateClientID checks an application (client) ID.
func ValidateClientID(id string) error {
	id = strings.TrimSpace(id)
	if id == "" {
		return &InputError{Field: "client-id", Problem: "is empty", Hint: "copy the Application (client) ID from the app registration's Overview page"}
	}
	if !IsGUID(id) {
		return &InputError{Field: "client-id", Problem: fmt.Sprintf("%s is not a GUID", shown(id)), Hint: "copy the Application (client) ID (not the object ID or the secret) from the Overview page; it looks like 1b2c3d4e-…"}
	}
	return nil
}

// ValidateAccount checks the account: the user who signs in (delegated) or
// the mailbox used for test sends (app-only).
func ValidateAccount(sc store.Scenario, account string) error {
	a := strings.TrimSpace(account)
	if a == "" {
		if sc.Delegated() {
			return &InputError{Field: "account", Problem: "is empty", Hint: "give the address of the account that will sign in, such as mailer@contoso.com"}
		}
		return &InputError{Field: "account", Problem: "is empty", Hint: "give a mailbox the app may send as, used for test messages"}
	}
	addr, err := mail.ParseAddress(a)
	if err != nil || addr.Address != a || !strings.Contains(a, "@") {
		return &InputError{Field: "account", Problem: fmt.Sprintf("%s is not an email address or user principal name", shown(a)), Hint: "use the form name@domain, without a display name"}
	}
	_, domain, _ := strings.Cut(a, "@")
	if !domainRe.MatchString(domain) {
		return &InputError{Field: "account", Problem: fmt.Sprintf("%s has no valid domain", shown(a)), Hint: "use the form name@domain"}
	}
	return nil
}

// ValidatePermissions checks a list of Graph permission names.
func ValidatePermissions(perms []string) error {
	if len(perms) == 0 {
		return &InputError{Field: "permissions", Problem: "is empty", Hint: "list at least Mail.Send"}
	}
	for _, p := range perms {
		if !permRe.MatchString(p) {
			return &InputError{Field: "permissions", Problem: fmt.Sprintf("%q is not a Graph permission name", p), Hint: "use names such as Mail.Send or Files.Read.All, separated by commas"}
		}
		if isOIDC(p) {
			return &InputError{Field: "permissions", Problem: fmt.Sprintf("%q is added by mailgrant itself", p), Hint: "list only Graph permissions such as Mail.Send"}
		}
	}
	return nil
}

// ParsePermissions splits a comma- or space-separated list.
func ParsePermissions(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

// DefaultPermissions are the Graph permissions a scenario needs.
func DefaultPermissions(sc store.Scenario) []string {
	switch sc {
	case store.SendAsUser, store.Personal:
		return []string{"Mail.Send", "User.Read"}
	default:
		return []string{"Mail.Send"}
	}
}

// AddPermissions is the scenario's permissions followed by the extra ones
// it lacks (compared case-insensitively): `--permissions` adds to what the
// scenario needs rather than replacing it, so that asking for Files.Read.All
// does not drop User.Read, which the account check needs.
func AddPermissions(sc store.Scenario, extra []string) []string {
	out := DefaultPermissions(sc)
	for _, p := range extra {
		if p != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, p) }) {
			out = append(out, p)
		}
	}
	return out
}

// ValidateProfile checks every field of a profile before it is used.
func ValidateProfile(p store.Profile) error {
	if err := store.ValidateName(p.Name); err != nil {
		return &InputError{Field: "profile", Problem: err.Error(), Hint: "for example wordpress or backup-mailer"}
	}
	if !p.Scenario.Valid() {
		return &InputError{Field: "scenario", Problem: fmt.Sprintf("unknown scenario %q", p.Scenario), Hint: "use send-as-user, send-as-any, personal or rbac"}
	}
	if p.Cloud != "" {
		if _, ok := Clouds[p.Cloud]; !ok {
			return &InputError{Field: "cloud", Problem: fmt.Sprintf("unknown cloud %q", p.Cloud), Hint: "use one of " + strings.Join(CloudNames, ", ")}
		}
	}
	if err := ValidateTenant(p.Scenario, p.Tenant); err != nil {
		return err
	}
	if err := ValidateClientID(p.ClientID); err != nil {
		return err
	}
	if err := ValidateAccount(p.Scenario, p.Account); err != nil {
		return err
	}
	if err := ValidatePermissions(p.Permissions); err != nil {
		return err
	}
	return validateRBAC(p)
}

// validateRBAC checks the Exchange scoping fields that go into PowerShell.
func validateRBAC(p store.Profile) error {
	if p.OutOfScopeMailbox != "" {
		if err := ValidateAccount(p.Scenario, p.OutOfScopeMailbox); err != nil {
			return &InputError{Field: "out-of-scope", Problem: err.(*InputError).Problem, Hint: "give the address of a mailbox the app must not send as"}
		}
	}
	for _, m := range p.RBACMailboxes {
		if err := ValidateAccount(p.Scenario, m); err != nil {
			return &InputError{Field: "rbac-mailboxes", Problem: err.(*InputError).Problem, Hint: "list mailbox addresses separated by commas"}
		}
	}
	if len(p.RBACGroup) > 256 || strings.ContainsFunc(p.RBACGroup, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return &InputError{Field: "rbac-group", Problem: "is not a group name or address", Hint: "give the mail-enabled group's name or address"}
	}
	return nil
}
