package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// checkScreen checks a token just obtained and shows the steps as they
// finish, then saves it: a delegated token when it is good, an app-only
// credential whenever it obtained a token (as the command line does; the
// done screen then says what still needs an admin).
type checkScreen struct {
	st      styles
	keys    checkKeys
	width   int
	spinner spinner.Model
	deps    Deps

	attempt int
	// ctx is the attempt's context: the save after the check honours it.
	ctx    context.Context
	cancel context.CancelFunc

	profile      store.Profile
	clientSecret string
	token        *flows.Token
	// app is the app-only authorization being checked, nil for delegated.
	app *appRequest
	// certPath is where a new certificate's public part was written.
	certPath string

	steps   []flows.Step
	status  *flows.Status
	running bool
	saving  bool
	// err is why saving or recording failed.
	err error
	// notKept is why the checked result is not saved (flows.Keep), decided
	// when the check finished; nil when it is saved.
	notKept error
	// reauth is true when re-authorizing a stored profile: then only an
	// authorized result replaces what is stored.
	reauth bool
}

func newCheckScreen(st styles) checkScreen {
	return checkScreen{st: st, keys: newCheckKeys()}
}

func (s *checkScreen) setSize(w int) { s.width = w }

// startVerify checks a token just obtained for p.
func (s checkScreen) startVerify(ctx context.Context, d Deps, p store.Profile, secret string, tok *flows.Token) (checkScreen, tea.Cmd) {
	s, ctx = s.reset(ctx, d, p)
	s.clientSecret, s.token = secret, tok
	return s, tea.Batch(verifyToken(ctx, d.Env, s.attempt, p, tok, flows.CheckOptions{Command: d.CommandPrefix}), s.spinner.Tick)
}

// startVerifyApp checks a token an app-only credential just obtained.
func (s checkScreen) startVerifyApp(ctx context.Context, d Deps, r appRequest, tok *flows.Token) (checkScreen, tea.Cmd) {
	s, ctx = s.reset(ctx, d, r.Profile)
	s.app, s.token, s.certPath = &r, tok, r.CertPath
	o := flows.CheckOptions{Command: d.CommandPrefix}
	if r.Profile.Scenario == store.SendAsAny {
		// The test mailbox asked for on the form: a message from it to
		// itself proves the app can send. An rbac profile always sends
		// one, as the setup command does: the send says whether the
		// Exchange role applies yet (authorized) or not (pending).
		o.TestSendTo = r.Profile.Account
	}
	return s, tea.Batch(verifyToken(ctx, d.Env, s.attempt, r.Profile, tok, o), s.spinner.Tick)
}

func (s checkScreen) reset(parent context.Context, d Deps, p store.Profile) (checkScreen, context.Context) {
	s = s.stop()
	ctx, cancel := context.WithCancel(parent)
	s.deps, s.profile, s.ctx, s.cancel = d, p, ctx, cancel
	s.app, s.certPath, s.clientSecret, s.token = nil, "", "", nil
	s.steps, s.status, s.err, s.notKept = nil, nil, nil, nil
	s.running, s.saving = true, false
	s.attempt = nextAttempt()
	s.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	s.setKeys()
	return s, ctx
}

// stop cancels a running check; its late results are dropped.
func (s checkScreen) stop() checkScreen {
	if s.cancel != nil {
		s.cancel()
	}
	s.cancel, s.attempt, s.running, s.saving = nil, 0, false, false
	return s
}

// owns reports whether a result belongs to the current check.
func (s checkScreen) owns(attempt int) bool { return attempt != 0 && attempt == s.attempt }

// busy reports whether the check or the save is under way.
func (s checkScreen) busy() bool { return s.running || s.saving }

// failure is the error on display, if the check or the save failed.
func (s checkScreen) failure() error {
	if s.err != nil {
		return s.err
	}
	if s.status != nil && s.status.Error != nil && s.notKept != nil {
		return s.status.Error
	}
	return nil
}

func (s *checkScreen) setKeys() {
	s.keys.Retry.SetEnabled(!s.busy())
	if s.app != nil {
		s.keys.Retry.SetHelp("r", "try again")
	} else {
		s.keys.Retry.SetHelp("r", "sign in again")
	}
}

// Update collects the steps, then saves or records, and handles the keys.
func (s checkScreen) Update(msg tea.Msg) (checkScreen, tea.Cmd) {
	switch msg := msg.(type) {
	case stepCheckedMsg:
		if s.owns(msg.Attempt) {
			s.steps = append(s.steps, msg.Step)
			return s, waitForCheck(msg.Next)
		}
	case statusCheckedMsg:
		if s.owns(msg.Attempt) {
			return s.checked(msg.Status)
		}
	case errMsg:
		if s.owns(msg.Attempt) {
			s.err = msg.Err
			s.saving = false
			s.setKeys()
		}
	case spinner.TickMsg:
		if s.busy() {
			var cmd tea.Cmd
			s.spinner, cmd = s.spinner.Update(msg)
			return s, cmd
		}
	case tea.KeyPressMsg:
		return s.updateKeys(msg)
	}
	return s, nil
}

