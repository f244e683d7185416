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
