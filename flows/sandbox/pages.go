package sandbox

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// The sandbox's pages: small, accessible HTML with a banner that says they
// are simulated. Forms the fake browser (and tests) may drive carry a
// data-sandbox-form attribute naming the form's kind. They are parsed on
// first use, not in init: only a run with --sandbox serves them.
var pages = sync.OnceValue(func() *template.Template { return template.Must(template.New("pages").Parse(pagesText)) })

const pagesText = `
{{define "top"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}} — Mailgrant sandbox</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:0 auto;padding:1rem;line-height:1.5;color:#1b1b1b;background:#fff}
.banner{background:#fff4ce;border:2px solid #8a6d00;padding:.5rem 1rem;margin-bottom:1rem}
fieldset{border:1px solid #767676;margin:1rem 0;padding:.5rem 1rem}
button{font:inherit;font-size:1rem;min-height:44px;min-width:44px;padding:.4rem 1.2rem;margin:0 .5rem .5rem 0}
input{font:inherit;font-size:16px}
input[type=text]{min-height:44px;box-sizing:border-box;width:100%;max-width:20rem;padding:.3rem .5rem}
#code{font-size:1.5rem;letter-spacing:.15em;font-family:ui-monospace,monospace}
input[type=radio]{width:24px;height:24px;margin:0 .5rem 0 0;vertical-align:middle}
.choice{display:flex;align-items:center;min-height:44px}
.choice label{padding:.5rem 0;flex:1}
.warning{border-left:4px solid #8a6d00;background:#fff4ce;padding:.5rem 1rem}
@media (prefers-color-scheme: dark){body{color:#e6e6e6;background:#1b1b1b}.banner,.warning{background:#3d3300;border-color:#e0c000}code{background:#333}a{color:#8ab4f8}}
.error{border-left:4px solid #a80000;padding-left:1rem}
code{background:#f3f3f3;padding:0 .2rem}
:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
</style>
</head>
<body>
<header class="banner" role="banner"><p><strong>Mailgrant sandbox — simulated sign-in, not Microsoft.</strong> Nothing here reaches Microsoft; no password is asked for.</p></header>
<main>
{{end}}

{{define "bottom"}}
</main>
</body>
</html>
{{end}}

{{define "form"}}{{template "top" .}}
<h1>{{.Heading}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .AppName}}<p><strong>{{.AppName}}</strong> ({{.ClientID}}) {{.Intro}}</p>{{end}}
{{if .Permissions}}
<h2>Permissions requested</h2>
<ul>
{{range .Permissions}}<li><code>{{.Name}}</code>{{if .Description}} — {{.Description}}{{end}}</li>
{{end}}</ul>
{{range .Permissions}}{{if and (eq $.Kind "adminconsent") (eq .Name "Mail.Send")}}<p class="warning" role="note"><strong>This app could send mail as every mailbox in the organization.</strong> <code>Mail.Send</code> as an application permission is not limited to one user: whoever holds the app's secret or certificate can send as anyone, including executives and shared mailboxes. Accept only if that is intended; otherwise restrict it with Exchange RBAC for Applications.</p>{{end}}{{end}}
{{end}}
<form method="post" action="{{.Action}}" data-sandbox-form="{{.Kind}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}
{{if .Users}}<fieldset>
<legend>{{.UserLegend}}</legend>
{{range $i, $u := .Users}}<div class="choice"><input type="radio" id="user{{$i}}" name="user" value="{{$u.UPN}}"{{if $u.Checked}} checked{{end}}> <label for="user{{$i}}">{{$u.DisplayName}} &lt;{{$u.UPN}}&gt;{{if $u.Note}} ({{$u.Note}}){{end}}</label></div>
{{end}}</fieldset>{{end}}
<p><button type="submit" name="action" value="accept">{{.AcceptLabel}}</button>
<button type="submit" name="action" value="cancel">Cancel</button></p>
</form>
{{template "bottom" .}}{{end}}

{{define "devicecode"}}{{template "top" .}}
<h1>Enter code</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<p>Enter the code displayed by the application to allow it to access your account.</p>
<form method="post" action="/devicelogin" data-sandbox-form="devicecode">
<p><label for="code">Code</label><br>
<input type="text" id="code" name="code" autocomplete="off" autocapitalize="characters" spellcheck="false" required value="{{.Code}}"></p>
<p><button type="submit">Next</button></p>
</form>
{{template "bottom" .}}{{end}}

{{define "error"}}{{template "top" .}}
<h1>Sign-in failed</h1>
<div class="error" role="alert">
<p><strong>AADSTS{{.Code}}</strong>: {{.Text}}</p>
<p>Error: <code>{{.Class}}</code></p>
</div>
<p>Trace ID: {{.TraceID}}<br>Correlation ID: {{.CorrelationID}}<br>Timestamp: {{.Timestamp}}</p>
<p>More information: <a href="https://login.microsoftonline.com/error?code={{.Code}}">AADSTS{{.Code}}</a>.</p>
{{template "bottom" .}}{{end}}

{{define "message"}}{{template "top" .}}
<h1>{{.Title}}</h1>
<p role="status">{{.Text}}</p>
{{template "bottom" .}}{{end}}

{{define "formpost"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Working…</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{{.Action}}" data-sandbox-autopost="true">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>Script is disabled. Click Submit to continue.</p><button type="submit">Submit</button></noscript>
</form>
</body></html>
{{end}}

{{define "index"}}{{template "top" .}}
<h1>Mailgrant sandbox tenant</h1>
<p>Tenant ID <code>{{.TenantID}}</code>, domain <code>{{.TenantDomain}}</code>.</p>
<h2>App registrations</h2>
<table>
<thead><tr><th scope="col">Name</th><th scope="col">Client ID</th><th scope="col">Kind</th></tr></thead>
<tbody>
{{range .Apps}}<tr><td>{{.Name}}</td><td><code>{{.ClientID}}</code></td><td>{{if .Public}}public client{{else}}confidential client{{end}}{{if .RBAC}}, Exchange RBAC scoped{{end}}</td></tr>
{{end}}</tbody>
</table>
<h2>Users and mailboxes</h2>
<ul>
{{range .Users}}<li>{{.DisplayName}} <code>{{.UPN}}</code>{{if .Admin}} — Global Administrator{{end}}{{if .Shared}} — shared mailbox{{end}}{{if .Personal}} — personal account{{end}}{{if not .Mailbox}} — no mailbox{{end}}</li>
{{end}}</ul>
{{template "bottom" .}}{{end}}
`

