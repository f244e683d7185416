package sandbox

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// The sandbox tenant. Its values are fixed so that profiles made in one run
// (or one process) keep working in the next.
const (
	// TenantID is the directory (tenant) ID of the sandbox tenant.
	TenantID = "5a4db0c5-7e4a-4d1b-9c2e-3f6a8b1d2e40"
	// TenantDomain is the initial domain of the sandbox tenant; paths accept
	// it wherever they accept TenantID.
	TenantDomain = "mailgrant-sandbox.onmicrosoft.com"
	// ConsumersTenantID is the tenant of personal Microsoft accounts; paths
	// accept it wherever they accept "consumers" (reference §1).
	ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"
	// GraphAppID is the application ID of Microsoft Graph (reference §12).
	GraphAppID = "00000003-0000-0000-c000-000000000000"
	// GraphResource is the resource id of Microsoft Graph; access tokens carry
	// it as their audience.
	GraphResource = "https://graph.microsoft.com"
)

// App is an app registration in the sandbox tenant.
type App struct {
	// ClientID is the application (client) ID.
	ClientID string
	// Name is the display name shown on sign-in and consent pages.
	Name string
	// Public is true when "Allow public client flows" is on and the app has
	// a "Mobile and desktop" redirect URI: it signs in without a credential
	// and may use the device code flow. A confidential app must present its
	// secret or a certificate at the token endpoint.
	Public bool
	// Secret is the app's client secret, empty when it has none. It is a
	// sandbox value, printed here on purpose so the wizard can prefill it.
	Secret string
	// SecretExpires is when Secret stops working (AADSTS7000222 after it).
	SecretExpires time.Time
	// Delegated lists the delegated Graph permissions an admin has already
	// consented to for every user (short names such as "Mail.Send").
	Delegated []string
	// AppRoles lists the application permissions on the app's required
	// permission list; they are granted only after admin consent.
	AppRoles []string
	// RBAC is true for the app scoped with Exchange RBAC for Applications:
	// it may send app-only as InScopeMailboxes without any Entra app role.
	RBAC bool
	// PersonalAccounts is true when the app accepts personal Microsoft
	// accounts (signInAudience includes MSA), so it may use "consumers".
	PersonalAccounts bool
	// ServicePrincipalID is the object ID of the app's service principal
	// (Enterprise applications); the rbac PowerShell needs it, and app-only
	// tokens carry it as oid.
	ServicePrincipalID string
}

// User is an account or mailbox in the sandbox directory.
type User struct {
	// ID is the user's object ID (oid).
	ID string
	// UPN is the user principal name, also the primary SMTP address.
	UPN string
	// DisplayName is the name shown on pages and returned by Graph.
	DisplayName string
	// Personal is true for personal Microsoft accounts (tenant consumers).
	Personal bool
	// Admin is true for a Global Administrator, who may grant admin consent.
	Admin bool
	// Mailbox is true when the user has an Exchange Online mailbox; sending
	// as a user without one fails with MailboxNotEnabledForRESTAPI.
	Mailbox bool
	// Shared is true for a shared mailbox, which cannot sign in.
	Shared bool
	// SendAs lists the mailboxes this user holds Send As rights on.
	SendAs []string
}

// farFuture is when the sandbox's client secrets expire.
var farFuture = time.Date(2099, time.December, 31, 0, 0, 0, 0, time.UTC)

// delegatedDefaults are the delegated permissions pre-consented for the
// sandbox's delegated apps.
var delegatedDefaults = []string{"Mail.Send", "User.Read", "offline_access", "openid", "profile"}

