package tui

import (
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// field is one input of the details form, in the order shown.
type field int

const (
	fieldProfile field = iota
	fieldTenant
	fieldClientID
	fieldAccount
	fieldPermissions
	fieldSecret
	fieldCount
)

// labelWidth is the width of the label column of the form.
const labelWidth = 16

// defaultProfileName is the profile name offered when none is given.
const defaultProfileName = "mailer"

// detailsScreen is the form of everything a sign-in needs. Each field is
// validated as it is typed (textinput's Validate sets Err, shown under the
// field) and again on submit.
type detailsScreen struct {
	st       styles
	keys     detailsKeys
	width    int
	scenario store.Scenario
	// base is the profile being re-authorized, or a new one; the form
	// replaces the fields it shows and keeps the others.
	base     store.Profile
	inputs   []textinput.Model
	focus    field
	existing map[string]bool
	// allow is an existing profile name that may be reused: the one being
	// re-authorized.
	allow    string
	accounts []string
	note     string
	prefix   string
}

// newDetailsScreen builds the form for a new profile of a scenario, filled
// from d.Prefill and the scenario's defaults.
func newDetailsScreen(st styles, d Deps, sc store.Scenario, allow string) detailsScreen {
	pf := d.Prefill
	perms := pf.Permissions
	if len(perms) == 0 {
		perms = flows.DefaultPermissions(sc)
	}
	tenant := pf.Tenant
	if sc == store.Personal && flows.ValidateTenant(sc, tenant) != nil {
		tenant = "consumers"
	}
	name := pf.Profile
	if name == "" {
		name = defaultProfileName
	}
	base := store.Profile{Name: name, Scenario: sc, Tenant: tenant, ClientID: pf.ClientID, Account: pf.Account, Permissions: perms}
	if d.Env != nil {
		base.Cloud = d.Env.Cloud.Name
	}
	return newDetailsForm(st, d, base, allow)
}

// detailsFromProfile builds the form for re-authorizing a stored profile.
func detailsFromProfile(st styles, d Deps, p store.Profile) detailsScreen {
	if d.Env != nil && p.Cloud == "" {
		p.Cloud = d.Env.Cloud.Name
	}
	return newDetailsForm(st, d, p, p.Name)
}

func newDetailsForm(st styles, d Deps, base store.Profile, allow string) detailsScreen {
	s := detailsScreen{
		st: st, keys: newDetailsKeys(), scenario: base.Scenario, base: base, allow: allow,
		accounts: d.Prefill.Accounts, note: d.Prefill.Note, prefix: d.CommandPrefix,
		existing: map[string]bool{},
	}
	s.inputs = make([]textinput.Model, fieldCount)
	for i := range s.inputs {
		in := textinput.New()
		in.Prompt = ""
		in.SetStyles(inputStyles())
		in.CharLimit = 256
		s.inputs[i] = in
	}
	s.inputs[fieldProfile].CharLimit = 64
	s.inputs[fieldTenant].Placeholder = "Directory (tenant) ID or domain"
	s.inputs[fieldClientID].Placeholder = "Application (client) ID"
	s.inputs[fieldAccount].Placeholder = "name@domain"
	s.inputs[fieldPermissions].Placeholder = strings.Join(flows.DefaultPermissions(base.Scenario), ", ")
	s.inputs[fieldSecret].EchoMode = textinput.EchoPassword
	s.inputs[fieldSecret].EchoCharacter = '•'
	if base.Scenario.Delegated() {
		s.inputs[fieldSecret].Placeholder = "leave empty for a public client (Mobile and desktop app)"
	} else {
		s.inputs[fieldSecret].Placeholder = "the secret's Value from Certificates & secrets"
	}
	s.setValidators()
	for f, v := range map[field]string{
		fieldProfile: base.Name, fieldTenant: base.Tenant, fieldClientID: base.ClientID,
		fieldAccount: base.Account, fieldPermissions: strings.Join(base.Permissions, ", "),
	} {
		if v != "" {
			s.inputs[f].SetValue(v)
		}
	}
	s.focus = fieldProfile
	if allow != "" {
		s.focus = fieldTenant
	}
	s.inputs[s.focus].Focus()
	s.setSize(80)
	return s
}

// setValidators gives every field its validator; the name's depends on the
// existing profiles.
func (s *detailsScreen) setValidators() {
	sc, existing, allow, prefix := s.scenario, s.existing, s.allow, s.prefix
	s.inputs[fieldProfile].Validate = func(v string) error {
		if err := store.ValidateName(v); err != nil {
			return &flows.InputError{Field: "profile", Problem: err.Error(), Hint: "for example wordpress or backup-mailer"}
		}
		if existing[v] && v != allow {
			return &flows.InputError{Field: "profile", Problem: fmt.Sprintf("a profile named %s exists", v), Hint: fmt.Sprintf("choose another name or run %s reauth %s", prefix, v)}
		}
		return nil
	}
	s.inputs[fieldTenant].Validate = func(v string) error { return flows.ValidateTenant(sc, v) }
	s.inputs[fieldClientID].Validate = flows.ValidateClientID
	s.inputs[fieldAccount].Validate = func(v string) error { return flows.ValidateAccount(sc, v) }
	s.inputs[fieldPermissions].Validate = func(v string) error {
		return flows.ValidatePermissions(flows.ParsePermissions(v))
	}
	s.inputs[fieldSecret].Validate = func(v string) error {
		if v == "" && !sc.Delegated() {
			return &flows.InputError{Field: "client-secret", Problem: "is empty", Hint: "app-only access needs the app's client secret"}
		}
		if strings.TrimSpace(v) != v {
			return &flows.InputError{Field: "client-secret", Problem: "starts or ends with a space", Hint: "copy the secret's Value exactly"}
		}
		return nil
	}
}

// setExisting tells the form which profile names are taken, and checks the
// name again.
func (s detailsScreen) setExisting(names []string) detailsScreen {
	if s.inputs == nil {
		return s
	}
	s.existing = map[string]bool{}
	for _, n := range names {
		s.existing[n] = true
	}
	s.setValidators()
	if v := s.inputs[fieldProfile].Value(); v != "" {
		s.inputs[fieldProfile].Err = s.inputs[fieldProfile].Validate(v)
	}
	return s
}

// withSecret fills the client secret field (a re-authorization whose
// secret was read from the keyring).
func (s detailsScreen) withSecret(secret string) detailsScreen {
	if s.inputs != nil && secret != "" {
		s.inputs[fieldSecret].SetValue(secret)
	}
	return s
}

func (s *detailsScreen) setSize(w int) {
	s.width = w
	for i := range s.inputs {
		s.inputs[i].SetWidth(max(10, w-labelWidth-3))
	}
}

// Update moves between fields, types into the focused one, and submits.
func (s detailsScreen) Update(msg tea.Msg) (detailsScreen, tea.Cmd) {
	if s.inputs == nil {
		return s, nil
	}
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		var cmd tea.Cmd
		s.inputs[s.focus], cmd = s.inputs[s.focus].Update(msg)
		return s, cmd
	}
	switch {
	case key.Matches(km, s.keys.Submit):
		return s.submit()
	case key.Matches(km, s.keys.Enter):
		if s.focus == fieldCount-1 {
			return s.submit()
		}
		return s.focusOn(s.focus + 1)
	case key.Matches(km, s.keys.Next):
		return s.focusOn((s.focus + 1) % fieldCount)
	case key.Matches(km, s.keys.Prev):
		return s.focusOn((s.focus + fieldCount - 1) % fieldCount)
	case key.Matches(km, s.keys.Back):
		return s, emit(backRequestedMsg{})
	}
	var cmd tea.Cmd
	s.inputs[s.focus], cmd = s.inputs[s.focus].Update(km)
	return s, cmd
}

