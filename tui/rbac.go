package tui

import (
	"context"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/assets"
	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// rbacDelay is how long Exchange takes to apply the script, as the
// admin should expect it.
const (
	rbacDelay   = "Changes take 30 minutes to 2 hours to apply to Graph."
	legacyDelay = "An access policy can take an hour or more to apply."
)

// rbacScreen shows the Exchange Online PowerShell that scopes an rbac
// profile as its scoping says (RBAC for Applications, where l previews the
// legacy ApplicationAccessPolicy; or the profile's access policy, as
// rbac-script prints it), scrollable, and saves it to a file the admin
// names.
type rbacScreen struct {
	st       styles
	keys     rbacKeys
	width    int
	height   int
	viewport viewport.Model
	profile  store.Profile
	prefix   string
	legacy   bool
	// from is the step to return to.
	from step
	// afterSave is true right after an rbac setup saved the profile, as
	// state: there is no step back, enter continues to the done screen.
	afterSave bool
	state     flows.State

	// path is the file name input, shown while saving is asked for.
	path    textinput.Model
	asking  bool
	saving  int
	saved   string
	saveErr error

	// sp is the service principal's object ID asked for (spAttempt): an
	// app-only token (spToken, at spAt) or why none came (spErr).
	spAttempt int
	spToken   *flows.Token
	spAt      time.Time
	spErr     error
}

func newRBACScreen(st styles) rbacScreen {
	return rbacScreen{st: st, keys: newRBACKeys(), viewport: viewport.New()}
}

// show fills the screen for profile p, opened from step from.
func (s rbacScreen) show(d Deps, p store.Profile, from step) rbacScreen {
	s.profile, s.prefix, s.from, s.afterSave = p, d.CommandPrefix, from, false
	s.spAttempt, s.spToken, s.spErr = 0, nil, nil
	s.legacy, s.asking, s.saving, s.saved, s.saveErr = p.UsesPolicy(), false, 0, "", nil
	s.path = textinput.New()
	s.path.Prompt = "Save to: "
	s.path.SetStyles(inputStyles())
	s.path.CharLimit = 4096
	s.path.SetValue(p.Name + "-scope.ps1")
	s.viewport = viewport.New()
	s.viewport.SetHorizontalStep(8)
	s.setSize(s.width, s.height)
	s.fill()
	s.setKeys()
	return s
}

// askServicePrincipal asks for an app-only token whose oid claim fills the
// script's service principal object ID (as rbac-script does).
func (s rbacScreen) askServicePrincipal(ctx context.Context, d Deps) (rbacScreen, tea.Cmd) {
	s.spAttempt = nextAttempt()
	return s, servicePrincipal(ctx, d.Env, d.Secrets, s.spAttempt, s.profile)
}

// script is the PowerShell on display.
func (s rbacScreen) script() string {
	data := flows.WithServicePrincipal(flows.RBACScript(s.profile, s.prefix), s.spToken, s.spAt)
	return assets.RenderRBACScript(data, s.legacy)
}

// servicePrincipalNote says why the script's service principal object ID is
// still a placeholder once no app-only token could be had; an ID filled in
// says where it came from in the script itself.
func (s rbacScreen) servicePrincipalNote() string {
	if s.spErr == nil {
		return ""
	}
	return " The object ID stays a placeholder: no app-only token (" + flows.AsError(s.spErr).Message + ")."
}

// fill shows the script unwrapped: a wrapped line would no longer run, so
// long lines scroll sideways (←/→) and s saves it whole.
func (s *rbacScreen) fill() {
	s.viewport.SetContent(strings.TrimRight(s.script(), "\n"))
}

// intro says who runs the script and how long it takes; right after a
// setup, that the profile waits for the role and how to check it.
func (s rbacScreen) intro() string {
	delay := rbacDelay
	if s.legacy {
		delay = legacyDelay
	}
	intro := "Run it in Exchange Online PowerShell as an Exchange administrator. " + delay + s.servicePrincipalNote()
	if s.profile.UsesPolicy() {
		intro += " The app keeps tenant-wide Mail.Send; the check proves the policy by a refused send as the out-of-scope mailbox."
	}
	if s.afterSave {
		saved := "Saved as " + string(s.state) + " (" + s.state.Words() + "). "
		if s.state == flows.StateAuthorized {
			saved += "Exchange already accepted the test send. "
		}
		intro = saved + intro + " Then press c, or run " + s.prefix + " status " + s.profile.Name + "."
	}
	return intro
}

// setSize leaves room for the title, the intro, and the status line.
func (s *rbacScreen) setSize(w, h int) {
	s.width, s.height = w, h
	s.viewport.SetWidth(max(10, w))
	if h > 0 {
		s.viewport.SetHeight(max(3, h-6-strings.Count(wrap(s.intro(), w), "\n")))
	} else {
		s.viewport.SetHeight(16)
	}
	s.path.SetWidth(max(10, w-12))
}

func (s *rbacScreen) setKeys() {
	s.keys.Confirm.SetEnabled(s.asking)
	s.keys.Cancel.SetEnabled(s.asking)
	if s.legacy {
		s.keys.Legacy.SetHelp("l", "RBAC form")
	} else {
		s.keys.Legacy.SetHelp("l", "legacy form")
	}
	// A profile scoped by an access policy gets its policy, as
	// rbac-script prints it: the RBAC form would not fit its check.
	s.keys.Legacy.SetEnabled(!s.profile.UsesPolicy())
	// Right after the save (from the done screen) there is no step to go
	// back to: enter continues. Opened from a screen, esc and enter return.
	s.keys.Back.SetEnabled(!s.asking && !s.afterSave)
	s.keys.Check.SetEnabled(!s.asking)
	if s.afterSave {
		s.keys.Continue.SetHelp("enter", "continue")
	} else {
		s.keys.Continue.SetHelp("enter", "back")
	}
}

// justSaved marks the screen as shown right after the save, as state.
func (s rbacScreen) justSaved(state flows.State) rbacScreen {
	s.afterSave, s.state = true, state
	s.setSize(s.width, s.height)
	s.setKeys()
	return s
}

// Update scrolls, toggles the form, and asks for a path to save to.
func (s rbacScreen) Update(msg tea.Msg) (rbacScreen, tea.Cmd) {
	switch msg := msg.(type) {
	case servicePrincipalMsg:
		if msg.Attempt != 0 && msg.Attempt == s.spAttempt {
			s.spToken, s.spAt, s.spErr = msg.Token, msg.At, msg.Err
			s.setSize(s.width, s.height)
			s.fill()
		}
		return s, nil
	case scriptSavedMsg:
		if msg.Attempt != 0 && msg.Attempt == s.saving {
			s.saving = 0
			s.saveErr = msg.Err
			if msg.Err == nil {
				s.saved = msg.Path
			}
		}
		return s, nil
	case tea.KeyPressMsg:
		if s.asking {
			return s.updatePath(msg)
		}
		return s.updateKeys(msg)
	}
	if s.asking {
		var cmd tea.Cmd
		s.path, cmd = s.path.Update(msg)
		return s, cmd
	}
	return s, nil
}

func (s rbacScreen) updateKeys(km tea.KeyPressMsg) (rbacScreen, tea.Cmd) {
	switch {
	case key.Matches(km, s.keys.Legacy):
		s.legacy = !s.legacy
		s.saved, s.saveErr = "", nil
		s.fill()
		s.viewport.GotoTop()
		s.setKeys()
	case key.Matches(km, s.keys.Save):
		s.asking, s.saveErr = true, nil
		s.setKeys()
		return s, s.path.Focus()
	case key.Matches(km, s.keys.Continue), key.Matches(km, s.keys.Back):
		return s, emit(rbacScriptClosedMsg{})
	case key.Matches(km, s.keys.Check):
		return s, emit(checkRequestedMsg{Profile: s.profile})
	case key.Matches(km, s.keys.Quit):
		return s, emit(quitRequestedMsg{})
	case key.Matches(km, s.keys.Up):
		s.viewport.ScrollUp(1)
	case key.Matches(km, s.keys.Down):
		s.viewport.ScrollDown(1)
	case key.Matches(km, s.keys.PageDown):
		s.viewport.PageDown()
	case key.Matches(km, s.keys.PageUp):
		s.viewport.PageUp()
	case key.Matches(km, s.keys.Left):
		s.viewport.ScrollLeft(8)
	case key.Matches(km, s.keys.Right):
		s.viewport.ScrollRight(8)
	}
	return s, nil
}

// updatePath types the file name; enter saves, esc gives up.
func (s rbacScreen) updatePath(km tea.KeyPressMsg) (rbacScreen, tea.Cmd) {
	switch {
	case key.Matches(km, s.keys.Confirm):
		path := strings.TrimSpace(s.path.Value())
		if path == "" {
			s.saveErr = &flows.InputError{Field: "path", Problem: "is empty", Hint: "give a file name such as scope.ps1"}
			return s, nil
		}
		s.asking = false
		s.path.Blur()
		s.saving = nextAttempt()
		s.setKeys()
		return s, writeScript(s.saving, path, s.script())
	case key.Matches(km, s.keys.Cancel):
		s.asking = false
		s.path.Blur()
		s.setKeys()
		return s, nil
	}
	var cmd tea.Cmd
	s.path, cmd = s.path.Update(km)
	return s, cmd
}

// View shows who runs the script, the delay, the script, and the save.
func (s rbacScreen) View() string {
	var b strings.Builder
	form, delay := "RBAC for Applications", rbacDelay
	switch {
	case s.profile.Denies():
		form, delay = "ApplicationAccessPolicy, DenyAccess", legacyDelay
	case s.profile.UsesPolicy():
		form, delay = "ApplicationAccessPolicy, RestrictAccess", legacyDelay
	case s.legacy:
		form, delay = "legacy ApplicationAccessPolicy", legacyDelay
	}
	b.WriteString(paint(s.st.title, truncate("Exchange Online PowerShell for "+s.profile.Name+" ("+form+")", s.width)) + "\n")
	b.WriteString(paint(s.st.subtle, wrap(s.intro(), s.width)) + "\n\n")
	b.WriteString(s.viewport.View() + "\n")
	switch {
	case s.asking:
		b.WriteString(s.path.View())
		if s.saveErr != nil {
			b.WriteString("\n" + fieldError(s.st, s.saveErr, s.width))
		}
	case s.saving != 0:
		b.WriteString(s.st.subtle.Render("Saving…"))
	case s.saveErr != nil:
		b.WriteString(fieldError(s.st, s.saveErr, s.width))
	case s.saved != "":
		b.WriteString(paint(s.st.ok, truncate("✓ Saved to "+s.saved+". "+delay, s.width)))
	default:
		b.WriteString(s.st.subtle.Render(truncate(scrollPosition(s.viewport)+" · ←/→ for long lines", s.width)))
	}
	return b.String()
}
