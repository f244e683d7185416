package flows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/assets"
	"github.com/mailgrant/mailgrant/store"
)

// permissionIDs are Microsoft Graph permission ids (reference §12), keyed by
// type and name.
var permissionIDs = map[string]string{
	"Delegated/Mail.Send":             "e383f46e-2787-4529-855e-0e479a3ffac0",
	"Delegated/Mail.Send.Shared":      "a367ab51-6b49-43bf-a716-a1fb06d2a174",
	"Delegated/Mail.ReadWrite":        "024d486e-b451-40bb-833d-3e66d98c5c73",
	"Delegated/Mail.ReadWrite.Shared": "5df07973-7d5d-46ed-9847-1271055cbd51",
	"Delegated/User.Read":             "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
	"Delegated/offline_access":        "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
	"Delegated/openid":                "37f7f235-527c-4136-accd-4a02d197296e",
	"Delegated/profile":               "14dad69e-099b-42c9-810b-d002981feec1",
	"Delegated/email":                 "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
	"Application/Mail.Send":           "b633e1c5-b582-4048-a93e-9f11b44c7e96",
	"Application/Mail.ReadWrite":      "e2a3a72e-5f79-4c64-b1b1-878b674786c9",
	"Application/Calendars.Read":      "798ee544-9d2d-430c-a058-570e29e34338",
	"Application/Files.Read.All":      "01d4889c-1287-42c6-ac1f-5d1e02578ef6",
	"Application/User.Read.All":       "df021288-bdef-4463-88db-98f22de89214",

	"Delegated/Calendars.ReadWrite":   "1ec239c2-d7c9-4623-a91a-a9775856bb36",
	"Application/Calendars.ReadWrite": "ef54d2bf-783f-4e0f-bca1-3210c0444d99",
	"Delegated/Contacts.ReadWrite":    "d56682ec-c09e-4743-aaf4-1a3aac4caa21",
	"Application/Contacts.ReadWrite":  "6918b873-d17a-4dc1-b314-35f528134491",
}

// delegatedOnly are Graph permissions that exist only as delegated
// permissions (reference §12; Microsoft's permissions reference), keyed in
// lower case, with what an app-only profile asks for instead.
var delegatedOnly = map[string]string{
	"files.read":                 "Files.Read.All",
	"files.readwrite":            "Files.ReadWrite.All",
	"user.read":                  "User.Read.All",
	"user.readwrite":             "User.ReadWrite.All",
	"mail.send.shared":           "Mail.Send",
	"mail.read.shared":           "Mail.Read",
	"mail.readwrite.shared":      "Mail.ReadWrite",
	"calendars.read.shared":      "Calendars.Read",
	"calendars.readwrite.shared": "Calendars.ReadWrite",
	"contacts.read.shared":       "Contacts.Read",
	"contacts.readwrite.shared":  "Contacts.ReadWrite",
}

// applicationOnly are Graph permissions that exist only as application
// permissions, keyed in lower case.
var applicationOnly = map[string]bool{
	"application.readwrite.ownedby": true,
}

// validatePermissionKind refuses a permission name that does not exist for
// the scenario's kind (delegated or application), naming the one to use.
func validatePermissionKind(sc store.Scenario, perms []string) error {
	for _, p := range perms {
		key := strings.ToLower(p)
		if instead, ok := delegatedOnly[key]; ok && !sc.Delegated() {
			return &InputError{Field: "permissions", Problem: fmt.Sprintf("%s exists only as a delegated permission; %s is app-only", p, sc), Hint: fmt.Sprintf("use the application permission %s", instead)}
		}
		if applicationOnly[key] && sc.Delegated() {
			return &InputError{Field: "permissions", Problem: fmt.Sprintf("%s exists only as an application permission; %s signs in a user", p, sc), Hint: "choose an app-only scenario (send-as-any or rbac), or a delegated permission"}
		}
	}
	return nil
}

// ScenarioTitle is a scenario's name for people.
func ScenarioTitle(sc store.Scenario) string {
	switch sc {
	case store.SendAsUser:
		return "send as one user (delegated)"
	case store.SendAsAny:
		return "send as any user (application permission)"
	case store.Personal:
		return "a personal Outlook.com account"
	case store.RBAC:
		return "send as chosen mailboxes (application, restricted by Exchange RBAC)"
	}
	return string(sc)
}

