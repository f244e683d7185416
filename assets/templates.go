package assets

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"sync"
	"text/template"
)

//go:embed registration.tmpl rbac.ps1.tmpl rbac-legacy.ps1.tmpl
var templates embed.FS

// textTmpl is parsed on first use, not in init: most runs render none.
var textTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{"join": strings.Join, "ps": psQuote}).ParseFS(templates, "*.tmpl"))
})

// psQuote makes a PowerShell single-quoted string literal, in which nothing
// expands: an address may contain $ and would otherwise run as code.
func psQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Permission is one Graph permission of a registration checklist.
type Permission struct {
	// Name is the permission, such as Mail.Send.
	Name string
	// Type is Delegated or Application.
	Type string
	// ID is the permission's GUID, or a note when it is not known.
	ID string
}

// Registration is what the admin configures in Entra for one profile.
type Registration struct {
	ScenarioTitle     string
	Sandbox           bool
	Portal            string
	AppName           string
	AccountTypes      string
	Platform          string
	RedirectURI       string
	PermissionType    string
	Permissions       []Permission
	Consent           string
	PublicClientFlows string
	Credential        string
	Notes             []string
	FixedTenant       string
}

// RenderRegistration renders the app-registration checklist.
func RenderRegistration(r Registration) string {
	return render("registration.tmpl", r)
}

// RBACScript is the input of the Exchange Online PowerShell templates.
type RBACScript struct {
	// Profile is the mailgrant profile name.
	Profile string
	// AppID is the application (client) ID.
	AppID string
	// Name names the service principal and the scope in Exchange.
	Name string
	// Group is a mail-enabled group whose members the app may send as.
	Group string
	// Mailboxes are listed mailboxes, used when Group is empty.
	Mailboxes []string
	// InScope are mailboxes to test as allowed; OutOfScope one to test as refused.
	InScope    []string
	OutOfScope string
	// Command is how the admin runs mailgrant ("mailgrant" or "mailgrant --sandbox").
	Command string
	// AccessRight is the access policy's -AccessRight: RestrictAccess (the
	// default when empty) or DenyAccess, where Group and Mailboxes are the
	// mailboxes the app must NOT reach.
	AccessRight string
	// ObjectID is the service principal's object ID; empty leaves a
	// placeholder for the admin to fill in.
	ObjectID string
	// ObjectIDSource says where ObjectID came from, for the script's comment.
	ObjectIDSource string
}

// Deny reports whether the access policy is a block list.
func (r RBACScript) Deny() bool { return r.AccessRight == "DenyAccess" }

// Filter is the OPATH recipient filter for listed mailboxes.
func (r RBACScript) Filter() string {
	parts := make([]string, len(r.Mailboxes))
	for i, m := range r.Mailboxes {
		parts[i] = fmt.Sprintf("PrimarySmtpAddress -eq '%s'", strings.ReplaceAll(m, "'", "''"))
	}
	return strings.Join(parts, " -or ")
}

// RenderRBACScript renders the RBAC for Applications script, or with legacy
// the ApplicationAccessPolicy one.
func RenderRBACScript(r RBACScript, legacy bool) string {
	if legacy {
		return render("rbac-legacy.ps1.tmpl", r)
	}
	return render("rbac.ps1.tmpl", r)
}

func render(name string, data any) string {
	var b bytes.Buffer
	if err := textTmpl().ExecuteTemplate(&b, name, data); err != nil {
		panic(fmt.Sprintf("assets: template %s: %v", name, err)) // templates are compiled in; a failure is a bug
	}
	return b.String()
}
