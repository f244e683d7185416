package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// doneScreen says what was authorized, where the secret is kept and how a
// script uses the profile.
type doneScreen struct {
	st      styles
	keys    doneKeys
	width   int
	profile store.Profile
	status  *flows.Status
	service string
	prefix  string
}

func newDoneScreen(st styles, d Deps, p store.Profile, status *flows.Status) doneScreen {
	s := doneScreen{st: st, keys: newDoneKeys(), profile: p, status: status, service: d.ServiceName, prefix: d.CommandPrefix}
	s.setSize(80)
	return s
}

func (s *doneScreen) setSize(w int) { s.width = w }

// Update finishes on enter or q.
func (s doneScreen) Update(msg tea.Msg) (doneScreen, tea.Cmd) {
	if km, ok := msg.(tea.KeyPressMsg); ok && key.Matches(km, s.keys.Quit) {
		return s, emit(finishedMsg{})
	}
	return s, nil
}

// View renders the summary.
func (s doneScreen) View() string {
	if s.profile.Name == "" {
		return ""
	}
	p := s.profile
	var b strings.Builder
	b.WriteString(paint(s.st.ok, wrap("✓ Authorized "+p.Name+" as "+p.Account, s.width)) + "\n")
	if s.status != nil && s.status.State == flows.StateConsentMissing && s.status.Error != nil {
		b.WriteString("\n" + paint(s.st.warn, wrap("! Saved, but "+s.status.Error.Message+".", s.width)) + "\n")
		if s.status.Error.Hint != "" {
			b.WriteString(wrap("Hint: "+s.status.Error.Hint+"; then run "+s.prefix+" status "+p.Name, s.width) + "\n")
		}
	}
	if s.status != nil && len(s.status.Steps) > 0 {
		b.WriteString("\n")
		for _, step := range s.status.Steps {
			b.WriteString(stepLine(s.st, step, s.width) + "\n")
		}
	}
	b.WriteString("\n" + s.st.label.Render("Where the secret is kept") + "\n")
	b.WriteString(indent(wrap("OS keyring, service "+s.service+", item "+p.Name+"/"+string(store.KindRefreshToken), s.width-2), "  ") + "\n")
	if p.Credential == store.CredentialSecret {
		b.WriteString(indent(wrap("and the client secret, item "+p.Name+"/"+string(store.KindClientSecret), s.width-2), "  ") + "\n")
	}
	b.WriteString(indent(wrap("profiles.json holds the settings, never a secret", s.width-2), "  ") + "\n")
	b.WriteString("\n" + s.st.label.Render("How a script uses it") + "\n")
	cmds := [][2]string{
		{s.prefix + " token " + p.Name, "prints a fresh access token"},
		{s.prefix + " status " + p.Name, "checks the authorization still works"},
	}
	w := 0
	for _, c := range cmds {
		w = max(w, len(c[0]))
	}
	for _, c := range cmds {
		line := "  " + s.st.code.Render(pad(c[0], w)) + "  " + s.st.subtle.Render(c[1])
		if 2+w+2+len(c[1]) > s.width {
			line = "  " + s.st.code.Render(c[0]) + "\n    " + s.st.subtle.Render(c[1])
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