// Registration says exactly what to configure in Entra for a profile: the
// platform, the redirect URI, each permission with its type and id, who
// consents, and the client settings.
func Registration(env *Env, p store.Profile) assets.Registration {
	r := assets.Registration{
		ScenarioTitle: ScenarioTitle(p.Scenario),
		Sandbox:       env.Sandbox,
		Portal:        "https://" + env.Cloud.Portal,
		AppName:       strings.TrimSpace("mailgrant " + p.Name),
		AccountTypes:  "Accounts in this organizational directory only (single tenant)",
	}
	perms := slices.Clone(p.Permissions)
	typ := "Application"
	if p.Scenario.Delegated() {
		typ = "Delegated"
		perms = append(perms, "offline_access", "openid", "profile")
	}
	if !p.Scenario.Delegated() {
		perms = AppPermissions(p)
	}
	r.PermissionType = strings.ToLower(typ)
	for _, name := range perms {
		id, ok := permissionIDs[typ+"/"+name]
		if !ok {
			id = "(find its id under API permissions)"
		}
		r.Permissions = append(r.Permissions, assets.Permission{Name: name, Type: typ, ID: id})
	}
	switch p.Scenario {
	case store.SendAsUser:
		r.Platform = "Mobile and desktop applications (public client); for a confidential app: Web, with a client secret"
		r.RedirectURI = "http://localhost"
		r.Consent = "the user consents at the first sign-in; or an admin grants consent for the organization"
		r.PublicClientFlows = "Yes (needed for the device code sign-in over SSH)"
	case store.Personal:
		r.AccountTypes = "Personal Microsoft accounts only (or: any organizational directory and personal accounts)"
		r.Platform = "Mobile and desktop applications"
		r.RedirectURI = "http://localhost"
		r.Consent = "the account owner consents at the first sign-in"
		r.PublicClientFlows = "Yes (needed for the device code sign-in over SSH)"
		r.FixedTenant = "consumers"
	case store.SendAsAny:
		r.Platform = "Web"
		r.RedirectURI = "http://localhost (for the admin-consent redirect)"
		r.Consent = "an administrator (Privileged Role Administrator or Global Administrator) grants admin consent: mailgrant opens the consent page, or use the portal's Grant admin consent button"
		r.Credential = "a client secret (copy its Value) or a certificate (mailgrant can create one to upload)"
		r.Notes = []string{"Mail.Send as an application permission lets the app send as EVERY mailbox in the organization; prefer send-as-user or rbac."}
	case store.RBAC:
		if len(perms) > 0 {
			r.Platform = "Web"
			r.RedirectURI = "http://localhost (for the admin-consent redirect)"
		}
		r.Credential = "a client secret (copy its Value) or a certificate (mailgrant can create one to upload)"
		if p.UsesPolicy() {
			r.Consent = "an administrator grants admin consent for " + strings.Join(perms, ", ") + " (mailgrant opens the consent page); then an Exchange administrator runs the access policy (mailgrant rbac-script " + nameOr(p.Name) + ")"
			r.Notes = []string{"Keep Mail.Send as an application permission: the ApplicationAccessPolicy narrows it in Exchange. Until the policy applies (more than an hour), the app can send as every mailbox."}
			break
		}
		r.Consent = "none in Entra for Mail.Send: Exchange Online grants it to chosen mailboxes (mailgrant rbac-script " + nameOr(p.Name) + ")"
		if len(perms) > 0 {
			r.Consent = "an administrator grants admin consent for " + strings.Join(perms, ", ") + " (mailgrant opens the consent page); " + r.Consent
		}
		r.Notes = []string{"Do NOT add Mail.Send as an application permission in Entra: access is the union of Entra grants and Exchange RBAC, so it would lift the restriction."}
	}
	r.Notes = append(r.Notes, largeMessageNote(p))
	return r
}

