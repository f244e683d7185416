package tui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailgrant/mailgrant/flows"
)

// The root's keys on every screen: the help overlay, quitting with a
// confirmation when something would be lost, and the last frame.

// keyPressed handles the root's keys, then gives the key to the screen.
func (m Model) keyPressed(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch {
	case m.showHelp:
		// Any key closes the overlay; ctrl+c still quits.
		m.showHelp = false
		if key.Matches(msg, m.keys.Interrupt) {
			return m.interrupt()
		}
		return m, nil
	case m.confirmQuit:
		switch {
		case key.Matches(msg, m.keys.Interrupt), key.Matches(msg, m.keys.Yes):
			return m.quit()
		case key.Matches(msg, m.keys.No):
			m.confirmQuit = false
		}
		return m, nil
	case key.Matches(msg, m.keys.Interrupt):
		if m.wouldLose() != "" {
			m.confirmQuit = true
			return m, nil
		}
		return m.interrupt()
	case key.Matches(msg, m.keys.Help) && (!m.typing() || msg.String() == "f1"):
		m.showHelp = true
		return m, nil
	}
	return m.updateActive(msg)
}

// askQuit is a screen's quit key (q): it asks first when quitting would
// lose something.
func (m Model) askQuit() (tea.Model, tea.Cmd) {
	if m.wouldLose() != "" {
		m.confirmQuit = true
		return m, nil
	}
	return m.quit()
}

// wouldLose says what quitting now would lose, or "" when nothing.
func (m Model) wouldLose() string {
	switch m.step {
	case stepDetails:
		return "What you typed is lost."
	case stepAuthorize:
		if m.authorize.running() || m.authorize.loadingName != "" {
			return "The sign-in in progress is cancelled; nothing is saved."
		}
	case stepAppAuth:
		if m.appAuth.running() {
			return "The authorization in progress is cancelled; nothing is saved."
		}
	case stepCheck:
		if m.check.saving {
			return "The authorization is being saved; quitting now may keep only part of it."
		}
		if m.check.busy() {
			return "The check in progress is cancelled; nothing is saved."
		}
	case stepHome:
		if m.home.deleting != 0 {
			return "The deletion in progress may stop half-way."
		}
	case stepEdit:
		return "The edit is not applied; the profile stays as it is."
	case stepRotate:
		if m.rotate.running() {
			return "The rotation stops; nothing is switched, the profile keeps its old credential."
		}
	}
	return ""
}

// lossWords is the question's reason.
func (m Model) lossWords() string { return m.wouldLose() }

// typing reports whether keys go into a text field, so ? types a question
// mark there (f1 still opens the help).
func (m Model) typing() bool {
	switch m.step {
	case stepDetails:
		return !isChoice(m.details.focus)
	case stepRBAC:
		return m.rbac.asking
	case stepStatus:
		return m.status.asking
	case stepStore:
		return m.storeCheck.typing()
	case stepEdit:
		return m.edit.typing()
	case stepRotate:
		return m.rotate.typing()
	}
	return false
}

// finished is the done screen's finish key: back to the list when the
// wizard started there (a new or renewed authorization from home), else the
// end.
func (m Model) finished() (tea.Model, tea.Cmd) {
	m.outcome = m.doneOutcome()
	if m.deps.Start != StartHome {
		return m, tea.Quit
	}
	name := m.done.profile.Name
	m.home.notice = "Saved " + name + "."
	if st := m.done.status; st != nil {
		m.home.notice = "Saved " + name + ": " + stateWords(st.State) + "."
	}
	m.completed, m.outcome = m.outcome, Outcome{}
	m.hasProfiles = true
	return m.toHome()
}

// overlayKeys is the help bar under the overlay or the quit question.
type overlayKeys struct{ close, stay key.Binding }

// ShortHelp lists the keys for the help bar.
func (k overlayKeys) ShortHelp() []key.Binding {
	if k.stay.Enabled() && len(k.stay.Keys()) > 0 {
		return []key.Binding{k.close, k.stay}
	}
	return []key.Binding{k.close}
}

