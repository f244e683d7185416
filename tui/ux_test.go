package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// press sends key names to the root model and returns it with the last
// command.
func press(t *testing.T, m Model, keys ...string) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		var next tea.Model
		next, cmd = m.Update(keypress(k))
		m = next.(Model)
	}
	return m, cmd
}

// follow feeds the events a command emits at once back into the model (one
// level: the screens announce steps with emit).
func follow(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	if cmd == nil {
		return m
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			m = follow(t, m, c)
		}
		return m
	}
	switch msg.(type) {
	case nil, tea.QuitMsg:
		return m
	}
	next, _ := m.Update(msg)
	return next.(Model)
}

// everyScreen builds the root model on each step.
func everyScreen(t *testing.T) map[string]Model {
	noProfiles := profilesLoadedMsg{Profiles: &store.Profiles{Version: store.SchemaVersion}}
	out := map[string]Model{"home": homeModel(t)}
	next, _ := New(context.Background(), testDeps(t)).Update(noProfiles)
	out["chooser"] = next.(Model)
	next, _ = next.Update(scenarioChosenMsg{Scenario: store.RBAC})
	out["registration"] = next.(Model)
	next, _ = next.Update(registrationClosedMsg{})
	out["details"] = next.(Model)
	out["authorize"] = authorizing(t)
	m := New(context.Background(), testDeps(t))
	p := store.Profile{Name: "scoped", Scenario: store.RBAC, ClientID: testClientID, Account: testAccount}
	next, _ = m.toRBAC(p)
	out["rbac"] = next.(Model)
	next, _ = m.toStatus(p)
	out["status"] = next.(Model)
	next, _ = m.toEdit(p)
	out["edit"] = next.(Model)
	next, _ = m.toRotate(p)
	out["rotate"] = next.(Model)
	m.step = stepDone
	m.done = newDoneScreen(m.styles, m.deps, p, &flows.Status{State: flows.StateAuthorized}, "")
	out["done"] = m
	d := testDeps(t)
	d.Store = &StoreOffer{Path: "/home/admin/.config/mailgrant/secrets.age", Probe: func() error { return nil }}
	s := New(context.Background(), d)
	next, _ = s.Update(storeProbedMsg{Err: fmt.Errorf("the keyring is locked")})
	out["store"] = next.(Model)
	return out
}

// Every screen has the full help on ? (f1 where ? types), any key closes
// it, and no screen draws a line wider or a frame taller than the terminal.
func TestHelpOverlayOnEveryScreen(t *testing.T) {
	for name, m := range everyScreen(t) {
		t.Run(name, func(t *testing.T) {
			m, _ := m.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
			helpKey := "?"
			if m.(Model).typing() {
				helpKey = "f1"
			}
			if bar := viewAt(m.(Model), 60, 20); !strings.Contains(bar, helpKey+" help") {
				t.Errorf("the help bar does not name %s:\n%s", helpKey, bar)
			}
			shown, _ := press(t, m.(Model), helpKey)
			view := viewAt(shown, 60, 20)
			if !strings.Contains(view, "Keys on this screen") || !strings.Contains(view, "ctrl+c") {
				t.Fatalf("%s shows no help:\n%s", helpKey, view)
			}
			closed, _ := press(t, shown, "x")
			if strings.Contains(viewAt(closed, 60, 20), "Keys on this screen") {
				t.Fatal("a key did not close the help")
			}
			for _, sz := range sizes {
				v := viewAt(m.(Model), sz[0], sz[1])
				lines := strings.Split(v, "\n")
				if len(lines) > sz[1]-1 {
					t.Errorf("%dx%d: %d lines", sz[0], sz[1], len(lines))
				}
				for _, l := range lines {
					if len([]rune(l)) > sz[0] {
						t.Errorf("%dx%d: line too wide: %q", sz[0], sz[1], l)
					}
				}
				if n := strings.Count(v, "SANDBOX — simulated tenant"); n != 1 {
					t.Errorf("%dx%d: banner shown %d times", sz[0], sz[1], n)
				}
			}
		})
	}
}

