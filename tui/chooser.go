package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/mailgrant/mailgrant/store"
)

// scenarioInfo is how the chooser presents a scenario: a title and the one
// line that says what it risks.
type scenarioInfo struct {
	Title string
	Risk  string
}

// scenarioInfos describes every scenario of store.Scenarios.
var scenarioInfos = map[store.Scenario]scenarioInfo{
	store.SendAsUser: {Title: "Send as one user", Risk: "(recommended) delegated Mail.Send for one named account; the app can send only as that user"},
	store.SendAsAny:  {Title: "Send as any mailbox", Risk: "HIGHER RISK: application Mail.Send — the app can send as EVERY mailbox in the organization"},
	store.Personal:   {Title: "Personal account", Risk: "Outlook.com / Hotmail account, delegated Mail.Send"},
	store.RBAC:       {Title: "Chosen mailboxes (RBAC)", Risk: "application access restricted to chosen mailboxes by Exchange Online RBAC"},
}

// chooserScreen lets the user pick one of the four scenarios.
type chooserScreen struct {
	st        styles
	keys      chooserKeys
	width     int
	available func(store.Scenario) bool
	cursor    int
	// notice is a short message, such as why a scenario cannot be picked.
	notice string
}

func newChooserScreen(st styles, available func(store.Scenario) bool) chooserScreen {
	s := chooserScreen{st: st, keys: newChooserKeys(), available: available}
	for i, sc := range store.Scenarios {
		if available(sc) {
			s.cursor = i
			break
		}
	}
	return s
}

func (s *chooserScreen) setSize(w int) { s.width = w }

// Update moves the cursor and picks a scenario.
func (s chooserScreen) Update(msg tea.Msg) (chooserScreen, tea.Cmd) {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return s, nil
	}
	switch {
	case key.Matches(km, s.keys.Up):
		s.cursor = max(0, s.cursor-1)
		s.notice = ""
	case key.Matches(km, s.keys.Down):
		s.cursor = min(len(store.Scenarios)-1, s.cursor+1)
		s.notice = ""
	case key.Matches(km, s.keys.Choose):
		sc := store.Scenarios[s.cursor]
		if !s.available(sc) {
			s.notice = string(sc) + " is not available yet; choose another scenario"
			return s, nil
		}
		return s, emit(scenarioChosenMsg{Scenario: sc})
	case key.Matches(km, s.keys.Back):
		return s, emit(backRequestedMsg{})
	case key.Matches(km, s.keys.Quit):
		return s, emit(quitRequestedMsg{})
	}
	return s, nil
}

// View lists the scenarios, the unavailable ones dimmed and labelled.
func (s chooserScreen) View() string {
	var b strings.Builder
	b.WriteString(s.st.title.Render("What should the program be allowed to do?") + "\n\n")
	for i, sc := range store.Scenarios {
		info := scenarioInfos[sc]
		cur := "  "
		if i == s.cursor {
			cur = "> "
		}
		title := info.Title + " (" + string(sc) + ")"
		if !s.available(sc) {
			title += " — not available yet"
		}
		risk := indent(wrap(info.Risk, max(10, s.width-4)), "    ")
		switch {
		case !s.available(sc):
			b.WriteString(s.st.dim.Render(cur+title) + "\n" + paint(s.st.dim, risk) + "\n")
		case sc == store.SendAsAny:
			b.WriteString(s.titleStyle(i).Render(cur+title) + "\n" + paint(s.st.warn, risk) + "\n")
		default:
			b.WriteString(s.titleStyle(i).Render(cur+title) + "\n" + paint(s.st.subtle, risk) + "\n")
		}
	}
	if s.notice != "" {
		b.WriteString("\n" + paint(s.st.warn, wrap("! "+s.notice, s.width)) + "\n")
	}
	return b.String()
}

// titleStyle highlights the scenario under the cursor.
func (s chooserScreen) titleStyle(i int) lipgloss.Style {
	if i == s.cursor {
		return s.st.selected
	}
	return lipgloss.NewStyle()
}