// largeMessageNote says what sending messages above about 3.5 MB needs:
// Graph takes them only as a draft plus uploads, and creating a draft
// needs Mail.ReadWrite (reference §9a).
func largeMessageNote(p store.Profile) string {
	const why = "Large messages (above about 3.5 MB, e.g. scans and reports) go through a draft, which needs "
	switch {
	case p.Scenario == store.RBAC:
		return why + "the Exchange RBAC role \"Application Mail.ReadWrite\" assigned to the app with the same scope as Application Mail.Send (nothing in Entra); without it mailgrant refuses such messages."
	case !LacksAny(p.Permissions, []string{"Mail.ReadWrite"}):
		return why + "Mail.ReadWrite: it is in the list above."
	case p.Scenario.Delegated():
		return why + "the delegated permission Mail.ReadWrite (" + permissionIDs["Delegated/Mail.ReadWrite"] + "; Mail.ReadWrite.Shared, " + permissionIDs["Delegated/Mail.ReadWrite.Shared"] + ", to send as another mailbox): add it here and give --permissions Mail.ReadWrite; without it mailgrant refuses such messages."
	}
	return why + "the application permission Mail.ReadWrite (" + permissionIDs["Application/Mail.ReadWrite"] + "), which lets the app read and change every mailbox: add it (and --permissions Mail.ReadWrite) only if you send large messages; without it mailgrant refuses such messages."
}

// RBACScript fills the Exchange PowerShell template's data from a profile;
// prefix is how the admin runs mailgrant ("mailgrant" or "mailgrant --sandbox").
func RBACScript(p store.Profile, prefix string) assets.RBACScript {
	r := assets.RBACScript{
		Profile:    p.Name,
		AppID:      p.ClientID,
		Name:       "mailgrant " + p.Name,
		Group:      p.RBACGroup,
		Mailboxes:  p.RBACMailboxes,
		OutOfScope: p.OutOfScopeMailbox,
		InScope:    []string{p.Account},
		Command:    prefix,
	}
	if len(r.Mailboxes) == 0 && r.Group == "" {
		r.Mailboxes = []string{p.Account}
	}
	if p.UsesPolicy() {
		r.AccessRight = string(store.PolicyRestrict)
		if p.Denies() {
			r.AccessRight = string(store.PolicyDeny)
		}
	}
	return r
}

// WithServicePrincipal fills the script's service principal object ID from
// an app-only token's oid claim (reference §11 (b): New-ServicePrincipal
// needs the ID shown under Enterprise applications, which is what oid is).
// Without a token, or a token without oid, the placeholder stays.
func WithServicePrincipal(r assets.RBACScript, tok *Token, at time.Time) assets.RBACScript {
	if tok == nil || tok.ServicePrincipalID == "" {
		return r
	}
	r.ObjectID = tok.ServicePrincipalID
	r.ObjectIDSource = "the oid claim of an app-only token mailgrant obtained with the profile's credential on " + at.UTC().Format(time.DateOnly)
	return r
}

// RevokeAdvice says what deleting a profile cannot undo on Microsoft's side,
// and how an admin does it.
func RevokeAdvice(p store.Profile) string {
	var b strings.Builder
	b.WriteString("mailgrant cannot revoke anything on Microsoft's side:\n")
	switch {
	case p.Scenario == store.Personal:
		b.WriteString("  - a copy of the refresh token elsewhere stays valid until revoked, and so does the consent: the account owner removes the app at https://account.live.com/consent/Manage (Microsoft account > Privacy > Apps and services)\n")
	case p.Scenario.Delegated():
		fmt.Fprintf(&b, "  - a copy of the refresh token elsewhere stays valid until revoked: Entra admin center > Users > %s > Revoke sessions\n", p.Account)
		b.WriteString("  - the consent stays: the user removes the app at https://myapps.microsoft.com, or an admin in Enterprise applications > Permissions\n")
	default:
		b.WriteString("  - the admin consent stays: remove it in Enterprise applications > the app > Permissions\n")
	}
	if p.Credential == store.CredentialSecret || p.Credential == store.CredentialCertificate {
		fmt.Fprintf(&b, "  - the %s stays valid: delete it in App registrations > %s > Certificates & secrets\n", p.Credential, p.ClientID)
	}
	return b.String()
}

// nameOr is a profile's name, or NAME when none is given yet (a checklist
// printed before the profile is named).
func nameOr(name string) string {
	if name == "" {
		return "NAME"
	}
	return name
}
