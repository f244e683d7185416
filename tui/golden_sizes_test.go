package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// sizes are the terminals every main screen is checked at: a small one, the
// classic one, and a large one.
var sizes = [][2]int{{60, 20}, {80, 24}, {120, 40}}

// goldenSizes compares a root model's view at each size with its golden
// file, and checks that no line is wider than the terminal and the frame
// is not taller than it.
func goldenSizes(t *testing.T, m Model) {
	t.Helper()
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			view := viewAt(m, sz[0], sz[1])
			lines := strings.Split(view, "\n")
			if len(lines) > sz[1]-1 {
				t.Errorf("%d lines, taller than %d", len(lines), sz[1])
			}
			for _, l := range lines {
				if w := len([]rune(l)); w > sz[0] {
					t.Errorf("line wider than %d: %q", sz[0], l)
				}
			}
			golden.RequireEqual(t, []byte(view))
		})
	}
}

// homeModel is the list with three profiles of different kinds, one of
// them with a long name.
func homeModel(t *testing.T) Model {
	at := time.Date(2025, 3, 4, 15, 4, 0, 0, time.UTC)
	exp := at.AddDate(1, 0, 0)
	tok := at.Add(time.Hour)
	ps := &store.Profiles{Version: store.SchemaVersion, List: []store.Profile{
		{Name: "sandbox-send-as-any", Scenario: store.SendAsAny, Account: testAccount, Tenant: testTenant, ClientID: testClientID, Credential: store.CredentialSecret, CredentialExpiresAt: &exp, LastState: "authorized", LastCheckedAt: &at},
		{Name: "sandbox-send-as-user", Scenario: store.SendAsUser, Account: testAccount, Tenant: testTenant, ClientID: testClientID, RefreshRotatedAt: &at, LastState: "reauthorize", LastCheckedAt: &at},
		{Name: "sandbox-rbac", Scenario: store.RBAC, Account: testAccount, Tenant: testTenant, ClientID: testClientID, Credential: store.CredentialSecret, LastState: "pending", LastCheckedAt: &at},
	}}
	next, _ := New(context.Background(), testDeps(t)).Update(profilesLoadedMsg{Profiles: ps})
	m := next.(Model)
	m.home = m.home.remember(&flows.Status{Name: "sandbox-send-as-any", TokenExpiresAt: &tok})
	return m
}

func TestGoldenSizes(t *testing.T) {
	noProfiles := profilesLoadedMsg{Profiles: &store.Profiles{Version: store.SchemaVersion}}
	t.Run("home", func(t *testing.T) {
		goldenSizes(t, homeModel(t))
	})
	t.Run("form", func(t *testing.T) {
		d := testDeps(t)
		next, _ := New(context.Background(), d).Update(noProfiles)
		next, _ = next.Update(scenarioChosenMsg{Scenario: store.SendAsAny})
		next, _ = next.Update(registrationClosedMsg{})
		m := next.(Model)
		// The credential choice, where "new certificate" must not be cut.
		for range 5 {
			m.details, _ = m.details.Update(keypress("tab"))
		}
		goldenSizes(t, m)
	})
	t.Run("authorize", func(t *testing.T) {
		m := authorizing(t)
		m.authorize.url = "https://login.microsoftonline.com/" + testTenant + "/oauth2/v2.0/authorize?client_id=" + testClientID + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=http%3A%2F%2Flocalhost%3A49152&response_type=code&scope=Mail.Send+User.Read+offline_access+openid+profile&state=Xy"
		at := time.Date(2025, 3, 4, 15, 4, 0, 0, time.UTC)
		m.authorize.startedAt, m.authorize.now = at, at.Add(75*time.Second)
		m.authorize.setKeys()
		goldenSizes(t, m)
	})
	t.Run("authorize-no-browser", func(t *testing.T) {
		m := authorizing(t)
		m.authorize.url = "https://login.microsoftonline.com/" + testTenant + "/oauth2/v2.0/authorize?client_id=" + testClientID + "&state=Xy"
		next, _ := m.Update(browserOpenedMsg{Attempt: m.authorize.attempt, Err: fmt.Errorf(`exec: "xdg-open,x-www-browser,www-browser": executable file not found in $PATH`)})
		golden.RequireEqual(t, []byte(viewAt(next.(Model), 80, 24)))
	})
}