// hiddenField is one hidden input of a form.
type hiddenField struct{ Name, Value string }

// permRow is one requested permission on a consent page.
type permRow struct{ Name, Description string }

// userRow is one account on a sign-in page.
type userRow struct {
	UPN, DisplayName, Note string
	Checked                bool
}

// formPage is the data of the "form" template (sign-in, device sign-in and
// admin consent pages).
type formPage struct {
	Title, Heading, Intro, Error string
	AppName, ClientID            string
	Kind                         string // data-sandbox-form value
	Action                       string
	AcceptLabel, UserLegend      string
	Permissions                  []permRow
	Users                        []userRow
	Hidden                       []hiddenField
}

// permissionText describes the permissions a consent page lists.
var permissionText = map[string]string{
	"openid":           "Sign you in",
	"profile":          "View your basic profile",
	"email":            "View your email address",
	"offline_access":   "Maintain access to data you have given it access to",
	"User.Read":        "Sign you in and read your profile",
	"Mail.Send":        "Send mail as you",
	"Mail.Send.Shared": "Send mail on behalf of others or as a shared mailbox",
	"Mail.Read":        "Read your mail",
	"Calendars.Read":   "Read your calendars",
	"Files.Read.All":   "Read all files you can access",
}

// appRoleText describes application permissions on the admin consent page.
var appRoleText = map[string]string{
	"Mail.Send":      "Send mail as any user — every mailbox in the organization (application permission)",
	"Calendars.Read": "Read calendars in all mailboxes (application permission)",
	"Files.Read.All": "Read files in all site collections (application permission)",
}

// permissionRows lists a delegated grant for a page.
func permissionRows(g delegatedGrant) []permRow {
	var rows []permRow
	for _, p := range append(append([]string(nil), g.Graph...), g.OIDC...) {
		rows = append(rows, permRow{Name: p, Description: permissionText[p]})
	}
	return rows
}

// hiddenFrom turns request parameters into hidden inputs, in name order,
// leaving out the page's own fields and anything that could be a secret.
func hiddenFrom(v url.Values, skip ...string) []hiddenField {
	drop := map[string]bool{"user": true, "action": true, "client_secret": true, "client_assertion": true, "code_verifier": true}
	for _, s := range skip {
		drop[s] = true
	}
	names := make([]string, 0, len(v))
	for n := range v {
		if !drop[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []hiddenField
	for _, n := range names {
		for _, val := range v[n] {
			out = append(out, hiddenField{Name: n, Value: val})
		}
	}
	return out
}

// userRows lists users as radio buttons, checking the hinted one (or the
// first when no hint matches).
func userRows(users []User, hint string, note func(User) string) []userRow {
	rows := make([]userRow, 0, len(users))
	checked := -1
	for i, u := range users {
		r := userRow{UPN: u.UPN, DisplayName: u.DisplayName}
		if note != nil {
			r.Note = note(u)
		}
		if checked < 0 && hint != "" && (strings.EqualFold(u.UPN, hint) || strings.EqualFold(u.ID, hint)) {
			checked = i
		}
		rows = append(rows, r)
	}
	if checked < 0 && len(rows) > 0 {
		checked = 0
	}
	if checked >= 0 {
		rows[checked].Checked = true
	}
	return rows
}

// render executes a page template with the given status. Pages are never
// cached and may not be framed.
func render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action *")
	w.WriteHeader(status)
	_ = pages().ExecuteTemplate(w, name, data)
}

// renderError shows an Entra error as a page, for errors that must not be
// redirected (unknown app, unregistered redirect URI, bad tenant).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	status := e.Status
	if status == http.StatusUnauthorized {
		status = http.StatusBadRequest
	}
	body := s.errorBody(r, e)
	render(w, status, "error", map[string]any{
		"Title": "Sign-in error", "Code": e.Code, "Text": e.Text, "Class": e.Err,
		"TraceID": body.TraceID, "CorrelationID": body.CorrelationID, "Timestamp": body.Timestamp,
	})
}

// renderMessage shows a short page with a title and one sentence.
func renderMessage(w http.ResponseWriter, status int, title, text string) {
	render(w, status, "message", map[string]any{"Title": title, "Text": text})
}

// serveIndex shows the sandbox's directory at /.
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, "index", map[string]any{
		"Title": "Directory", "TenantID": TenantID, "TenantDomain": TenantDomain, "Apps": Apps, "Users": Users,
	})
}
