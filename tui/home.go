package tui

import (
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// homeScreen lists the stored profiles with their last known state.
type homeScreen struct {
	st       styles
	keys     homeKeys
	width    int
	height   int
	loaded   bool
	profiles []store.Profile
	cursor   int
	// err is why the list could not be read, or why a start failed (a
	// profile to re-authorize that does not exist).
	err error
}

func newHomeScreen(st styles) homeScreen {
	return homeScreen{st: st, keys: newHomeKeys()}
}

func (s *homeScreen) setSize(w, h int) { s.width, s.height = w, h }

// window is the range of profiles that fits on screen, around the cursor:
// the title, header and the selected profile's line take the rest.
func (s homeScreen) window() (from, to int) {
	rows := len(s.profiles)
	if s.height > 0 {
		rows = max(1, s.height-7)
	}
	from = max(0, min(s.cursor-rows/2, len(s.profiles)-rows))
	return from, min(len(s.profiles), from+rows)
}

// setProfiles shows a freshly loaded list, keeping the cursor on the same
// profile where it can.
func (s homeScreen) setProfiles(msg profilesLoadedMsg) homeScreen {
	s.loaded = true
	s.err = msg.Err
	if msg.Err != nil || msg.Profiles == nil {
		s.profiles = nil
	} else {
		s.profiles = msg.Profiles.List
	}
	s.cursor = min(s.cursor, max(0, len(s.profiles)-1))
	s.keys.Check.SetEnabled(len(s.profiles) > 0)
	s.keys.Reauth.SetEnabled(len(s.profiles) > 0)
	s.keys.New.SetEnabled(s.err == nil)
	return s
}

// failed shows an error above the list.
func (s homeScreen) failed(err error) homeScreen {
	s.err = err
	return s
}

// Update handles the list's keys.
func (s homeScreen) Update(msg tea.Msg) (homeScreen, tea.Cmd) {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return s, nil
	}
	switch {
	case key.Matches(km, s.keys.Up):
		s.cursor = max(0, s.cursor-1)
	case key.Matches(km, s.keys.Down):
		s.cursor = min(max(0, len(s.profiles)-1), s.cursor+1)
	case key.Matches(km, s.keys.Check):
		if p, ok := s.selected(); ok {
			return s, emit(checkRequestedMsg{Profile: p})
		}
	case key.Matches(km, s.keys.Reauth):
		if p, ok := s.selected(); ok {
			return s, emit(reauthRequestedMsg{Profile: p})
		}
	case key.Matches(km, s.keys.New):
		return s, emit(newRequestedMsg{})
	case key.Matches(km, s.keys.Quit):
		return s, emit(quitRequestedMsg{})
	}
	return s, nil
}

func (s homeScreen) selected() (store.Profile, bool) {
	if s.cursor < 0 || s.cursor >= len(s.profiles) {
		return store.Profile{}, false
	}
	return s.profiles[s.cursor], true
}

// homeColumns are the widths of the fixed columns; the account column takes
// what is left.
const (
	colName     = 12
	colScenario = 12
	colState    = 20
	colChecked  = 12
)

// View renders the table, and below it the selected profile in full.
func (s homeScreen) View() string {
	var b strings.Builder
	b.WriteString(s.st.title.Render("mailgrant profiles") + "\n\n")
	if s.err != nil {
		b.WriteString(errorBlock(s.st, s.err, s.width))
		return b.String()
	}
	if !s.loaded {
		b.WriteString(s.st.subtle.Render("Reading profiles…"))
		return b.String()
	}
	if len(s.profiles) == 0 {
		b.WriteString("No profiles yet. Press n to authorize a program.")
		return b.String()
	}
	account := max(8, s.width-2-colName-colScenario-colState-colChecked-4)
	row := func(cur, name, sc, acct, state, checked string) string {
		return cur + pad(name, colName) + " " + pad(sc, colScenario) + " " + pad(acct, account) + " " + pad(state, colState) + " " + truncate(checked, colChecked)
	}
	b.WriteString(s.st.label.Render(row("  ", "NAME", "SCENARIO", "ACCOUNT", "STATE", "LAST CHECKED")) + "\n")
	from, to := s.window()
	for i := from; i < to; i++ {
		p := s.profiles[i]
		line := row("  ", p.Name, string(p.Scenario), p.Account, stateLabel(p.LastState), checkedLabel(p))
		if i == s.cursor {
			line = s.st.selected.Render(row("> ", p.Name, string(p.Scenario), p.Account, stateLabel(p.LastState), checkedLabel(p)))
		}
		b.WriteString(line + "\n")
	}
	if p, ok := s.selected(); ok {
		b.WriteString("\n" + paint(s.st.subtle, wrap(fmt.Sprintf("%s: %s in tenant %s, app %s", p.Name, p.Account, p.Tenant, p.ClientID), s.width)))
	}
	return b.String()
}

// stateLabel is a state as its symbol and word.
func stateLabel(state string) string {
	if state == "" {
		state = string(flows.StateUnauthorized)
	}
	return flows.State(state).Symbol() + " " + state
}

// checkedLabel is when the profile was last checked, in local time.
func checkedLabel(p store.Profile) string {
	if p.LastCheckedAt == nil {
		return "never"
	}
	return p.LastCheckedAt.Local().Format("Jan _2 15:04")
}

// errorBlock explains an error: what happened, what to do, and its code.
func errorBlock(st styles, err error, width int) string {
	var lines []string
	var ce *store.CorruptError
	if errors.As(err, &ce) {
		lines = append(lines,
			paint(st.bad, wrap("✗ cannot read "+ce.Path+": "+ce.Reason, width)),
			wrap("Hint: "+ce.Hint(), width))
		return strings.Join(lines, "\n")
	}
	fe := flows.AsError(err)
	lines = append(lines, paint(st.bad, wrap("✗ "+fe.Message, width)))
	if fe.Hint != "" {
		lines = append(lines, wrap("Hint: "+fe.Hint, width))
	}
	if fe.Code != "" && fe.Code != "error" {
		lines = append(lines, paint(st.subtle, wrap("Code: "+fe.Code, width)))
	}
	return strings.Join(lines, "\n")
}