// FullHelp lists the keys in one column.
func (k overlayKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// barKeys is a screen's help bar with the help key first, so a narrow
// terminal that cuts the bar still shows how to see every key.
type barKeys struct {
	help   key.Binding
	screen help.KeyMap
}

// ShortHelp lists the help key, then the screen's keys.
func (k barKeys) ShortHelp() []key.Binding {
	return append([]key.Binding{k.help}, k.screen.ShortHelp()...)
}

// FullHelp lists the screen's keys.
func (k barKeys) FullHelp() [][]key.Binding { return k.screen.FullHelp() }

// helpBar is the active screen's help bar.
func (m Model) helpBar() help.KeyMap {
	h := m.keys.Help
	if m.typing() {
		h.SetHelp("f1", "help")
	}
	return barKeys{help: h, screen: m.activeKeys()}
}

// helpOverlay lists the keys that work everywhere, then every key of the
// active screen (in two columns when one would not fit).
func (m Model) helpOverlay() string {
	var b strings.Builder
	b.WriteString(m.styles.title.Render("Keys on this screen") + "\n")
	help := "? or f1"
	if m.typing() {
		help = "f1 (? types into the field)"
	}
	b.WriteString(paint(m.styles.subtle, wrap("Everywhere: "+help+" this help · ctrl+c quit (asks first when something would be lost; exit status 130)", m.width)) + "\n\n")
	var items []string
	seen := map[string]bool{}
	for _, group := range m.activeKeys().FullHelp() {
		for _, k := range group {
			h := k.Help()
			if !k.Enabled() || h.Key == "" || seen[h.Key+h.Desc] {
				continue
			}
			seen[h.Key+h.Desc] = true
			items = append(items, m.styles.label.Render(pad(h.Key, 11))+" "+h.Desc)
		}
	}
	room := m.height - m.chromeHeight() - strings.Count(b.String(), "\n") - 1
	if room > 0 && len(items) > room && m.width >= 56 {
		half := (len(items) + 1) / 2
		col := m.width / 2
		for i := 0; i < half; i++ {
			line := pad(items[i], col)
			if i+half < len(items) {
				line += items[i+half]
			}
			b.WriteString(line + "\n")
		}
	} else {
		b.WriteString(strings.Join(items, "\n") + "\n")
	}
	if m.deps.Sandbox && (room <= 0 || len(items)+2 <= room) {
		b.WriteString("\n" + wrap("This is the sandbox: a simulated tenant on this machine. Nothing reaches Microsoft.", m.width) + "\n")
	}
	return b.String()
}

// clip cuts every line of s to width cells.
func clip(s string, width int) string {
	if width <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Truncate(l, width, "")
		}
	}
	return strings.Join(lines, "\n")
}

// cancelledLine is the last frame after a cancel: what happened, so the
// terminal is not left with a frozen spinner.
func (m Model) cancelledLine() string {
	switch m.step {
	case stepHome, stepStatus, stepChooser, stepStore:
		return "Cancelled."
	case stepDone:
		return ""
	case stepRBAC:
		if m.rbac.from == stepDone || m.rbac.saved != "" {
			return ""
		}
		return "Cancelled."
	case stepRotate:
		switch {
		case m.rotate.saved != nil, m.rotate.err != nil:
			// The outcome on screen (switched, or why not) stays.
			return ""
		case m.rotate.cert != nil:
			// The new key and certificate file are kept for R to resume.
			return "✗ Cancelled: nothing was switched; " + m.rotate.profile.Name + " keeps its old credential."
		}
	}
	what := "nothing was saved"
	if m.reauth {
		what += "; the stored authorization of " + m.currentProfile() + " is unchanged"
	}
	return "✗ Cancelled: " + what + "."
}

// stateWords is a state in plain words.
func stateWords(s flows.State) string { return s.Words() }

// doneOutcome is the done screen's outcome, except that an rbac profile
// waiting for its Exchange role is what a setup is expected to end with,
// not a failure.
func (m Model) doneOutcome() Outcome {
	out := m.done.outcome()
	if st := m.done.status; st != nil && st.State == flows.StatePending {
		out.Err = nil
	}
	return out
}