// The sandbox app registrations.
var (
	// PublicApp is a public client ("Allow public client flows" on, redirect
	// URI http://localhost under "Mobile and desktop") that accepts work and
	// personal accounts, with delegated Mail.Send, User.Read, offline_access,
	// openid and profile pre-consented. Use it for send-as-user and personal.
	PublicApp = App{
		ClientID:           "5a4db0c5-0001-4a00-8000-000000000001",
		Name:               "Mailgrant Sandbox Desktop",
		Public:             true,
		Delegated:          delegatedDefaults,
		PersonalAccounts:   true,
		ServicePrincipalID: "5a4db0c5-5e00-4a00-8000-000000000001",
	}
	// WebApp is a confidential web app (redirect URI http://localhost under
	// "Web") with client secret WebApp.Secret and the same pre-consented
	// delegated permissions as PublicApp; public client flows are off, so
	// the device code flow fails with AADSTS7000218.
	WebApp = App{
		ClientID:           "5a4db0c5-0002-4a00-8000-000000000002",
		Name:               "Mailgrant Sandbox Web Site",
		Secret:             "Sbx8Q~web.sandbox-secret.not-a-real-secret-0002",
		SecretExpires:      farFuture,
		Delegated:          delegatedDefaults,
		ServicePrincipalID: "5a4db0c5-5e00-4a00-8000-000000000002",
	}
	// ExtraApp is a public client like PublicApp that also has Calendars.Read
	// pre-consented, so its tokens carry a permission beyond need.
	ExtraApp = App{
		ClientID:           "5a4db0c5-0003-4a00-8000-000000000003",
		Name:               "Mailgrant Sandbox Over-Permissioned",
		Public:             true,
		Delegated:          append(slices.Clone(delegatedDefaults), "Calendars.Read"),
		ServicePrincipalID: "5a4db0c5-5e00-4a00-8000-000000000003",
	}
	// DaemonApp is a confidential app for app-only sending: application
	// Mail.Send is on its required list (granted after admin consent), it
	// has client secret DaemonApp.Secret, and certificates may be uploaded.
	DaemonApp = App{
		ClientID:           "5a4db0c5-0004-4a00-8000-000000000004",
		Name:               "Mailgrant Sandbox Daemon",
		Secret:             "Sbx8Q~daemon.sandbox-secret.not-a-real-secret-0004",
		SecretExpires:      farFuture,
		AppRoles:           []string{"Mail.Send"},
		ServicePrincipalID: "5a4db0c5-5e00-4a00-8000-000000000004",
	}
	// LargeMailApp is a confidential app like DaemonApp whose required
	// list also holds the application permission Mail.ReadWrite, which
	// sending large messages through drafts needs (reference §9a); it has
	// client secret LargeMailApp.Secret.
	LargeMailApp = App{
		ClientID:           "5a4db0c5-0006-4a00-8000-000000000006",
		Name:               "Mailgrant Sandbox Large Mail Daemon",
		Secret:             "Sbx8Q~large.sandbox-secret.not-a-real-secret-0006",
		SecretExpires:      farFuture,
		AppRoles:           []string{"Mail.Send", "Mail.ReadWrite"},
		ServicePrincipalID: "5a4db0c5-5e00-4a00-8000-000000000006",
	}
	// RBACApp is a confidential app without tenant-wide Mail.Send whose
	// Exchange RBAC for Applications scope is InScopeMailboxes; it has
	// client secret RBACApp.Secret, and certificates may be uploaded.
	RBACApp = App{
		ClientID:           "5a4db0c5-0005-4a00-8000-000000000005",
		Name:               "Mailgrant Sandbox Scoped Daemon",
		Secret:             "Sbx8Q~rbac.sandbox-secret.not-a-real-secret-0005",
		SecretExpires:      farFuture,
		RBAC:               true,
		ServicePrincipalID: "5a4db0c5-5e00-4a00-8000-000000000005",
	}
)

// Apps lists every sandbox app registration.
var Apps = []App{PublicApp, WebApp, ExtraApp, DaemonApp, RBACApp, LargeMailApp}

// The sandbox directory's users and mailboxes.
var (
	// AdeleVance is an ordinary licensed user with Send As rights on
	// InfoMailbox.
	AdeleVance = User{ID: "5a4db0c5-1000-4b00-8000-000000000001", UPN: "adele.vance@" + TenantDomain, DisplayName: "Adele Vance", Mailbox: true, SendAs: []string{"info@" + TenantDomain}}
	// AlexWilber is a Global Administrator with a mailbox.
	AlexWilber = User{ID: "5a4db0c5-1000-4b00-8000-000000000002", UPN: "alex.wilber@" + TenantDomain, DisplayName: "Alex Wilber", Admin: true, Mailbox: true}
	// MeganBowen is an ordinary licensed user.
	MeganBowen = User{ID: "5a4db0c5-1000-4b00-8000-000000000003", UPN: "megan.bowen@" + TenantDomain, DisplayName: "Megan Bowen", Mailbox: true}
	// LeeGu is an unlicensed user: can sign in, has no mailbox.
	LeeGu = User{ID: "5a4db0c5-1000-4b00-8000-000000000004", UPN: "lee.gu@" + TenantDomain, DisplayName: "Lee Gu (unlicensed)"}
	// InfoMailbox is a shared mailbox; it cannot sign in.
	InfoMailbox = User{ID: "5a4db0c5-1000-4b00-8000-000000000005", UPN: "info@" + TenantDomain, DisplayName: "Sandbox Info (shared)", Mailbox: true, Shared: true}
	// SamPersonal is a personal Microsoft account (Outlook.com).
	SamPersonal = User{ID: "00000000-0000-0000-5a4d-b0c500000006", UPN: "sam.personal@outlook.com", DisplayName: "Sam Personal", Personal: true, Mailbox: true}
	// KimPersonal is a personal Microsoft account (Hotmail).
	KimPersonal = User{ID: "00000000-0000-0000-5a4d-b0c500000007", UPN: "kim@hotmail.com", DisplayName: "Kim Akers", Personal: true, Mailbox: true}
)

