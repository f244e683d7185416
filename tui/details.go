package tui

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// labelWidth is the width of the label column of the form.
const labelWidth = 16

// defaultProfileName is the profile name offered when none is given.
const defaultProfileName = "mailer"

// detailsScreen is the form of everything an authorization needs. Each field
// is validated as it is typed (textinput's Validate sets Err, shown under
// the field) and again on submit; files named on it are read on submit, in
// a command, and their errors shown on their field.
type detailsScreen struct {
	st       styles
	keys     detailsKeys
	width    int
	height   int
	scenario store.Scenario
	// base is the profile being re-authorized, or a new one; the form
	// replaces the fields it shows and keeps the others.
	base   store.Profile
	inputs []textinput.Model
	focus  field
	// choices are the credential kinds offered (app-only), choice the one
	// picked.
	choices []credChoice
	choice  int
	// scoping and access index the Exchange scoping picked for an rbac
	// profile (scopingChoices) and the access policy's right
	// (accessChoices).
	scoping, access int
	// stored is the credential kept in the keyring, when re-authorizing.
	stored   *flows.AppCredential
	existing map[string]bool
	// allow is an existing profile name that may be reused: the one being
	// re-authorized.
	allow    string
	accounts []string
	note     string
	prefix   string
	// env gives the clock for the certificate check.
	env *flows.Env
	// checking is the attempt of the file check running after submit.
	checking int
	// nameTouched is true once the profile name was typed into; until then
	// a taken name is replaced by a free one (proposed).
	nameTouched bool
	proposed    string
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
	if sc == store.RBAC {
		base.OutOfScopeMailbox = pf.OutOfScope
		base.Scoping, base.PolicyAccess = pf.Scoping, pf.PolicyAccess
		base.RBACGroup, base.RBACMailboxes = pf.RBACGroup, pf.RBACMailboxes
	}
	if d.Env != nil {
		base.Cloud = d.Env.Cloud.Name
	}
	s := newDetailsForm(st, d, base, allow)
	if pf.ClientSecret != "" {
		s.inputs[fieldSecret].SetValue(pf.ClientSecret)
	}
	return s
}

// detailsFromProfile builds the form for re-authorizing a stored profile.
func detailsFromProfile(st styles, d Deps, p store.Profile) detailsScreen {
	if d.Env != nil && p.Cloud == "" {
		p.Cloud = d.Env.Cloud.Name
	}
	s := newDetailsForm(st, d, p, p.Name)
	if p.Credential == store.CredentialCertificate {
		s.choice = slices.Index(s.choices, credCertFile)
	}
	return s
}

