package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/assets"
	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// registrationScreen shows what to configure in Entra for the profile typed
// so far (assets.RenderRegistration), in a viewport, with values ready to
// copy. It is shown once after a scenario is chosen, and on ctrl+g from the
// details form.
type registrationScreen struct {
	st       styles
	keys     registrationKeys
	width    int
	height   int
	viewport viewport.Model
	// text is the checklist, wrapped to the width when shown.
	text    string
	profile store.Profile
	// fromDetails is true when it was opened from the form; esc then goes
	// back to the form, else to the chooser.
	fromDetails bool
}

func newRegistrationScreen(st styles) registrationScreen {
	return registrationScreen{st: st, keys: newRegistrationKeys(), viewport: viewport.New()}
}

// show fills the checklist for p.
func (s registrationScreen) show(env *flows.Env, p store.Profile, fromDetails bool) registrationScreen {
	s.profile, s.fromDetails = p, fromDetails
	text := "(no environment: the checklist needs the cloud)"
	if env != nil {
		text = assets.RenderRegistration(flows.Registration(env, p))
	}
	s.text = strings.TrimRight(text, "\n")
	s.viewport = viewport.New()
	s.setSize(s.width, s.height)
	if fromDetails {
		s.keys.Continue.SetHelp("enter", "back to the form")
	} else {
		s.keys.Continue.SetHelp("enter", "continue")
	}
	return s
}

// setSize gives the viewport the room below the title and above the
// scroll position line.
func (s *registrationScreen) setSize(w, h int) {
	s.width, s.height = w, h
	s.viewport.SetWidth(max(10, w))
	if h > 0 {
		s.viewport.SetHeight(max(3, h-3))
	} else {
		s.viewport.SetHeight(18)
	}
	s.viewport.SetContent(wrapKeepIndent(s.text, max(10, w)))
}

// Update scrolls and leaves.
func (s registrationScreen) Update(msg tea.Msg) (registrationScreen, tea.Cmd) {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return s, nil
	}
	switch {
	case key.Matches(km, s.keys.Continue):
		return s, emit(registrationClosedMsg{})
	case key.Matches(km, s.keys.Back):
		return s, emit(registrationClosedMsg{Back: true})
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
	}
	return s, nil
}

// View shows the title, the checklist and where in it the viewport is.
func (s registrationScreen) View() string {
	var b strings.Builder
	title := "Register the app in Entra: " + scenarioInfos[s.profile.Scenario].Title + " (" + string(s.profile.Scenario) + ")"
	b.WriteString(paint(s.st.title, truncate(title, s.width)) + "\n\n")
	b.WriteString(s.viewport.View() + "\n")
	b.WriteString(s.st.subtle.Render(scrollPosition(s.viewport)))
	return b.String()
}

// scrollPosition says which lines of a viewport are shown.
func scrollPosition(v viewport.Model) string {
	total := v.TotalLineCount()
	if total <= v.VisibleLineCount() {
		return "(all shown)"
	}
	from := v.YOffset() + 1
	to := min(total, v.YOffset()+v.VisibleLineCount())
	return fmt.Sprintf("lines %d–%d of %d (↑↓ to scroll)", from, to, total)
}