// Users lists every account and mailbox of the sandbox, work ones first.
var Users = []User{AdeleVance, AlexWilber, MeganBowen, LeeGu, InfoMailbox, SamPersonal, KimPersonal}

// InScopeMailboxes are the mailboxes RBACApp may send as (its Exchange
// management scope).
var InScopeMailboxes = []string{AdeleVance.UPN, MeganBowen.UPN}

// OutOfScopeMailboxes are work mailboxes outside RBACApp's scope; sending as
// them app-only fails with ErrorAccessDenied "Access to OData is disabled.".
var OutOfScopeMailboxes = []string{AlexWilber.UPN}

// tenantKind is what a {tenant} path segment names.
type tenantKind int

const (
	tenantUnknown tenantKind = iota
	tenantOwn                // TenantID or TenantDomain
	tenantOrganizations
	tenantCommon
	tenantConsumers
)

// resolveTenant maps a {tenant} path segment, case-insensitively.
func resolveTenant(s string) tenantKind {
	switch strings.ToLower(s) {
	case TenantID, TenantDomain:
		return tenantOwn
	case "organizations":
		return tenantOrganizations
	case "common":
		return tenantCommon
	case "consumers", ConsumersTenantID:
		return tenantConsumers
	}
	return tenantUnknown
}

// allowsWork reports whether work accounts may sign in on this tenant value.
func (k tenantKind) allowsWork() bool {
	return k == tenantOwn || k == tenantOrganizations || k == tenantCommon
}

// allowsPersonal reports whether personal accounts may sign in on it.
func (k tenantKind) allowsPersonal() bool {
	return k == tenantConsumers || k == tenantCommon
}

// UsersFor returns the users who may sign in on a tenant value: work users
// (shared mailboxes included) for TenantID, TenantDomain and
// "organizations"; personal users for "consumers" (or its GUID); both for
// "common"; nil for an unknown tenant. The comparison ignores case.
func UsersFor(tenant string) []User {
	k := resolveTenant(tenant)
	var out []User
	for _, u := range Users {
		if (u.Personal && k.allowsPersonal()) || (!u.Personal && k.allowsWork()) {
			out = append(out, u)
		}
	}
	return out
}

// signInUsers are the users offered on a sign-in page: those of the tenant
// that can sign in (no shared mailboxes), personal ones only if the app
// accepts them.
func signInUsers(k tenantKind, app App) []User {
	var out []User
	for _, u := range Users {
		if u.Shared {
			continue
		}
		if u.Personal && k.allowsPersonal() && app.PersonalAccounts {
			out = append(out, u)
		}
		if !u.Personal && k.allowsWork() {
			out = append(out, u)
		}
	}
	return out
}

// appByID finds an app registration by client ID, ignoring case.
func appByID(clientID string) (App, bool) {
	for _, a := range Apps {
		if strings.EqualFold(a.ClientID, strings.TrimSpace(clientID)) {
			return a, true
		}
	}
	return App{}, false
}

// userByName finds a user by UPN or object ID, ignoring case.
func userByName(name string) (User, bool) {
	for _, u := range Users {
		if strings.EqualFold(u.UPN, name) || strings.EqualFold(u.ID, name) {
			return u, true
		}
	}
	return User{}, false
}

// tenantOf is the tid of a user's tokens.
func (u User) tenantOf() string {
	if u.Personal {
		return ConsumersTenantID
	}
	return TenantID
}

// canSendAs reports whether u holds Send As on mailbox.
func (u User) canSendAs(mailbox string) bool {
	for _, m := range u.SendAs {
		if strings.EqualFold(m, mailbox) {
			return true
		}
	}
	return false
}

// inScope reports whether mailbox is in RBACApp's Exchange management scope.
func inScope(mailbox string) bool {
	for _, m := range InScopeMailboxes {
		if strings.EqualFold(m, mailbox) {
			return true
		}
	}
	return false
}

// validRedirectURI reports whether uri matches the registered redirect URI
// http://localhost: scheme http, host localhost or 127.0.0.1, any port (Entra
// ignores the port of loopback URIs, reference §3), an optional path, and
// no query, fragment or user info. [::1] is not supported, as in Entra.
func validRedirectURI(uri string) bool {
	if uri == "" || len(uri) > 256 {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	host := u.Hostname()
	if !strings.EqualFold(host, "localhost") && host != "127.0.0.1" {
		return false
	}
	if p := u.Port(); p != "" {
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return !strings.ContainsAny(uri, "!$'(),;")
}
