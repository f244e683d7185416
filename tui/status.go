package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// statusScreen is a stored profile's status: it runs the layered check
// (token obtained → right account → required permissions, excess named →
// optional test message) with the keyring's secret, shows each step with
// its cause, fix and code on failure, records the outcome, and runs it
// again on request, with a test message to an address typed here.
type statusScreen struct {
	st      styles
	keys    statusKeys
	width   int
	spinner spinner.Model
	deps    Deps
	parent  context.Context

	attempt int
	cancel  context.CancelFunc

	profile store.Profile
	steps   []flows.Step
	status  *flows.Status
	running bool
	// sentTo is the test address of the running or last check.
	sentTo    string
	recorded  bool
	recordErr error

	// address is the test-message input, shown while asking.
	address textinput.Model
	asking  bool
}

func newStatusScreen(st styles) statusScreen {
	return statusScreen{st: st, keys: newStatusKeys()}
}

func (s *statusScreen) setSize(w int) {
	s.width = w
	s.address.SetWidth(max(10, w-20))
}

// start shows profile p and checks it.
func (s statusScreen) start(parent context.Context, d Deps, p store.Profile) (statusScreen, tea.Cmd) {
	s.deps, s.parent, s.profile = d, parent, p
	s.address = textinput.New()
	s.address.Prompt = "Test message to: "
	s.address.Placeholder = "name@domain"
	s.address.SetStyles(inputStyles())
	s.address.CharLimit = 256
	s.address.Validate = func(v string) error { return validateAddress("test-send-to", strings.TrimSpace(v)) }
	s.setSize(s.width)
	s.asking = false
	s.keys.Script.SetEnabled(p.Scenario == store.RBAC)
	return s.run("")
}

// run starts a check, with a test message to to when set.
func (s statusScreen) run(to string) (statusScreen, tea.Cmd) {
	s = s.stop()
	ctx, cancel := context.WithCancel(s.parent)
	s.cancel = cancel
	s.attempt = nextAttempt()
	s.steps, s.status, s.running, s.sentTo = nil, nil, true, to
	s.recorded, s.recordErr = false, nil
	s.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	s.setKeys()
	return s, tea.Batch(checkStored(ctx, s.deps.Env, s.deps.Secrets, s.deps.ConfigDir, s.deps.CommandPrefix, s.attempt, s.profile, to), s.spinner.Tick)
}

// stop cancels a running check; its late results are dropped.
func (s statusScreen) stop() statusScreen {
	if s.cancel != nil {
		s.cancel()
	}
	s.cancel, s.attempt, s.running = nil, 0, false
	return s
}

// owns reports whether a result belongs to the current check.
func (s statusScreen) owns(attempt int) bool { return attempt != 0 && attempt == s.attempt }

func (s *statusScreen) setKeys() {
	s.keys.Send.SetEnabled(s.asking)
	s.keys.Cancel.SetEnabled(s.asking)
	s.keys.Check.SetEnabled(!s.asking && !s.running)
	s.keys.TestSend.SetEnabled(!s.asking && !s.running)
}

// Update collects the steps, records the outcome, and handles the keys.
func (s statusScreen) Update(msg tea.Msg) (statusScreen, tea.Cmd) {
	switch msg := msg.(type) {
	case stepCheckedMsg:
		if s.owns(msg.Attempt) {
			s.steps = append(s.steps, msg.Step)
			return s, waitForCheck(msg.Next)
		}
	case statusCheckedMsg:
		if s.owns(msg.Attempt) {
			s.running = false
			s.status, s.steps = msg.Status, msg.Status.Steps
			s.setKeys()
			return s, recordStatus(s.deps.ConfigDir, s.attempt, msg.Status)
		}
	case statusRecordedMsg:
		if s.owns(msg.Attempt) {
			s.recorded, s.recordErr = msg.Err == nil, msg.Err
		}
	case spinner.TickMsg:
		if s.running {
			var cmd tea.Cmd
			s.spinner, cmd = s.spinner.Update(msg)
			return s, cmd
		}
	case tea.KeyPressMsg:
		if s.asking {
			return s.updateAddress(msg)
		}
		return s.updateKeys(msg)
	}
	if s.asking {
		var cmd tea.Cmd
		s.address, cmd = s.address.Update(msg)
		return s, cmd
	}
	return s, nil
}

