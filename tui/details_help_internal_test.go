package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/store"
)

// TestHelpOnScopingChoice: on the rbac form's Exchange scope and access
// choices, as on the credential choice, nothing is typed, so ? opens the
// help (it did nothing there) and the bar says ?, not f1.
func TestHelpOnScopingChoice(t *testing.T) {
	noProfiles := profilesLoadedMsg{Profiles: &store.Profiles{Version: store.SchemaVersion}}
	next, _ := New(context.Background(), testDeps(t)).Update(noProfiles)
	next, _ = next.Update(scenarioChosenMsg{Scenario: store.RBAC})
	next, _ = next.Update(registrationClosedMsg{})
	m := next.(Model)
	for _, f := range []field{fieldCredential, fieldScoping, fieldPolicyAccess} {
		m.details.scoping = 1 // a policy, so its access right is asked too
		m.details, _ = m.details.focusOn(f)
		if bar := viewAt(m, 80, 24); !strings.Contains(bar, "? help") {
			t.Errorf("%s: the help bar does not offer ?:\n%s", m.details.label(f), bar)
		}
		shown, _ := press(t, m, "?")
		if v := viewAt(shown, 80, 24); !strings.Contains(v, "Keys on this screen") || !strings.Contains(v, "choose") {
			t.Errorf("%s: ? shows no help with the choice key:\n%s", m.details.label(f), v)
		}
	}
}
