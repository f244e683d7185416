package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

const (
	testTenant   = "5a4db0c5-7e4a-4d1b-9c2e-3f6a8b1d2e40"
	testClientID = "0b7c6a52-3d1e-4f8a-9b2c-6e5d4c3b2a10"
	testAccount  = "adele.vance@mailgrant-sandbox.onmicrosoft.com"
)

// keypress builds the key message for a key name as key.Matches sees it.
func keypress(name string) tea.KeyPressMsg {
	switch name {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+s":
		return tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	}
	r := []rune(name)
	return tea.KeyPressMsg{Code: r[0], Text: name}
}

// testDeps are deps for unit tests: nothing here reaches a network.
func testDeps(t *testing.T) Deps {
	t.Helper()
	env, err := flows.NewEnv(flows.EnvOptions{Sandbox: true})
	if err != nil {
		t.Fatal(err)
	}
	return Deps{
		Env: env, Secrets: store.NewMemory(), ConfigDir: t.TempDir(), Browser: flows.NoBrowser{},
		Sandbox: true, ServiceName: "mailgrant-sandbox", CommandPrefix: "mailgrant --sandbox",
		Prefill: Prefill{
			Tenant: testTenant, ClientID: testClientID, Account: testAccount,
			Accounts: []string{testAccount, "alex.wilber@mailgrant-sandbox.onmicrosoft.com", "sam@outlook.com"},
			Note:     "Sandbox: the tenant and app below exist in the simulated tenant; sign in as any sandbox user.",
		},
	}
}

// typeInto sends each rune of text as a key press.
func typeInto(s detailsScreen, text string) detailsScreen {
	for _, r := range text {
		s, _ = s.Update(keypress(string(r)))
	}
	return s
}

// clear empties the focused field.
func clear(s detailsScreen) detailsScreen {
	s, _ = s.Update(keypress("ctrl+u"))
	return s
}

// msgOf runs a command that is expected to emit an event at once.
func msgOf(t *testing.T, cmd tea.Cmd) tea.Msg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	return cmd()
}