// Esc goes back exactly one step and keeps what was typed; on the first
// screen it does not quit.
func TestEscOneStepKeepsValues(t *testing.T) {
	next, _ := New(context.Background(), testDeps(t)).Update(profilesLoadedMsg{Profiles: &store.Profiles{Version: store.SchemaVersion}})
	m := next.(Model)
	m, cmd := press(t, m, "esc")
	if m = follow(t, m, cmd); m.step != stepChooser || m.final != "" || m.outcome.Cancelled {
		t.Fatalf("esc on the first screen left it: step %d outcome %+v", m.step, m.outcome)
	}
	m, cmd = press(t, m, "enter") // send-as-user
	m = follow(t, m, cmd)
	m, _ = press(t, m, "enter") // past the checklist
	m = follow(t, m, emit(registrationClosedMsg{}))
	if m.step != stepDetails {
		t.Fatalf("step %d, want the form", m.step)
	}
	m, _ = press(t, m, "ctrl+u", "w", "o", "r", "d", "p", "r", "e", "s", "s")
	m, cmd = press(t, m, "esc")
	if m = follow(t, m, cmd); m.step != stepRegistration {
		t.Fatalf("esc on the form went to step %d, want the checklist (one step)", m.step)
	}
	m, cmd = press(t, m, "esc")
	if m = follow(t, m, cmd); m.step != stepChooser {
		t.Fatalf("esc on the checklist went to step %d, want the chooser", m.step)
	}
	m, cmd = press(t, m, "enter")
	m = follow(t, m, cmd)
	m, cmd = press(t, m, "enter")
	if m = follow(t, m, cmd); m.step != stepDetails || m.details.value(fieldProfile) != "wordpress" {
		t.Fatalf("back on the form (step %d) the name is %q, want wordpress", m.step, m.details.value(fieldProfile))
	}
}

// q during a sign-in asks; n stays, y quits cancelled.
func TestQuitAsksDuringSignIn(t *testing.T) {
	m := authorizing(t)
	m, cmd := press(t, m, "q")
	m = follow(t, m, cmd)
	if !m.confirmQuit || !strings.Contains(flat(m.View().Content), "Quit? The sign-in in progress is cancelled; nothing is saved. y quit · n stay") {
		t.Fatalf("q did not ask:\n%s", m.View().Content)
	}
	m, _ = press(t, m, "n")
	if m.confirmQuit || m.authorize.attempt == 0 {
		t.Fatal("n did not keep the sign-in")
	}
	m, cmd = press(t, m, "q")
	m = follow(t, m, cmd)
	m, cmd = press(t, m, "y")
	if cmd == nil || !m.outcome.Cancelled {
		t.Fatalf("y did not quit: %+v", m.outcome)
	}
}

// An rbac profile just saved: esc does not move on, ctrl+c exits 130 (the
// profile stays saved, as pending).
func TestRBACAfterSave(t *testing.T) {
	m := New(context.Background(), testDeps(t))
	p := store.Profile{Name: "scoped", Scenario: store.RBAC, ClientID: testClientID, Account: testAccount, LastState: string(flows.StatePending)}
	m.step = stepCheck
	m.check.attempt = 7
	m.check.status = &flows.Status{State: flows.StatePending, Error: &flows.Error{Code: "pending", State: flows.StatePending, Message: "waiting for the Exchange role"}}
	next, _ := m.Update(tokenSavedMsg{Attempt: 7, Profile: p})
	m = next.(Model)
	if m.step != stepRBAC || !strings.Contains(flat(m.View().Content), "Saved as pending (waiting for the Exchange role)") {
		t.Fatalf("step %d:\n%s", m.step, m.View().Content)
	}
	m, cmd := press(t, m, "esc")
	if m = follow(t, m, cmd); m.step != stepRBAC {
		t.Fatalf("esc moved on to step %d", m.step)
	}
	m, cmd = press(t, m, "ctrl+c")
	if cmd == nil || !m.outcome.Cancelled || !m.outcome.Completed || m.outcome.Err != nil {
		t.Fatalf("ctrl+c: outcome %+v, want cancelled (130) after a completed save", m.outcome)
	}
}