func newDetailsForm(st styles, d Deps, base store.Profile, allow string) detailsScreen {
	s := detailsScreen{
		st: st, keys: newDetailsKeys(), scenario: base.Scenario, base: base, allow: allow,
		accounts: d.Prefill.Accounts, note: d.Prefill.Note, prefix: d.CommandPrefix,
		existing: map[string]bool{}, env: d.Env,
	}
	if !base.Scenario.Delegated() {
		s.choices = []credChoice{credSecret, credCertFile, credNewCert}
	}
	if base.UsesPolicy() {
		s.scoping = slices.Index(scopingChoices, store.ScopingPolicy)
	}
	if base.Denies() {
		s.access = slices.Index(accessChoices, store.PolicyDeny)
	}
	s.inputs = newInputs(base.Scenario)
	s.setValidators()
	for f, v := range map[field]string{
		fieldProfile: base.Name, fieldTenant: base.Tenant, fieldClientID: base.ClientID,
		fieldAccount: base.Account, fieldPermissions: strings.Join(base.Permissions, ", "),
		fieldOutOfScope: base.OutOfScopeMailbox, fieldRBACGroup: base.RBACGroup,
		fieldRBACMailboxes: strings.Join(base.RBACMailboxes, ", "),
		fieldCertDays:      strconv.Itoa(defaultCertDays),
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
	s.setKeys()
	s.setSize(80, 0)
	return s
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
	v := s.inputs[fieldProfile].Value()
	if v != "" && !s.nameTouched && s.allow == "" && s.existing[v] {
		free := freeName(v, s.existing)
		s.proposed = v
		s.inputs[fieldProfile].SetValue(free)
		s.inputs[fieldProfile].CursorEnd()
		v = free
	}
	if v != "" {
		s.inputs[fieldProfile].Err = s.inputs[fieldProfile].Validate(v)
	}
	return s
}

// freeName is name, or name-2, name-3 … whichever is not taken.
func freeName(name string, taken map[string]bool) string {
	for i := 2; ; i++ {
		n := name + "-" + strconv.Itoa(i)
		if !taken[n] {
			return n
		}
	}
}

// withSecret fills the client secret field (a re-authorization whose
// secret was read from the keyring).
func (s detailsScreen) withSecret(secret string) detailsScreen {
	if s.inputs != nil && secret != "" {
		s.inputs[fieldSecret].SetValue(secret)
	}
	return s
}

// withStored offers the credential read from the keyring: its secret fills
// the secret field, its certificate becomes the "stored certificate" choice.
func (s detailsScreen) withStored(cred flows.AppCredential) detailsScreen {
	if s.inputs == nil {
		return s
	}
	s.stored = &cred
	switch {
	case cred.Cert != nil:
		s.choices = []credChoice{credStored, credSecret, credCertFile, credNewCert}
		s.choice = 0
	case cred.Secret != "":
		s.inputs[fieldSecret].SetValue(cred.Secret)
		s.choice = slices.Index(s.choices, credSecret)
	}
	return s
}

// setSize gives the form its width and the height it may use (0: any).
func (s *detailsScreen) setSize(w, h int) {
	s.width, s.height = w, h
	for i := range s.inputs {
		s.inputs[i].SetWidth(max(10, w-labelWidth-3))
	}
}

// setKeys enables the choice key on the fields picked with ←/→ only.
func (s *detailsScreen) setKeys() {
	s.keys.Choose.SetEnabled(isChoice(s.focus))
}

// Update moves between fields, types into the focused one, and submits.
func (s detailsScreen) Update(msg tea.Msg) (detailsScreen, tea.Cmd) {
	if s.inputs == nil {
		return s, nil
	}
	switch msg := msg.(type) {
	case credentialCheckedMsg:
		if msg.Attempt == 0 || msg.Attempt != s.checking {
			return s, nil
		}
		return s.credentialChecked(msg)
	case tea.KeyPressMsg:
		return s.updateKeys(msg)
	}
	if isChoice(s.focus) {
		return s, nil
	}
	if _, paste := msg.(tea.PasteMsg); paste && s.focus == fieldProfile {
		s.nameTouched, s.proposed = true, ""
	}
	var cmd tea.Cmd
	s.inputs[s.focus], cmd = s.inputs[s.focus].Update(msg)
	return s, cmd
}

func (s detailsScreen) updateKeys(km tea.KeyPressMsg) (detailsScreen, tea.Cmd) {
	fs := s.fields()
	at := max(0, slices.Index(fs, s.focus))
	switch {
	case key.Matches(km, s.keys.Submit):
		return s.submit()
	case key.Matches(km, s.keys.Enter):
		if at == len(fs)-1 {
			return s.submit()
		}
		return s.focusOn(fs[at+1])
	case key.Matches(km, s.keys.Next):
		return s.focusOn(fs[(at+1)%len(fs)])
	case key.Matches(km, s.keys.Prev):
		return s.focusOn(fs[(at+len(fs)-1)%len(fs)])
	case key.Matches(km, s.keys.Registration):
		return s, emit(registrationRequestedMsg{Profile: s.profileSoFar()})
	case key.Matches(km, s.keys.Back):
		return s, emit(backRequestedMsg{})
	case key.Matches(km, s.keys.Choose):
		return s.choose(km.String() == "left"), nil
	}
	if isChoice(s.focus) {
		return s, nil
	}
	if s.focus == fieldProfile {
		s.nameTouched, s.proposed = true, ""
	}
	var cmd tea.Cmd
	s.inputs[s.focus], cmd = s.inputs[s.focus].Update(km)
	return s, cmd
}

// choose picks the next (or, back, the previous) option of the focused
// choice field.
func (s detailsScreen) choose(back bool) detailsScreen {
	next := func(i, n int) int {
		if back {
			return (i + n - 1) % n
		}
		return (i + 1) % n
	}
	switch s.focus {
	case fieldCredential:
		s.choice = next(s.choice, len(s.choices))
	case fieldScoping:
		s.scoping = next(s.scoping, len(scopingChoices))
	case fieldPolicyAccess:
		s.access = next(s.access, len(accessChoices))
	}
	return s
}

// focusOn moves the focus to field f.
func (s detailsScreen) focusOn(f field) (detailsScreen, tea.Cmd) {
	s.inputs[s.focus].Blur()
	s.focus = f
	s.setKeys()
	if isChoice(f) {
		return s, nil
	}
	return s, s.inputs[f].Focus()
}

// submit validates every field shown; it stays on the first bad one. Files
// are then read in a command (credentialCheckedMsg); otherwise it emits
// detailsEnteredMsg.
func (s detailsScreen) submit() (detailsScreen, tea.Cmd) {
	for _, f := range s.fields() {
		if isChoice(f) {
			continue
		}
		in := &s.inputs[f]
		if in.Validate == nil {
			continue
		}
		in.Err = in.Validate(in.Value())
		if in.Err != nil {
			return s.focusOn(f)
		}
	}
	if f, err := s.crossCheck(); err != nil {
		s.inputs[f].Err = err
		return s.focusOn(f)
	}
	switch s.credential() {
	case credCertFile:
		s.checking = nextAttempt()
		return s, loadCertificate(s.env, s.checking, s.value(fieldCertFile), s.inputs[fieldCertPassword].Value())
	case credNewCert:
		s.checking = nextAttempt()
		return s, checkNewCertificatePath(s.checking, s.value(fieldNewCert))
	}
	return s, emit(s.entered(nil))
}

// crossCheck finds mistakes that involve two fields.
func (s detailsScreen) crossCheck() (field, error) {
	if s.scenario != store.RBAC {
		return 0, nil
	}
	if oos := s.value(fieldOutOfScope); oos != "" && strings.EqualFold(oos, s.value(fieldAccount)) {
		return fieldOutOfScope, &flows.InputError{Field: "out-of-scope", Problem: "is the test mailbox", Hint: "give a mailbox outside the scope, or leave it empty"}
	}
	if s.value(fieldRBACGroup) != "" && s.value(fieldRBACMailboxes) != "" {
		return fieldRBACMailboxes, &flows.InputError{Field: "rbac-mailboxes", Problem: "a group and mailboxes are both given", Hint: "give a group or a list of mailboxes, not both"}
	}
	return 0, nil
}

// credentialChecked shows a file's error on its field, or submits.
func (s detailsScreen) credentialChecked(msg credentialCheckedMsg) (detailsScreen, tea.Cmd) {
	s.checking = 0
	if msg.Err != nil {
		f := msg.Field
		var ie *flows.InputError
		if errors.As(msg.Err, &ie) && ie.Field == "certificate-password" {
			f = fieldCertPassword
		}
		s.inputs[f].Err = msg.Err
		return s.focusOn(f)
	}
	return s, emit(s.entered(msg.Cert))
}

// entered is the event of a valid form; cert is the certificate read from
// the file named on it, if any.
func (s detailsScreen) entered(cert *flows.Certificate) detailsEnteredMsg {
	p := s.profileSoFar()
	msg := detailsEnteredMsg{Profile: p}
	if s.scenario.Delegated() {
		msg.ClientSecret = s.inputs[fieldSecret].Value()
		msg.Profile.Credential = store.CredentialNone
		if msg.ClientSecret != "" {
			msg.Profile.Credential = store.CredentialSecret
		}
		return msg
	}
	msg.Profile.Credential = store.CredentialCertificate
	switch s.credential() {
	case credSecret:
		msg.ClientSecret = s.inputs[fieldSecret].Value()
		msg.Profile.Credential = store.CredentialSecret
	case credCertFile:
		msg.Cert = cert
	case credNewCert:
		msg.NewCertPath = s.value(fieldNewCert)
		msg.NewCertDays, _ = strconv.Atoi(s.value(fieldCertDays))
	case credStored:
		msg.Cert = s.stored.Cert
	}
	return msg
}

// profileSoFar is the profile the fields describe, valid or not (for the
// registration checklist, and the base of a submit).
func (s detailsScreen) profileSoFar() store.Profile {
	p := s.base
	if s.inputs == nil {
		return p
	}
	p.Name = s.value(fieldProfile)
	p.Scenario = s.scenario
	p.Tenant = s.value(fieldTenant)
	p.ClientID = s.value(fieldClientID)
	p.Account = s.value(fieldAccount)
	p.Permissions = flows.ParsePermissions(s.value(fieldPermissions))
	if s.scenario == store.RBAC {
		p.OutOfScopeMailbox = s.value(fieldOutOfScope)
		p.RBACGroup = s.value(fieldRBACGroup)
		p.RBACMailboxes = flows.ParsePermissions(s.value(fieldRBACMailboxes))
		access := ""
		if s.scopingChoice() == store.ScopingPolicy {
			access = string(s.accessChoice())
		}
		// Recorded as setup --scoping/--policy-access records it; the
		// choices are valid words, so it cannot fail.
		p, _ = flows.SetScoping(p, string(s.scopingChoice()), access)
	}
	return p
}

func (s detailsScreen) value(f field) string {
	if s.inputs == nil {
		return ""
	}
	return strings.TrimSpace(s.inputs[f].Value())
}

// View renders the form, each field's error under it. A form taller than
// the room is shown from a field that keeps the focused one in view.
func (s detailsScreen) View() string {
	if s.inputs == nil {
		return ""
	}
	var head strings.Builder
	title := "New authorization: " + scenarioInfos[s.scenario].Title + " (" + string(s.scenario) + ")"
	if s.allow != "" {
		title = "Re-authorize " + s.allow + " (" + string(s.scenario) + ")"
	}
	head.WriteString(paint(s.st.title, wrap(title, s.width)) + "\n")
	if s.note != "" {
		head.WriteString(paint(s.st.subtle, wrap(s.note, s.width)) + "\n")
	}
	if s.checking != 0 {
		head.WriteString(s.st.subtle.Render("Checking the certificate file…") + "\n")
	}
	head.WriteString("\n")
	fs := s.fields()
	blocks := make([]string, len(fs))
	focus := 0
	for i, f := range fs {
		blocks[i] = s.fieldView(f)
		if f == s.focus {
			focus = i
		}
	}
	return head.String() + strings.Join(fitAround(blocks, focus, s.height-strings.Count(head.String(), "\n")), "\n")
}

// fieldView is one field: its label, value, error and suggestions.
func (s detailsScreen) fieldView(f field) string {
	sub := max(10, s.width-labelWidth-2)
	under := strings.Repeat(" ", labelWidth+2)
	label := pad(s.label(f), labelWidth)
	value := s.inputs[f].View()
	switch f {
	case fieldCredential:
		value = s.choiceView()
	case fieldScoping:
		value = s.optionsView(len(scopingChoices), s.scoping, func(i int) string { return scopingLabel(scopingChoices[i]) })
	case fieldPolicyAccess:
		value = s.optionsView(len(accessChoices), s.access, func(i int) string { return accessLabel(accessChoices[i]) })
	}
	var b strings.Builder
	if f == s.focus {
		b.WriteString(s.st.selected.Render("> "+label) + value)
	} else {
		b.WriteString("  " + s.st.label.Render(label) + value)
	}
	if err := s.inputs[f].Err; err != nil && !isChoice(f) {
		b.WriteString("\n" + indent(fieldError(s.st, err, sub), under))
	}
	if f == fieldProfile && s.proposed != "" {
		b.WriteString("\n" + indent(paint(s.st.subtle, wrap("a profile named "+s.proposed+" exists; this name is free", sub)), under))
	}
	if f == fieldAccount && !s.scenario.Delegated() {
		b.WriteString("\n" + indent(paint(s.st.subtle, wrap("the check sends a test message from this mailbox to itself", sub)), under))
	}
	if f == fieldAccount && len(s.accounts) > 0 {
		b.WriteString("\n" + indent(paint(s.st.subtle, wrap("sandbox users: "+groupAccounts(s.accounts), sub)), under))
	}
	if f == fieldScoping {
		b.WriteString("\n" + indent(paint(s.st.subtle, wrap(scopingConsequence(s.scopingChoice()), sub)), under))
	}
	if f == fieldPolicyAccess {
		b.WriteString("\n" + indent(paint(s.st.subtle, wrap(accessConsequence(s.accessChoice()), sub)), under))
	}
	if f == fieldCredential && s.credential() == credStored && s.stored != nil && s.stored.Cert != nil {
		b.WriteString("\n" + indent(paint(s.st.subtle, wrap("thumbprint "+s.stored.Cert.Thumbprint(), sub)), under))
	}
	return b.String()
}

// choiceView shows the credential kinds, the picked one marked (•).
func (s detailsScreen) choiceView() string {
	return s.optionsView(len(s.choices), s.choice, func(i int) string { return s.choices[i].label() })
}

// optionsView shows n options, the picked one marked (•): on one line, or
// one under the other when they do not fit, never cut.
func (s detailsScreen) optionsView(n, picked int, label func(int) string) string {
	parts := make([]string, n)
	for i := range n {
		mark := "( ) "
		if i == picked {
			mark = "(•) "
		}
		parts[i] = mark + label(i)
	}
	line := strings.Join(parts, "  ")
	if len([]rune(line)) <= s.width-labelWidth-2 {
		return line
	}
	return strings.Join(parts, "\n"+strings.Repeat(" ", labelWidth+2))
}

// fitAround keeps as many blocks as fit in height lines, always the one at
// focus: from the top if it fits, else scrolled so it is the last shown.
func fitAround(blocks []string, focus, height int) []string {
	lines := func(b string) int { return strings.Count(b, "\n") + 1 }
	if height <= 0 {
		return blocks
	}
	total := 0
	for _, b := range blocks {
		total += lines(b)
	}
	if total <= height {
		return blocks
	}
	from, used := focus, lines(blocks[focus])
	for from > 0 && used+lines(blocks[from-1]) <= height {
		from--
		used += lines(blocks[from])
	}
	to := focus + 1
	for to < len(blocks) && used+lines(blocks[to]) <= height {
		used += lines(blocks[to])
		to++
	}
	return blocks[from:to]
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