// focusOn moves the focus to field f.
func (s detailsScreen) focusOn(f field) (detailsScreen, tea.Cmd) {
	s.inputs[s.focus].Blur()
	s.focus = f
	return s, s.inputs[f].Focus()
}

// submit validates every field; it stays on the first bad one, or emits
// detailsEnteredMsg.
func (s detailsScreen) submit() (detailsScreen, tea.Cmd) {
	for f := range fieldCount {
		in := &s.inputs[f]
		in.Err = in.Validate(in.Value())
		if in.Err != nil {
			return s.focusOn(f)
		}
	}
	p := s.base
	p.Name = s.value(fieldProfile)
	p.Scenario = s.scenario
	p.Tenant = s.value(fieldTenant)
	p.ClientID = s.value(fieldClientID)
	p.Account = s.value(fieldAccount)
	p.Permissions = flows.ParsePermissions(s.value(fieldPermissions))
	secret := s.inputs[fieldSecret].Value()
	p.Credential = store.CredentialNone
	if secret != "" {
		p.Credential = store.CredentialSecret
	}
	return s, emit(detailsEnteredMsg{Profile: p, ClientSecret: secret})
}

func (s detailsScreen) value(f field) string {
	if s.inputs == nil {
		return ""
	}
	return strings.TrimSpace(s.inputs[f].Value())
}

