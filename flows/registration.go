package flows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mailgrant/mailgrant/assets"
	"github.com/mailgrant/mailgrant/store"
)

// permissionIDs are Microsoft Graph permission ids (reference §12), keyed by
// type and name.
var permissionIDs = map[string]string{
	"Delegated/Mail.Send":        "e383f46e-2787-4529-855e-0e479a3ffac0",
	"Delegated/Mail.Send.Shared": "a367ab51-6b49-43bf-a716-a1fb06d2a174",
	"Delegated/User.Read":        "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
	"Delegated/offline_access":   "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
	"Delegated/openid":           "37f7f235-527c-4136-accd-4a02d197296e",
	"Delegated/profile":          "14dad69e-099b-42c9-810b-d002981feec1",
	"Delegated/email":            "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
	"Application/Mail.Send":      "b633e1c5-b582-4048-a93e-9f11b44c7e96",
	"Application/Mail.ReadWrite": "e2a3a72e-5f79-4c64-b1b1-878b674786c9",
	"Application/Calendars.Read": "798ee544-9d2d-430c-a058-570e29e34338",
	"Application/Files.Read.All": "01d4889c-1287-42c6-ac1f-5d1e02578ef6",
	"Application/User.Read.All":  "df021288-bdef-4463-88db-98f22de89214",
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
	if p.Scenario == store.RBAC {
		perms = slices.DeleteFunc(perms, func(s string) bool { return strings.EqualFold(s, "Mail.Send") })
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
		r.Consent = "none in Entra for Mail.Send: Exchange Online grants it to chosen mailboxes (mailgrant rbac-script " + nameOr(p.Name) + " prints the PowerShell once the profile exists)"
		r.Credential = "a client secret (copy its Value) or a certificate (mailgrant can create one to upload)"
		r.Notes = []string{"Do NOT add Mail.Send as an application permission in Entra: access is the union of Entra grants and Exchange RBAC, so it would lift the restriction."}
	}
	return r
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
