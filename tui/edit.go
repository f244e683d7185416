package tui

import (
	"context"
	"errors"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// editScreen changes a stored profile: its permissions, account, From,
// Reply-To and (rbac) Exchange scoping, prefilled from the profile and
// validated as typed. On submit it says what the change needs
// (flows.PlanEdit): a change that needs nothing is saved at once; any other
// is applied only after y, through the re-authorization path, which
// replaces what is stored only once the new authorization is verified.
type editScreen struct {
	st     styles
	keys   editKeys
	width  int
	deps   Deps
	ctx    context.Context
	cancel context.CancelFunc

	// profile is the profile as stored.
	profile store.Profile
	inputs  []textinput.Model
	focus   editField
	// scoping is the rbac scoping chosen (rbac profiles only).
	scoping store.Scoping

	// edited and plan are the change awaiting y/n.
	edited *store.Profile
	plan   flows.EditPlan
	// attempt is the running save or stored-grant token request (0: none).
	attempt int
	// notice is what the last submit left to read (nothing changed).
	notice string
	err    error
}

// editField is one field of the edit screen.
type editField int

const (
	editPermissions editField = iota
	editAccount
	editFrom
	editReplyTo
	// editScoping is rbac's choice of RBAC for Applications or an access
	// policy; it is picked with ←/→.
	editScoping
	editFieldCount
)

// scopings are the choices of the scoping field, in order.
var scopings = []store.Scoping{store.ScopingRBAC, store.ScopingPolicy}

// newEditScreen builds the form for p, prefilled from it.
func newEditScreen(ctx context.Context, st styles, d Deps, p store.Profile) editScreen {
	s := editScreen{st: st, keys: newEditKeys(), deps: d, ctx: ctx, profile: p, scoping: store.ScopingRBAC}
	if p.UsesPolicy() {
		s.scoping = store.ScopingPolicy
	}
	s.inputs = make([]textinput.Model, editFieldCount)
	for i := range s.inputs {
		in := textinput.New()
		in.Prompt = ""
		in.SetStyles(inputStyles())
		in.CharLimit = 256
		s.inputs[i] = in
	}
	sc := p.Scenario
	s.inputs[editPermissions].Placeholder = strings.Join(flows.DefaultPermissions(sc), ", ")
	s.inputs[editPermissions].Validate = func(v string) error {
		return flows.ValidatePermissionsFor(sc, flows.ParsePermissions(v))
	}
	s.inputs[editAccount].Placeholder = "name@domain"
	s.inputs[editAccount].Validate = func(v string) error { return flows.ValidateAccount(sc, v) }
	s.inputs[editFrom].Placeholder = "optional: the sender when a message names none"
	s.inputs[editFrom].Validate = optionalAddress("from")
	s.inputs[editReplyTo].Placeholder = "optional: the Reply-To when a message has none"
	s.inputs[editReplyTo].Validate = optionalAddress("reply-to")
	for f, v := range map[editField]string{
		editPermissions: strings.Join(p.Permissions, ", "), editAccount: p.Account,
		editFrom: p.From, editReplyTo: p.ReplyTo,
	} {
		s.inputs[f].SetValue(v)
	}
	s.inputs[s.focus].Focus()
	s.setSize(80)
	return s
}

// optionalAddress checks an address that may be left empty (it clears the
// setting).
func optionalAddress(field string) func(string) error {
	return func(v string) error {
		if strings.TrimSpace(v) == "" {
			return nil
		}
		return validateAddress(field, strings.TrimSpace(v))
	}
}

func (s *editScreen) setSize(w int) {
	s.width = w
	for i := range s.inputs {
		s.inputs[i].SetWidth(max(10, w-labelWidth-3))
	}
}

// fields lists the fields shown: the scoping only for rbac.
func (s editScreen) fields() []editField {
	fs := []editField{editPermissions, editAccount, editFrom, editReplyTo}
	if s.profile.Scenario == store.RBAC {
		fs = append(fs, editScoping)
	}
	return fs
}

// stop cancels a running save or token request; its result is dropped.
func (s editScreen) stop() editScreen {
	if s.cancel != nil {
		s.cancel()
	}
	s.cancel, s.attempt = nil, 0
	return s
}

// busy reports whether a save or a token request is running.
func (s editScreen) busy() bool { return s.attempt != 0 }

// typing reports whether keys go into a text field.
func (s editScreen) typing() bool { return s.edited == nil && s.focus != editScoping }

func (s *editScreen) setKeys() {
	asking := s.edited != nil
	// While the token for a delegated edit is asked for, the answer keys
	// wait for it: only ctrl+c is offered.
	s.keys.Yes.SetEnabled(asking && !s.busy())
	s.keys.No.SetEnabled(asking && !s.busy())
	for _, b := range []*key.Binding{&s.keys.Next, &s.keys.Prev, &s.keys.Enter, &s.keys.Submit, &s.keys.Back} {
		b.SetEnabled(!asking && !s.busy())
	}
	s.keys.Choose.SetEnabled(!asking && s.focus == editScoping)
}

// Update moves between fields, types into the focused one, submits and
// answers the confirmation; it also takes the results of its commands.
func (s editScreen) Update(msg tea.Msg) (editScreen, tea.Cmd) {
	if s.inputs == nil {
		return s, nil
	}
	switch msg := msg.(type) {
	case editFailedMsg:
		if msg.Attempt != 0 && msg.Attempt == s.attempt {
			s = s.stop()
			s.err = msg.Err
			s.setKeys()
		}
		return s, nil
	case tea.KeyPressMsg:
		if s.busy() {
			return s, nil
		}
		if s.edited != nil {
			return s.updateConfirm(msg)
		}
		return s.updateKeys(msg)
	}
	if s.focus == editScoping || s.edited != nil {
		return s, nil
	}
	var cmd tea.Cmd
	s.inputs[s.focus], cmd = s.inputs[s.focus].Update(msg)
	return s, cmd
}

func (s editScreen) updateKeys(km tea.KeyPressMsg) (editScreen, tea.Cmd) {
	if to, submit, ok := navigate(s.fields(), s.focus, km, formNav{next: s.keys.Next, prev: s.keys.Prev, enter: s.keys.Enter, submit: s.keys.Submit}); ok {
		if submit {
			return s.submit()
		}
		return s.focusOn(to)
	}
	switch {
	case key.Matches(km, s.keys.Back):
		s = s.stop()
		return s, emit(backRequestedMsg{})
	case key.Matches(km, s.keys.Choose):
		i := slices.Index(scopings, s.scoping)
		s.scoping = scopings[(i+1)%len(scopings)]
		return s, nil
	}
	if s.focus == editScoping {
		return s, nil
	}
	s.notice, s.err = "", nil
	var cmd tea.Cmd
	s.inputs[s.focus], cmd = s.inputs[s.focus].Update(km)
	return s, cmd
}

func (s editScreen) focusOn(f editField) (editScreen, tea.Cmd) {
	s.inputs[s.focus].Blur()
	s.focus = f
	s.setKeys()
	if f == editScoping {
		return s, nil
	}
	return s, s.inputs[f].Focus()
}

// submit validates every field, stays on the first bad one, and plans the
// change: nothing to do, a save at once (From, Reply-To), or the question.
func (s editScreen) submit() (editScreen, tea.Cmd) {
	s.notice, s.err = "", nil
	if f, bad := firstInvalid(s.fields(), s.inputs); bad {
		return s.focusOn(f)
	}
	e := s.editedProfile()
	if err := flows.ValidateProfile(e); err != nil {
		s.err = err
		return s, nil
	}
	plan := flows.PlanEdit(s.profile, e)
	switch {
	case len(plan.Changes) == 0:
		s.notice = "Nothing changes: " + s.profile.Name + " already has these settings."
		return s, nil
	case plan.Need == flows.NeedNothing:
		ctx, cancel := context.WithCancel(s.ctx)
		s.cancel, s.attempt = cancel, nextAttempt()
		s.setKeys()
		return s, saveEdited(ctx, s.deps.ConfigDir, s.attempt, e, plan)
	}
	s.edited, s.plan = &e, plan
	s.inputs[s.focus].Blur()
	s.setKeys()
	return s, nil
}

// editedProfile is the stored profile with the form's values.
func (s editScreen) editedProfile() store.Profile {
	e := s.profile
	e.Permissions = flows.ParsePermissions(s.inputs[editPermissions].Value())
	e.Account = strings.TrimSpace(s.inputs[editAccount].Value())
	e.From = strings.TrimSpace(s.inputs[editFrom].Value())
	e.ReplyTo = strings.TrimSpace(s.inputs[editReplyTo].Value())
	if e.Scenario == store.RBAC && (s.scoping == store.ScopingPolicy) != s.profile.UsesPolicy() {
		e.Scoping = s.scoping
		if e.Scoping == store.ScopingRBAC {
			e.PolicyAccess = ""
		}
	}
	return e
}

// updateConfirm answers "apply this change?": y starts it, n or esc goes
// back to the form with its values.
func (s editScreen) updateConfirm(km tea.KeyPressMsg) (editScreen, tea.Cmd) {
	switch {
	case key.Matches(km, s.keys.Yes):
		e, plan := *s.edited, s.plan
		if e.Scenario.Delegated() && plan.Need == flows.NeedCheck {
			// The grant stays: a token from the stored refresh token is
			// checked against the new settings.
			ctx, cancel := context.WithCancel(s.ctx)
			s.cancel, s.attempt = cancel, nextAttempt()
			s.setKeys()
			return s, storedGrantToken(ctx, s.deps.Env, s.deps.Secrets, s.attempt, e)
		}
		s.edited = nil
		s.setKeys()
		return s, emit(editConfirmedMsg{Profile: e, Plan: plan})
	case key.Matches(km, s.keys.No):
		s.edited = nil
		s.setKeys()
		return s, s.inputs[s.focus].Focus()
	}
	return s, nil
}

// View renders the form, or the change and what it needs.
func (s editScreen) View() string {
	if s.inputs == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(paint(s.st.title, wrap("Edit "+s.profile.Name+" ("+string(s.profile.Scenario)+")", s.width)) + "\n")
	if s.edited != nil {
		b.WriteString("\n" + s.planView())
		return b.String()
	}
	b.WriteString(paint(s.st.subtle, wrap("Changes are checked before they are kept; esc leaves everything as it is.", s.width)) + "\n\n")
	sub := max(10, s.width-labelWidth-2)
	under := strings.Repeat(" ", labelWidth+2)
	for _, f := range s.fields() {
		label := pad(editLabel(s.profile, f), labelWidth)
		value := s.inputs[f].View()
		if f == editScoping {
			value = s.scopingView()
		}
		if f == s.focus {
			b.WriteString(s.st.selected.Render("> "+label) + value + "\n")
		} else {
			b.WriteString("  " + s.st.label.Render(label) + value + "\n")
		}
		if err := s.inputs[f].Err; err != nil && f != editScoping {
			b.WriteString(indent(fieldError(s.st, err, sub), under) + "\n")
		}
	}
	switch {
	case s.busy():
		b.WriteString("\n" + s.st.subtle.Render("Saving…"))
	case s.err != nil:
		b.WriteString("\n" + errorBlock(s.st, s.err, s.width))
	case s.notice != "":
		b.WriteString("\n" + wrap(s.notice, s.width))
	}
	return b.String()
}

// editLabel names a field; the account is a test mailbox for app-only
// profiles.
func editLabel(p store.Profile, f editField) string {
	switch f {
	case editPermissions:
		return "Permissions"
	case editAccount:
		if !p.Scenario.Delegated() {
			return "Test mailbox"
		}
		return "Account"
	case editFrom:
		return "From"
	case editReplyTo:
		return "Reply-To"
	}
	return "Scoping"
}

// scopingView shows the two scopings, the chosen one marked.
func (s editScreen) scopingView() string {
	parts := make([]string, len(scopings))
	for i, sc := range scopings {
		mark := "( ) "
		if sc == s.scoping {
			mark = "(•) "
		}
		parts[i] = mark + string(sc)
	}
	return strings.Join(parts, "  ") + paint(s.st.subtle, "  (policy: ApplicationAccessPolicy)")
}

// planView lists the changes, what they need and why, the advice, and the
// question.
func (s editScreen) planView() string {
	var b strings.Builder
	b.WriteString("Changes:\n")
	for _, c := range s.plan.Changes {
		b.WriteString(indent(wrap(c, max(10, s.width-2)), "  ") + "\n")
	}
	needs := "Needs: " + s.plan.Need.String()
	if s.plan.Why != "" {
		needs += " — " + flows.FillCommands(s.plan.Why, s.deps.CommandPrefix, s.profile.Name)
	}
	b.WriteString(paint(s.st.warn, wrap(needs+".", s.width)) + "\n")
	for _, a := range s.plan.Advice {
		b.WriteString(wrap("! "+flows.FillCommands(a, s.deps.CommandPrefix, s.profile.Name), s.width) + "\n")
	}
	if s.busy() {
		b.WriteString("\n" + s.st.subtle.Render("Asking for a token with the stored sign-in…"))
		return b.String()
	}
	if s.err != nil {
		b.WriteString("\n" + errorBlock(s.st, s.err, s.width) + "\n")
	}
	b.WriteString("\n" + wrap(editQuestion(s.profile, s.plan.Need), s.width))
	return b.String()
}

// editQuestion asks before a change that needs more than a save.
func editQuestion(p store.Profile, need flows.EditNeed) string {
	what := "checks the new settings with a token from the stored credential"
	switch {
	case need == flows.NeedSignIn:
		what = "opens the browser to sign in"
	case need == flows.NeedConsent:
		what = "asks for a token and opens the admin consent page"
	case p.Scenario.Delegated():
		what = "checks the new settings with a token from the stored sign-in"
	}
	return "Apply? This " + what + "; the working authorization stays stored until the new one is verified. y apply · n change it"
}

// editFailedMsg reports that an edit's save or its token request failed.
type editFailedMsg struct {
	Attempt int
	Err     error
}

// editSavedMsg reports that an edit needing nothing (From, Reply-To) was
// saved: Profile as stored, Changes as the plan listed them.
type editSavedMsg struct {
	Attempt int
	Profile store.Profile
	Changes []string
}

// editConfirmedMsg reports that the admin accepted a change that needs a
// check, consent or sign-in: the root re-authorizes Profile, the edited
// profile, and stores it only once verified.
type editConfirmedMsg struct {
	Profile store.Profile
	Plan    flows.EditPlan
}

// editTokenMsg reports that the stored sign-in of a delegated profile gave
// a token, to be checked against the edited settings (Profile).
type editTokenMsg struct {
	Attempt int
	Profile store.Profile
	Token   *flows.Token
	Secret  string
}

// editRequestedMsg reports that the user asked to edit a stored profile.
type editRequestedMsg struct {
	Profile store.Profile
}

// saveEdited keeps an edit that needs nothing.
func saveEdited(ctx context.Context, dir string, attempt int, e store.Profile, plan flows.EditPlan) tea.Cmd {
	return func() tea.Msg {
		if ctx.Err() != nil {
			return nil
		}
		saved, err := flows.SaveEdited(dir, e)
		if err != nil {
			return editFailedMsg{Attempt: attempt, Err: err}
		}
		return editSavedMsg{Attempt: attempt, Profile: saved, Changes: plan.Changes}
	}
}

// storedGrantToken asks for a token with a delegated profile's stored
// refresh token (keeping a rotated one, as every refresh does), with its
// client secret for the save that follows a good check.
func storedGrantToken(ctx context.Context, env *flows.Env, secrets store.Secrets, attempt int, p store.Profile) tea.Cmd {
	return func() tea.Msg {
		secret, err := secrets.Get(p.Name, store.KindClientSecret)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return editFailedMsg{Attempt: attempt, Err: &flows.Error{Code: flows.CodeKeyring, State: flows.StateError, Message: "cannot read the client secret from the keyring: " + err.Error(), Hint: "unlock the keyring and try again", Err: err}}
		}
		tok, err := flows.AccessToken(ctx, env, secrets, p)
		if err != nil {
			return editFailedMsg{Attempt: attempt, Err: err}
		}
		return editTokenMsg{Attempt: attempt, Profile: p, Token: tok, Secret: secret}
	}
}