// checked shows the outcome and saves a good new delegated token, or an
// app-only credential.
func (s checkScreen) checked(st *flows.Status) (checkScreen, tea.Cmd) {
	s.running = false
	s.status = st
	s.steps = st.Steps
	var cmd tea.Cmd
	// Keep decides here what the screen says; the save runs it again, in
	// flows.KeepChecked, with the profile recording what this check found.
	s.notKept = flows.Keep(s.ctx, st, s.profile, s.reauth)
	switch {
	case s.notKept != nil:
	case s.app != nil:
		s.saving = true
		cmd = saveAppCredential(s.ctx, s.deps.ConfigDir, s.deps.Secrets, s.attempt, s.profile, st, s.reauth, s.app.Cred)
	default:
		s.saving = true
		cmd = saveToken(s.ctx, s.deps.ConfigDir, s.deps.Secrets, s.attempt, s.profile, st, s.reauth, s.token, s.clientSecret)
	}
	s.setKeys()
	return s, cmd
}

func (s checkScreen) updateKeys(msg tea.KeyPressMsg) (checkScreen, tea.Cmd) {
	switch {
	case key.Matches(msg, s.keys.Retry):
		return s, emit(retryRequestedMsg{})
	case key.Matches(msg, s.keys.Back):
		s = s.stop()
		return s, emit(backRequestedMsg{})
	case key.Matches(msg, s.keys.Quit):
		return s, emit(quitRequestedMsg{})
	}
	return s, nil
}

// stepTitleWidth aligns the step details.
const stepTitleWidth = 20

// View lists the steps with their symbols, then the outcome.
func (s checkScreen) View() string {
	var b strings.Builder
	title := "Checking " + s.profile.Name
	if s.profile.Account != "" {
		title += " (" + s.profile.Account + ")"
	}
	b.WriteString(paint(s.st.title, wrap(title, s.width)) + "\n\n")
	for _, step := range s.steps {
		b.WriteString(stepLine(s.st, step, s.width) + "\n")
	}
	if s.running {
		b.WriteString(s.spinner.View() + " checking…\n")
		return b.String()
	}
	b.WriteString("\n")
	if s.status != nil {
		state := s.status.State
		b.WriteString(stateStyle(s.st, state).Render("Status: "+state.Symbol()+" "+string(state)+" ("+state.Words()+")") + "\n")
		if s.status.Error != nil {
			b.WriteString(errorBlock(s.st, s.status.Error, s.width) + "\n")
		}
	}
	switch {
	case s.saving:
		b.WriteString(s.spinner.View() + " Saving…")
	case s.err != nil:
		b.WriteString(errorBlock(s.st, s.err, s.width))
	case s.status != nil && s.notKept != nil:
		b.WriteString("\n" + paint(s.st.subtle, wrap("Nothing was saved; any authorization stored before is unchanged. Press r to sign in again or esc to change the details.", s.width)))
	}
	return b.String()
}

// stepLine is one step: its symbol, title and detail. A title longer than
// its column gets the line to itself, the detail under it.
func stepLine(st styles, step flows.Step, width int) string {
	sym := resultStyle(st, step.Result).Render(step.Result.Symbol())
	title := flows.StepTitle(step.Name)
	under := strings.Repeat(" ", stepTitleWidth+4)
	detail := wrap(step.Detail, max(10, width-stepTitleWidth-4))
	detail = strings.ReplaceAll(detail, "\n", "\n"+under)
	if len([]rune(title)) > stepTitleWidth {
		if detail == "" {
			return sym + " " + title
		}
		return sym + " " + title + "\n" + under + detail
	}
	return sym + " " + pad(title, stepTitleWidth) + "  " + detail
}

func resultStyle(st styles, r flows.StepResult) lipgloss.Style {
	switch r {
	case flows.StepOK:
		return st.ok
	case flows.StepFailed:
		return st.bad
	case flows.StepWarning:
		return st.warn
	}
	return st.subtle
}

// stateStyle colours a state (its symbol and word say it too).
func stateStyle(st styles, state flows.State) lipgloss.Style {
	switch state {
	case flows.StateAuthorized:
		return st.ok
	case flows.StateConsentMissing, flows.StateReauthorize, flows.StateCredentialExpired, flows.StatePending:
		return st.warn
	}
	return st.bad
}