func (s statusScreen) updateKeys(km tea.KeyPressMsg) (statusScreen, tea.Cmd) {
	switch {
	case key.Matches(km, s.keys.Check):
		return s.run("")
	case key.Matches(km, s.keys.TestSend):
		s.asking = true
		if s.address.Value() == "" && s.profile.Account != "" {
			s.address.SetValue(s.profile.Account)
		}
		s.setKeys()
		return s, s.address.Focus()
	case key.Matches(km, s.keys.Reauth):
		s = s.stop()
		return s, emit(reauthRequestedMsg{Profile: s.profile})
	case key.Matches(km, s.keys.Script):
		return s, emit(rbacScriptRequestedMsg{Profile: s.profile})
	case key.Matches(km, s.keys.Back):
		s = s.stop()
		return s, emit(backRequestedMsg{})
	case key.Matches(km, s.keys.Quit):
		return s, emit(quitRequestedMsg{})
	}
	return s, nil
}

// updateAddress types the test address; enter checks it and runs the
// check with a test message, esc gives up.
func (s statusScreen) updateAddress(km tea.KeyPressMsg) (statusScreen, tea.Cmd) {
	switch {
	case key.Matches(km, s.keys.Send):
		to := strings.TrimSpace(s.address.Value())
		if s.address.Err = s.address.Validate(to); s.address.Err != nil {
			return s, nil
		}
		s.asking = false
		s.address.Blur()
		return s.run(to)
	case key.Matches(km, s.keys.Cancel):
		s.asking = false
		s.address.Blur()
		s.setKeys()
		return s, nil
	}
	var cmd tea.Cmd
	s.address, cmd = s.address.Update(km)
	return s, cmd
}

// View lists the steps, each failure with its cause, fix and code, then
// the state and the test-message input.
func (s statusScreen) View() string {
	if s.profile.Name == "" {
		return ""
	}
	p := s.profile
	var b strings.Builder
	b.WriteString(paint(s.st.title, wrap("Status of "+p.Name+" ("+string(p.Scenario)+", "+p.Account+")", s.width)) + "\n\n")
	for _, step := range s.steps {
		b.WriteString(stepLine(s.st, step, s.width) + "\n")
		if step.Result == flows.StepFailed && step.Err != nil {
			b.WriteString(stepCause(s.st, step, s.width) + "\n")
		}
	}
	switch {
	case s.running && s.sentTo != "":
		b.WriteString(s.spinner.View() + " checking, with a test message to " + s.sentTo + "…\n")
	case s.running:
		b.WriteString(s.spinner.View() + " checking…\n")
	case s.status != nil:
		state := s.status.State
		b.WriteString("\n" + stateStyle(s.st, state).Render("Status: "+state.Symbol()+" "+string(state)+" ("+state.Words()+")") + "\n")
		switch {
		case s.recordErr != nil:
			b.WriteString(errorBlock(s.st, s.recordErr, s.width) + "\n")
		case s.recorded:
			b.WriteString(s.st.subtle.Render("Recorded in profiles.json.") + "\n")
		}
	}
	if s.asking {
		b.WriteString("\n" + s.address.View() + "\n")
		if s.address.Err != nil {
			b.WriteString(fieldError(s.st, s.address.Err, s.width) + "\n")
		}
	}
	return b.String()
}

// stepCause explains a failed step: its cause (unless the step's line
// already says it), fix and code, indented under it.
func stepCause(st styles, step flows.Step, width int) string {
	e := step.Err
	under := strings.Repeat(" ", stepTitleWidth+4)
	w := max(10, width-len(under)-7)
	var lines []string
	if e.Message != step.Detail {
		lines = append(lines, indent("Cause: "+strings.ReplaceAll(wrap(e.Message, w), "\n", "\n       "), under))
	}
	if e.Hint != "" {
		lines = append(lines, indent("Fix:   "+strings.ReplaceAll(wrap(keyHint(e.Hint), w), "\n", "\n       "), under))
	}
	if e.Code != "" && e.Code != flows.CodeError {
		lines = append(lines, paint(st.subtle, indent("Code:  "+string(e.Code), under)))
	}
	return strings.Join(lines, "\n")
}