func TestDetailsValidatesAsTyped(t *testing.T) {
	// Given a form on the client ID field, emptied.
	s := newDetailsScreen(newStyles(), testDeps(t), store.SendAsUser, "")
	s, _ = s.focusOn(fieldClientID)
	s = clear(s)

	// When a value that is not a GUID is typed.
	s = typeInto(s, "not-a-guid")

	// Then the field has the validator's error, shown under it at once.
	var ie *flows.InputError
	if !errors.As(s.inputs[fieldClientID].Err, &ie) || ie.Field != "client-id" {
		t.Fatalf("client ID error = %v, want an InputError for client-id", s.inputs[fieldClientID].Err)
	}
	view := ansi.Strip(s.View())
	for _, want := range []string{`✗ client-id: "not-a-guid" is not a GUID`, "copy the Application (client) ID"} {
		if !strings.Contains(strings.ReplaceAll(view, "\n"+strings.Repeat(" ", labelWidth+2), " "), want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}

	// When it is corrected, the error goes away.
	s = clear(s)
	s = typeInto(s, testClientID)
	if err := s.inputs[fieldClientID].Err; err != nil {
		t.Fatalf("valid client ID still has error %v", err)
	}
}

func TestDetailsSubmitStaysOnBadField(t *testing.T) {
	// Given a form whose tenant is wrong and whose focus is on the last field.
	s := newDetailsScreen(newStyles(), testDeps(t), store.SendAsUser, "")
	s, _ = s.focusOn(fieldTenant)
	s = clear(s)
	s = typeInto(s, "common")
	s, _ = s.focusOn(fieldSecret)

	// When the form is submitted.
	s, cmd := s.Update(keypress("enter"))

	// Then nothing is emitted and the focus is back on the tenant with its error.
	if msg := msgOf(t, cmd); msg != nil {
		if _, ok := msg.(detailsEnteredMsg); ok {
			t.Fatalf("submit with a bad tenant emitted %#v", msg)
		}
	}
	if s.focus != fieldTenant {
		t.Fatalf("focus = %d, want the tenant field %d", s.focus, fieldTenant)
	}
	if !strings.Contains(ansi.Strip(s.View()), "tenant: common does not name one tenant") {
		t.Fatalf("view lacks the tenant error:\n%s", ansi.Strip(s.View()))
	}

	// An empty required field is caught on submit too, even if never typed in.
	s = newDetailsScreen(newStyles(), Deps{Prefill: Prefill{Tenant: testTenant, ClientID: testClientID}}, store.SendAsUser, "")
	s, _ = s.Update(keypress("ctrl+s"))
	if s.focus != fieldAccount {
		t.Fatalf("focus = %d, want the empty account field %d", s.focus, fieldAccount)
	}
}

func TestDetailsSubmitEmitsProfile(t *testing.T) {
	d := testDeps(t)
	s := newDetailsScreen(newStyles(), d, store.SendAsUser, "")
	s, _ = s.focusOn(fieldSecret)
	s = typeInto(s, "s3cret~value")
	_, cmd := s.Update(keypress("ctrl+s"))

	msg, ok := msgOf(t, cmd).(detailsEnteredMsg)
	if !ok {
		t.Fatalf("submit emitted %T, want detailsEnteredMsg", msgOf(t, cmd))
	}
	p := msg.Profile
	if p.Name != "mailer" || p.Scenario != store.SendAsUser || p.Tenant != testTenant || p.ClientID != testClientID ||
		p.Account != testAccount || p.Cloud != d.Env.Cloud.Name || p.Credential != store.CredentialSecret {
		t.Errorf("profile = %+v", p)
	}
	if strings.Join(p.Permissions, ",") != "Mail.Send,User.Read" {
		t.Errorf("permissions = %v, want the scenario's defaults", p.Permissions)
	}
	if msg.ClientSecret != "s3cret~value" {
		t.Errorf("client secret = %q", msg.ClientSecret)
	}
	if strings.Contains(ansi.Strip(s.View()), "s3cret") {
		t.Error("the client secret is shown in clear")
	}
}

func TestDetailsExistingName(t *testing.T) {
	// Given profiles named mailer and mailer-2 exist.
	s := newDetailsScreen(newStyles(), testDeps(t), store.SendAsUser, "").setExisting([]string{"mailer", "mailer-2"})

	// Then the form does not open in error: it proposes a free name, and
	// says why.
	if got := s.value(fieldProfile); got != "mailer-3" || s.inputs[fieldProfile].Err != nil {
		t.Fatalf("name %q (err %v), want the free name mailer-3", got, s.inputs[fieldProfile].Err)
	}
	if view := flat(s.View()); !strings.Contains(view, "a profile named mailer exists; this name is free") {
		t.Fatalf("the proposed name is not explained:\n%s", view)
	}

	// When the admin types a taken name, it is flagged and submit stays on it.
	s = typeInto(clear(s), "mailer")
	s, _ = s.Update(keypress("ctrl+s"))
	if s.focus != fieldProfile {
		t.Fatalf("focus = %d, want the name field", s.focus)
	}
	view := ansi.Strip(s.View())
	if !strings.Contains(view, "a profile named mailer exists") || !strings.Contains(view, "choose another name or run mailgrant --sandbox reauth mailer") {
		t.Fatalf("view lacks the duplicate-name error:\n%s", view)
	}

	// A re-authorization may keep its own name.
	p := store.Profile{Name: "mailer", Scenario: store.SendAsUser, Tenant: testTenant, ClientID: testClientID, Account: testAccount, Permissions: []string{"Mail.Send"}}
	r := detailsFromProfile(newStyles(), testDeps(t), p).setExisting([]string{"mailer"})
	_, cmd := r.Update(keypress("ctrl+s"))
	if _, ok := msgOf(t, cmd).(detailsEnteredMsg); !ok {
		t.Fatal("re-authorizing an existing profile was refused")
	}
}

func TestChooserUnavailableCannotBePicked(t *testing.T) {
	avail := func(sc store.Scenario) bool { return sc == store.SendAsUser }
	s := newChooserScreen(newStyles(), avail)

	// When the cursor moves to send-as-any (unavailable) and enter is pressed.
	s, _ = s.Update(keypress("j"))
	s, cmd := s.Update(keypress("enter"))

	// Then nothing is chosen and the screen says why.
	if cmd != nil {
		t.Fatalf("enter on an unavailable scenario emitted %#v", cmd())
	}
	if !strings.Contains(ansi.Strip(s.View()), "send-as-any is not available yet") {
		t.Fatalf("no notice:\n%s", ansi.Strip(s.View()))
	}

	// Back on send-as-user, enter chooses it.
	s, _ = s.Update(keypress("k"))
	_, cmd = s.Update(keypress("enter"))
	if got, ok := msgOf(t, cmd).(scenarioChosenMsg); !ok || got.Scenario != store.SendAsUser {
		t.Fatalf("enter emitted %#v, want scenarioChosenMsg{send-as-user}", msgOf(t, cmd))
	}
}

func TestHomeWithoutProfilesGoesToChooser(t *testing.T) {
	m := New(context.Background(), testDeps(t))
	next, _ := m.Update(profilesLoadedMsg{Profiles: &store.Profiles{Version: store.SchemaVersion}})
	if got := next.(Model).step; got != stepChooser {
		t.Fatalf("step = %d, want the chooser", got)
	}
}

func TestHomeShowsCorruptFile(t *testing.T) {
	m := New(context.Background(), testDeps(t))
	corrupt := &store.CorruptError{Path: "/cfg/profiles.json", Reason: "no schema version"}
	next, _ := m.Update(profilesLoadedMsg{Err: corrupt})
	m = next.(Model)
	if m.step != stepHome {
		t.Fatalf("step = %d, want home", m.step)
	}
	view := ansi.Strip(m.View().Content)
	if !strings.Contains(view, "no schema version") || !strings.Contains(view, corrupt.Hint()[:20]) {
		t.Fatalf("view lacks the error and hint:\n%s", view)
	}
	next, cmd := m.Update(keypress("q"))
	next, _ = next.Update(msgOf(t, cmd))
	if out := next.(Model).Outcome(); !errors.Is(out.Err, corrupt) || out.Cancelled {
		t.Fatalf("outcome = %+v, want the corrupt error", out)
	}
}

func TestHomeListsProfiles(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 0, 0, time.Local)
	ps := &store.Profiles{Version: store.SchemaVersion, List: []store.Profile{
		{Name: "backup", Scenario: store.SendAsUser, Account: "a@b.example", LastState: "reauthorize", LastCheckedAt: &at},
		{Name: "wordpress", Scenario: store.SendAsUser, Account: testAccount, LastState: "authorized", LastCheckedAt: &at},
	}}
	m := New(context.Background(), testDeps(t))
	next, _ := m.Update(profilesLoadedMsg{Profiles: ps})
	m = next.(Model)
	view := flat(m.View().Content)
	for _, want := range []string{"! sign in again", "✓ works", "checked Mar 4 05:06 UTC", "> backup"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	// r on the second profile asks first: it would open the browser.
	next, _ = m.Update(keypress("j"))
	next, cmd := next.Update(keypress("r"))
	if cmd != nil {
		t.Fatalf("r started at once: %#v", msgOf(t, cmd))
	}
	if view := flat(next.(Model).View().Content); !strings.Contains(view, "Re-authorize wordpress? This opens the browser to sign in as "+testAccount) {
		t.Fatalf("no confirmation before the browser opens:\n%s", view)
	}
	// n keeps the list; r then y starts it.
	next, _ = next.Update(keypress("n"))
	next, _ = next.Update(keypress("r"))
	_, cmd = next.Update(keypress("y"))
	if got, ok := msgOf(t, cmd).(reauthRequestedMsg); !ok || got.Profile.Name != "wordpress" {
		t.Fatalf("r, y emitted %#v", msgOf(t, cmd))
	}
}

// authorizing returns a root model on the authorize step with a running
// attempt (its commands are not run).
func authorizing(t *testing.T) Model {
	t.Helper()
	d := testDeps(t)
	d.Start = StartSetup
	d.Prefill.Scenario = store.SendAsUser
	m := New(context.Background(), d)
	s := m.details
	_, cmd := s.Update(keypress("ctrl+s"))
	next, _ := m.Update(msgOf(t, cmd))
	m = next.(Model)
	if m.step != stepAuthorize || m.authorize.attempt == 0 {
		t.Fatalf("step = %d attempt %d, want a running authorization", m.step, m.authorize.attempt)
	}
	return m
}

func TestAuthorizeDropsStaleResults(t *testing.T) {
	m := authorizing(t)
	old := m.authorize.attempt

	// When the attempt is cancelled with esc.
	next, cmd := m.Update(keypress("esc"))
	next, _ = next.Update(msgOf(t, cmd))
	m = next.(Model)
	if m.step != stepDetails {
		t.Fatalf("step = %d after esc, want details", m.step)
	}

	// Then its late results change nothing.
	next, _ = m.Update(tokenReceivedMsg{Attempt: old, Token: &flows.Token{}})
	next, _ = next.Update(errMsg{Attempt: old, Err: errors.New("late")})
	m = next.(Model)
	if m.step != stepDetails || m.authorize.err != nil {
		t.Fatalf("stale result acted on: step %d err %v", m.step, m.authorize.err)
	}
}

func TestAuthorizeShowsErrorWithHint(t *testing.T) {
	m := authorizing(t)
	fe := &flows.Error{Code: "access_denied", Message: "the sign-in was cancelled or consent was declined", Hint: "sign in again and accept"}
	next, _ := m.Update(errMsg{Attempt: m.authorize.attempt, Err: fe})
	m = next.(Model)
	view := ansi.Strip(m.View().Content)
	for _, want := range []string{"✗ the sign-in was cancelled", "Hint: sign in again and accept", "Code: access_denied", "r retry"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	// q now reports the failure rather than a cancellation.
	next, cmd := m.Update(keypress("q"))
	next, _ = next.Update(msgOf(t, cmd))
	if out := next.(Model).Outcome(); out.Err == nil || out.Cancelled {
		t.Fatalf("outcome = %+v, want the failure", out)
	}
}

func TestCtrlCCancels(t *testing.T) {
	m := authorizing(t)
	// A sign-in is under way: ctrl+c asks first, and a second one quits.
	next, cmd := m.Update(keypress("ctrl+c"))
	if cmd != nil || !strings.Contains(flat(next.(Model).View().Content), "Quit? The sign-in in progress is cancelled") {
		t.Fatalf("ctrl+c during a sign-in did not ask:\n%s", next.(Model).View().Content)
	}
	next, cmd = next.Update(keypress("ctrl+c"))
	if cmd == nil {
		t.Fatal("a second ctrl+c did not quit")
	}
	out := next.(Model).Outcome()
	if !out.Cancelled || out.Profile != "mailer" {
		t.Fatalf("outcome = %+v, want cancelled mailer", out)
	}
	if next.(Model).authorize.cancel != nil {
		t.Fatal("the attempt's context was not cancelled")
	}
	// The last frame says so, with no spinner left behind.
	if view := next.(Model).View().Content; !strings.Contains(view, "✗ Cancelled: nothing was saved.") || strings.Contains(view, "Waiting") {
		t.Fatalf("last frame:\n%s", view)
	}
}

func TestCheckDoesNotSaveWrongAccount(t *testing.T) {
	d := testDeps(t)
	p := store.Profile{Name: "mailer", Scenario: store.SendAsUser, Account: testAccount}
	s, _ := newCheckScreen(newStyles()).startVerify(context.Background(), d, p, "", &flows.Token{})
	st := &flows.Status{State: flows.StateError, Steps: []flows.Step{
		{Name: flows.StepToken, Result: flows.StepOK, Detail: "access token valid until 10:00"},
		{Name: flows.StepAccount, Result: flows.StepFailed, Detail: "signed in as alex", Err: &flows.Error{Code: "wrong-account", Message: "signed in as alex, not adele", Hint: "sign in again as adele"}},
	}}
	st.Error = st.Steps[1].Err
	s, cmd := s.Update(statusCheckedMsg{Attempt: s.attempt, Status: st})
	if cmd != nil || s.saving {
		t.Fatal("a wrong-account token is being saved")
	}
	view := ansi.Strip(s.View())
	for _, want := range []string{"✓ Token obtained", "✗ Right account", "signed in as alex, not adele", "Hint: sign in again as adele", "Nothing was saved"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
}

// viewAt renders the root model at a size, without escape sequences.
func viewAt(m Model, w, h int) string {
	next, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return ansi.Strip(next.(Model).View().Content)
}

func TestGolden(t *testing.T) {
	noProfiles := profilesLoadedMsg{Profiles: &store.Profiles{Version: store.SchemaVersion}}
	t.Run("chooser", func(t *testing.T) {
		m := New(context.Background(), testDeps(t))
		next, _ := m.Update(noProfiles)
		next, _ = next.Update(keypress("j"))
		golden.RequireEqual(t, []byte(viewAt(next.(Model), 80, 24)))
	})
	t.Run("details", func(t *testing.T) {
		m := New(context.Background(), testDeps(t))
		next, _ := m.Update(noProfiles)
		next, _ = next.Update(scenarioChosenMsg{Scenario: store.SendAsUser})
		next, _ = next.Update(registrationClosedMsg{})
		for _, k := range []string{"tab", "tab", "ctrl+u", "1", "2", "3"} {
			next, _ = next.Update(keypress(k))
		}
		golden.RequireEqual(t, []byte(viewAt(next.(Model), 80, 24)))
	})
	t.Run("done", func(t *testing.T) {
		m := authorizing(t)
		p := m.authorize.profile
		next, _ := m.Update(tokenReceivedMsg{Attempt: m.authorize.attempt, Token: &flows.Token{}})
		m = next.(Model)
		st := &flows.Status{State: flows.StateAuthorized, Steps: []flows.Step{
			{Name: flows.StepToken, Result: flows.StepOK, Detail: "access token valid until 10:00"},
			{Name: flows.StepAccount, Result: flows.StepOK, Detail: "signed in as " + testAccount},
			{Name: flows.StepPermissions, Result: flows.StepOK, Detail: "all present: Mail.Send, User.Read"},
			{Name: flows.StepSend, Result: flows.StepSkipped, Detail: "no test message requested"},
		}}
		next, _ = m.Update(statusCheckedMsg{Attempt: m.check.attempt, Status: st})
		m = next.(Model)
		p.Credential = store.CredentialSecret
		next, _ = m.Update(tokenSavedMsg{Attempt: m.check.attempt, Profile: p})
		if next.(Model).step != stepDone {
			t.Fatalf("step = %d, want done", next.(Model).step)
		}
		golden.RequireEqual(t, []byte(viewAt(next.(Model), 80, 24)))
	})
}

func TestHomeScrollsToTheCursor(t *testing.T) {
	ps := &store.Profiles{Version: store.SchemaVersion}
	for i := range 30 {
		ps.List = append(ps.List, store.Profile{Name: fmt.Sprintf("p%02d", i), Scenario: store.SendAsUser, Account: testAccount})
	}
	m := New(context.Background(), testDeps(t))
	next, _ := m.Update(profilesLoadedMsg{Profiles: ps})
	for range 29 {
		next, _ = next.Update(keypress("down"))
	}
	view := viewAt(next.(Model), 80, 24)
	if !strings.Contains(view, "> p29") || strings.Contains(view, "p00 ") {
		t.Fatalf("the list did not follow the cursor:\n%s", view)
	}
	if n := strings.Count(view, "\n") + 1; n > 24 {
		t.Fatalf("view has %d lines, more than 24:\n%s", n, view)
	}
	if !strings.Contains(view, "? help") {
		t.Fatalf("the help bar lost its help key:\n%s", view)
	}
}