// A resize redraws the whole screen, so no stale line stays on top.
func TestResizeClearsTheScreen(t *testing.T) {
	m := New(context.Background(), testDeps(t))
	next, cmd := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if cmd != nil {
		t.Fatal("the first size cleared the screen")
	}
	_, cmd = next.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
	if cmd == nil || fmt.Sprintf("%T", cmd()) != fmt.Sprintf("%T", tea.ClearScreen()) {
		t.Fatal("a resize did not clear the screen")
	}
}

// Paths typed into the wizard expand ~ as a shell would.
func TestTildeInPaths(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if got := expandHome("~/certs/x.pem"); got != filepath.Join(home, "certs/x.pem") {
		t.Fatalf("expandHome = %q", got)
	}
	if got := expandHome("~other/x"); got != "~other/x" {
		t.Fatalf("~user was expanded: %q", got)
	}
	msg := checkNewCertificatePath(1, "~/mailer.pem")().(credentialCheckedMsg)
	if msg.Err != nil {
		t.Fatalf("~/mailer.pem refused: %v", msg.Err)
	}
	script := writeScript(2, "~/scope.ps1", "# script")().(scriptSavedMsg)
	if _, err := os.Stat(filepath.Join(home, "scope.ps1")); err != nil || script.Err != nil {
		t.Fatalf("the script is not in the home directory: %v %v", err, script.Err)
	}
}

// A long profile name is never cut, even at 60 columns.
func TestLongNameNeverTruncated(t *testing.T) {
	name := "wordpress-production-mailer-for-the-shop"
	ps := &store.Profiles{Version: store.SchemaVersion, List: []store.Profile{{Name: name, Scenario: store.SendAsUser}, {Name: name + "-2", Scenario: store.SendAsUser}}}
	next, _ := New(context.Background(), testDeps(t)).Update(profilesLoadedMsg{Profiles: ps})
	for _, sz := range sizes {
		v := viewAt(next.(Model), sz[0], sz[1])
		if !strings.Contains(v, "> "+name+"\n") && !strings.Contains(v, "> "+name+" ") {
			t.Errorf("%dx%d: the name is cut:\n%s", sz[0], sz[1], v)
		}
		if !strings.Contains(v, name+"-2") {
			t.Errorf("%dx%d: the second name is cut:\n%s", sz[0], sz[1], v)
		}
	}
}

// Hints inside the wizard name the key, not a command to paste.
func TestKeyHint(t *testing.T) {
	for in, want := range map[string]string{
		"sign in again: mailgrant --sandbox --config-dir '/tmp/a b' reauth wordpress":           "sign in again: press r to sign in again",
		"check again later: mailgrant status scoped":                                            "check again later: press c to check again",
		"run it again; if no browser opened, copy the URL shown into one, or use --device-code": "run it again; if no browser opened, copy the URL shown into one, or press d for a device code",
	} {
		if got := keyHint(in); got != want {
			t.Errorf("keyHint(%q) = %q, want %q", in, got, want)
		}
	}
}

// A failed step says its cause once: the step's line already has it.
func TestCauseSaidOnce(t *testing.T) {
	e := &flows.Error{Code: "x", Message: "the token lacks Mail.Send", Hint: "grant consent"}
	out := stepCause(newStyles(), flows.Step{Name: flows.StepPermissions, Detail: e.Message, Err: e}, 80)
	if strings.Contains(out, "Cause:") || !strings.Contains(out, "Fix:") {
		t.Fatalf("stepCause:\n%s", out)
	}
}

