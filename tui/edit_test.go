package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/store"
)

// The home screen's full help (?) and its help bar name the edit and
// rotate keys.
func TestHomeHelpListsEditAndRotate(t *testing.T) {
	m, _ := homeModel(t).Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	if bar := viewAt(m.(Model), 100, 30); !strings.Contains(bar, "e edit") || !strings.Contains(bar, "R rotate") {
		t.Errorf("the help bar lacks e or R:\n%s", bar)
	}
	shown, _ := press(t, m.(Model), "?")
	view := viewAt(shown, 100, 30)
	for _, want := range []string{"edit permissions, account, From, Reply-To, scoping", "rotate the client secret or certificate (app-only)"} {
		if !strings.Contains(view, want) {
			t.Errorf("the help lacks %q:\n%s", want, view)
		}
	}
}

// The scoping choice shows for rbac profiles only, and switching it is a
// change the plan sees.
func TestEditScopingForRBACOnly(t *testing.T) {
	m := New(t.Context(), testDeps(t))
	any := store.Profile{Name: "daemon", Scenario: store.SendAsAny, Tenant: "contoso.onmicrosoft.com", ClientID: testClientID, Account: testAccount, Permissions: []string{"Mail.Send"}}
	next, _ := m.toEdit(any)
	if v := viewAt(next.(Model), 80, 24); strings.Contains(v, "Scoping") {
		t.Errorf("send-as-any shows a scoping:\n%s", v)
	}
	scoped := store.Profile{Name: "scoped", Scenario: store.RBAC, Tenant: "contoso.onmicrosoft.com", ClientID: testClientID, Account: testAccount, Permissions: []string{"Mail.Send"}}
	next, _ = m.toEdit(scoped)
	em := next.(Model)
	if v := viewAt(em, 80, 24); !strings.Contains(v, "Scoping") || !strings.Contains(v, "(•) rbac") {
		t.Fatalf("rbac shows no scoping choice:\n%s", v)
	}
	em, _ = press(t, em, "shift+tab", "right", "ctrl+s")
	v := viewAt(em, 80, 24)
	if !strings.Contains(v, "scoping: RBAC for Applications → ApplicationAccessPolicy") || !strings.Contains(v, "y apply") {
		t.Errorf("switching to policy is not planned:\n%s", v)
	}
}
