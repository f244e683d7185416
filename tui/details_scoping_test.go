package tui

import (
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// TestDetailsScoping: the rbac form asks the Exchange scoping, each choice
// with a line on what it means, and records the choice as setup --scoping
// and --policy-access do (flows.SetScoping); other scenarios are not asked.
func TestDetailsScoping(t *testing.T) {
	s := appDetails(t, store.RBAC)
	view := flat(s.View())
	for _, want := range []string{"Exchange scope", "(•) RBAC for Applications (recommended)", "( ) Application access policy (legacy)", "the app holds no tenant-wide Mail.Send"} {
		if !strings.Contains(view, want) {
			t.Errorf("the form lacks %q:\n%s", want, view)
		}
	}
	if p := s.profileSoFar(); p.Scoping != store.ScopingRBAC || p.PolicyAccess != "" {
		t.Errorf("default: %q %q", p.Scoping, p.PolicyAccess)
	}

	// An access policy: RestrictAccess first, then DenyAccess.
	s, _ = s.focusOn(fieldScoping)
	s, _ = s.Update(keypress("right"))
	view = flat(s.View())
	for _, want := range []string{"(•) Application access policy (legacy)", "keeps tenant-wide Mail.Send in Entra", "the proof is the test sends", "Policy type", "(•) RestrictAccess (allow list)", "may send only as the group's members", "Allowed group"} {
		if !strings.Contains(view, want) {
			t.Errorf("policy: the form lacks %q:\n%s", want, view)
		}
	}
	want, _ := flows.SetScoping(s.profileSoFar(), "policy", "")
	if p := s.profileSoFar(); p.Scoping != store.ScopingPolicy || p.PolicyAccess != store.PolicyRestrict || p.PolicyAccess != want.PolicyAccess {
		t.Errorf("restrict: %q %q", p.Scoping, p.PolicyAccess)
	}
	s, _ = s.focusOn(fieldPolicyAccess)
	s, _ = s.Update(keypress("right"))
	view = flat(s.View())
	for _, want := range []string{"(•) DenyAccess (block list)", "every mailbox except the group's members", "Blocked group"} {
		if !strings.Contains(view, want) {
			t.Errorf("deny: the form lacks %q:\n%s", want, view)
		}
	}
	if p := s.profileSoFar(); p.Scoping != store.ScopingPolicy || p.PolicyAccess != store.PolicyDeny {
		t.Errorf("deny: %q %q", p.Scoping, p.PolicyAccess)
	}

	// Back to RBAC: the policy question goes, and so does its answer.
	s, _ = s.focusOn(fieldScoping)
	s, _ = s.Update(keypress("left"))
	if p := s.profileSoFar(); p.Scoping != store.ScopingRBAC || p.PolicyAccess != "" || strings.Contains(flat(s.View()), "Policy type") {
		t.Errorf("back to rbac: %q %q", p.Scoping, p.PolicyAccess)
	}

	// A stored policy profile opens on its scoping; send-as-any is not asked.
	stored := s.profileSoFar()
	stored.Scoping, stored.PolicyAccess = store.ScopingPolicy, store.PolicyDeny
	if p := detailsFromProfile(newStyles(), testDeps(t), stored).profileSoFar(); p.PolicyAccess != store.PolicyDeny {
		t.Errorf("re-authorizing a deny policy: %q %q", p.Scoping, p.PolicyAccess)
	}
	if strings.Contains(flat(appDetails(t, store.SendAsAny).View()), "Exchange scope") {
		t.Error("send-as-any is asked the Exchange scoping")
	}
}

// TestRBACScreenFollowsScoping: a profile scoped by an access policy gets
// its policy on the PowerShell screen, as rbac-script prints it, and l
// cannot swap in the RBAC form its check would not fit.
func TestRBACScreenFollowsScoping(t *testing.T) {
	p := store.Profile{Name: "scoped", Scenario: store.RBAC, ClientID: testClientID, Account: testAccount, Scoping: store.ScopingPolicy, PolicyAccess: store.PolicyDeny}
	s := newRBACScreen(newStyles()).show(testDeps(t), p, stepDone)
	s, _ = s.Update(keypress("l"))
	if script := s.script(); !strings.Contains(script, "New-ApplicationAccessPolicy") || !strings.Contains(script, "-AccessRight DenyAccess") {
		t.Fatalf("script of a deny policy profile:\n%s", script)
	}
	if v := flat(s.View()); !strings.Contains(v, "(ApplicationAccessPolicy, DenyAccess)") || !strings.Contains(v, "The app keeps tenant-wide Mail.Send") {
		t.Errorf("view:\n%s", v)
	}
	p.Scoping, p.PolicyAccess = store.ScopingRBAC, ""
	if script := newRBACScreen(newStyles()).show(testDeps(t), p, stepDone).script(); !strings.Contains(script, "New-ManagementRoleAssignment") {
		t.Errorf("script of an RBAC profile:\n%s", script)
	}
}