// The encrypted file needs a passphrase of 12 characters or more, typed
// twice, or a generated one.
func TestStorePassphraseStrength(t *testing.T) {
	var opened string
	offer := &StoreOffer{Path: "/x/secrets.age", Open: func(p string) (store.Secrets, error) { opened = p; return store.NewMemory(), nil }}
	s := newStoreScreen(newStyles(), offer).show(fmt.Errorf("locked"), stepChooser)
	s, _ = s.Update(keypress("y"))
	for _, r := range "short" {
		s, _ = s.Update(keypress(string(r)))
	}
	s, cmd := s.Update(keypress("enter"))
	if cmd != nil || !strings.Contains(flat(s.View()), "shorter than 12 characters") {
		t.Fatalf("a 5-character passphrase was accepted:\n%s", s.View())
	}
	s, _ = s.Update(passphraseMadeMsg{Passphrase: "abcd-efgh-jkmn-pqrs-tuvw-xyz2"})
	if !strings.Contains(flat(s.View()), "abcd-efgh-jkmn-pqrs-tuvw-xyz2") {
		t.Fatalf("the generated passphrase is not shown:\n%s", s.View())
	}
	_, cmd = s.Update(keypress("enter"))
	if msg := cmd(); msg.(storeOpenedMsg).Err != nil || opened != "abcd-efgh-jkmn-pqrs-tuvw-xyz2" {
		t.Fatalf("opened with %q", opened)
	}
	if p := makePassphrase().(passphraseMadeMsg).Passphrase; len(strings.ReplaceAll(p, "-", "")) < 24 {
		t.Fatalf("generated passphrase %q is short", p)
	}
}

// c copies the whole sign-in URL to the clipboard (OSC 52), since the
// screen can only show it broken into lines.
func TestAuthorizeCopiesURL(t *testing.T) {
	m := authorizing(t)
	m.authorize.url = "https://login.example/authorize?state=Xy"
	m.authorize.setKeys()
	m, cmd := press(t, m, "c")
	if cmd == nil || fmt.Sprintf("%#v", cmd()) != fmt.Sprintf("%#v", tea.SetClipboard(m.authorize.url)()) {
		t.Fatalf("c did not copy the URL")
	}
	if !strings.Contains(flat(m.View().Content), "Copied to the clipboard") {
		t.Fatalf("no word that it was copied:\n%s", m.View().Content)
	}
}

// The quit question is shown whole even when the screen fills the terminal.
func TestQuitQuestionFits(t *testing.T) {
	m := authorizing(t)
	m.authorize.url = strings.Repeat("https://login.example/authorize?x=1&", 12)
	m.authorize.setKeys()
	m, cmd := press(t, m, "q")
	m = follow(t, m, cmd)
	if v := flat(viewAt(m, 60, 20)); !strings.Contains(v, "y quit · n stay") {
		t.Fatalf("the question is cut:\n%s", viewAt(m, 60, 20))
	}
}

// A keyring that fails before the profiles are read: once the file is
// chosen, an empty list still starts on the chooser.
func TestStoreOfferBeforeProfiles(t *testing.T) {
	d := testDeps(t)
	d.Store = &StoreOffer{Path: "/x/secrets.age", Probe: func() error { return nil }, FilePrefix: "mailgrant --sandbox --store file"}
	next, _ := New(context.Background(), d).Update(storeProbedMsg{Err: fmt.Errorf("locked")})
	next, _ = next.Update(profilesLoadedMsg{Profiles: &store.Profiles{Version: store.SchemaVersion}})
	next, _ = next.Update(storeOpenedMsg{Secrets: store.NewMemory()})
	m := next.(Model)
	if m.step != stepChooser || m.deps.CommandPrefix != "mailgrant --sandbox --store file" {
		t.Fatalf("step %d prefix %q, want the chooser and --store file in commands", m.step, m.deps.CommandPrefix)
	}
}

// A failed keyring probe that comes during a sign-in or check does not
// replace that screen (its result would be lost); the offer comes once the
// wizard is back on a screen it may interrupt.
func TestKeyringOfferWaitsForTheFlow(t *testing.T) {
	m := New(context.Background(), testDeps(t))
	m.deps.Store = &StoreOffer{Path: "/x/secrets.age", Probe: func() error { return nil }}
	m.step = stepCheck
	next, _ := m.Update(storeProbedMsg{Err: errors.New("no Secret Service")})
	m = next.(Model)
	if m.step != stepCheck {
		t.Fatalf("the offer replaced the check: step %d", m.step)
	}
	m.step = stepHome
	next, _ = m.Update(tea.PasteMsg{})
	if m = next.(Model); m.step != stepStore {
		t.Fatalf("back on the list, the offer was not shown: step %d", m.step)
	}
}
