package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestEditPlanCommandsHaveThePrefix: the commands the edit plan names
// (rbac-script for a new scoping, reauth for a delegated grant kept
// wider) carry the flags in force, so they work when pasted, and prose
// that mentions mailgrant is left as written.
func TestEditPlanCommandsHaveThePrefix(t *testing.T) {
	const prefix = "mailgrant --sandbox --config-dir /tmp/cfg"
	base := store.Profile{Cloud: "global", Tenant: sandbox.TenantID, Account: sandbox.AdeleVance.UPN}
	cases := []struct {
		name    string
		profile store.Profile
		edit    func(*editScreen)
		want    []string
	}{
		{
			name:    "scoping",
			profile: with(base, "scoped", store.RBAC, sandbox.RBACApp.ClientID, flows.DefaultPermissions(store.RBAC)...),
			edit:    func(s *editScreen) { s.scoping = store.ScopingPolicy },
			want:    []string{prefix + " rbac-script scoped"},
		},
		{
			name:    "fewer app permissions",
			profile: with(base, "big", store.SendAsAny, sandbox.LargeMailApp.ClientID, "Mail.Send", "Mail.ReadWrite"),
			edit:    func(s *editScreen) { s.inputs[editPermissions].SetValue("Mail.Send") },
			want:    []string{"mailgrant cannot remove a granted permission"},
		},
		{
			name:    "fewer delegated permissions",
			profile: with(base, "mailer", store.SendAsUser, sandbox.PublicApp.ClientID, "Mail.Send", "User.Read", "Calendars.Read"),
			edit:    func(s *editScreen) { s.inputs[editPermissions].SetValue("Mail.Send, User.Read") },
			want:    []string{prefix + " reauth mailer"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newEditScreen(t.Context(), newStyles(), Deps{CommandPrefix: prefix}, c.profile)
			s.setSize(2000) // one line per sentence
			c.edit(&s)
			s, _ = s.Update(tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
			if s.edited == nil {
				t.Fatalf("no plan to review: %v", s.View())
			}
			view := s.View()
			for _, w := range c.want {
				if !strings.Contains(view, w) {
					t.Errorf("plan lacks %q:\n%s", w, view)
				}
			}
			if strings.Contains(view, prefix+" cannot") {
				t.Errorf("the prefix went into prose:\n%s", view)
			}
		})
	}
}

func with(p store.Profile, name string, sc store.Scenario, client string, perms ...string) store.Profile {
	p.Name, p.Scenario, p.ClientID, p.Permissions = name, sc, client, perms
	if sc == store.RBAC {
		p.OutOfScopeMailbox = sandbox.AlexWilber.UPN
	}
	return p
}

// TestEditBusyBarOffersNoAnswer: while a delegated edit asks for a token
// with the stored grant, y and n/esc wait for it, so the help bar does not
// offer them (ctrl+c still quits).
func TestEditBusyBarOffersNoAnswer(t *testing.T) {
	m := New(t.Context(), testDeps(t))
	p := with(store.Profile{Cloud: "global", Tenant: sandbox.TenantID, Account: sandbox.AdeleVance.UPN},
		"mailer", store.SendAsUser, sandbox.PublicApp.ClientID, "Mail.Send", "User.Read", "Calendars.Read")
	next, _ := m.toEdit(p)
	m = next.(Model)
	m.edit.inputs[editPermissions].SetValue("Mail.Send, User.Read")
	m, _ = press(t, m, "ctrl+s")
	if bar := viewAt(m, 80, 24); !strings.Contains(bar, "y apply") {
		t.Fatalf("no question after ctrl+s:\n%s", bar)
	}
	m, _ = press(t, m, "y")
	if !m.edit.busy() {
		t.Fatal("y did not start the token request")
	}
	bar := viewAt(m, 80, 24)
	if strings.Contains(bar, "y apply") || strings.Contains(bar, "n/esc") {
		t.Errorf("the bar offers answers that wait for the request:\n%s", bar)
	}
	if !strings.Contains(bar, "ctrl+c") {
		t.Errorf("the bar lost ctrl+c:\n%s", bar)
	}
}