// labels names the fields; the account is a test mailbox for app-only
// scenarios.
func (s detailsScreen) label(f field) string {
	switch f {
	case fieldProfile:
		return "Profile name"
	case fieldTenant:
		return "Tenant"
	case fieldClientID:
		return "Client ID"
	case fieldAccount:
		if !s.scenario.Delegated() {
			return "Test mailbox"
		}
		return "Account"
	case fieldPermissions:
		return "Permissions"
	default:
		return "Client secret"
	}
}

// View renders the form, each field's error under it.
func (s detailsScreen) View() string {
	if s.inputs == nil {
		return ""
	}
	var b strings.Builder
	title := "New authorization: " + scenarioInfos[s.scenario].Title + " (" + string(s.scenario) + ")"
	if s.allow != "" {
		title = "Re-authorize " + s.allow + " (" + string(s.scenario) + ")"
	}
	b.WriteString(paint(s.st.title, wrap(title, s.width)) + "\n")
	if s.note != "" {
		b.WriteString(paint(s.st.subtle, wrap(s.note, s.width)) + "\n")
	}
	b.WriteString("\n")
	sub := max(10, s.width-labelWidth-2)
	under := strings.Repeat(" ", labelWidth+2)
	for f := range fieldCount {
		in := s.inputs[f]
		label := pad(s.label(f), labelWidth)
		if f == s.focus {
			b.WriteString(s.st.selected.Render("> "+label) + in.View() + "\n")
		} else {
			b.WriteString("  " + s.st.label.Render(label) + in.View() + "\n")
		}
		if in.Err != nil {
			b.WriteString(indent(fieldError(s.st, in.Err, sub), under) + "\n")
		}
		if f == fieldAccount && len(s.accounts) > 0 {
			b.WriteString(indent(paint(s.st.subtle, wrap("sandbox users: "+groupAccounts(s.accounts), sub)), under) + "\n")
		}
	}
	return b.String()
}

// fieldError shows a validation error: the field, what is wrong, and the
// hint on its own line.
func fieldError(st styles, err error, width int) string {
	var ie *flows.InputError
	if !errors.As(err, &ie) {
		return paint(st.bad, wrap("✗ "+err.Error(), width))
	}
	out := paint(st.bad, wrap("✗ "+ie.Field+": "+ie.Problem, width))
	if ie.Hint != "" {
		out += "\n" + paint(st.subtle, wrap(ie.Hint, width))
	}
	return out
}

// groupAccounts lists addresses compactly, the local parts of each domain
// together: "adele.vance, alex.wilber (@contoso.com); sam@outlook.com".
func groupAccounts(accounts []string) string {
	var domains []string
	locals := map[string][]string{}
	for _, a := range accounts {
		local, domain, ok := strings.Cut(a, "@")
		if !ok {
			local, domain = a, ""
		}
		if _, seen := locals[domain]; !seen {
			domains = append(domains, domain)
		}
		locals[domain] = append(locals[domain], local)
	}
	groups := make([]string, 0, len(domains))
	for _, d := range domains {
		switch l := locals[d]; {
		case d == "":
			groups = append(groups, strings.Join(l, ", "))
		case len(l) == 1:
			groups = append(groups, l[0]+"@"+d)
		default:
			groups = append(groups, strings.Join(l, ", ")+" (@"+d+")")
		}
	}
	return strings.Join(groups, "; ")
}
