// Package tui is mailgrant's terminal wizard: it lists the profiles with their
// status (check all, status detail with a test message, delete), walks an
// administrator through a new authorization of any scenario (scenario,
// registration checklist, details, browser or device-code sign-in or
// app-only token with admin consent, check, save, Exchange PowerShell for
// rbac) and re-authorizes existing profiles.
// Every screen is a small model; the root Model routes between them. All I/O
// (files, keyring, network, browser, clock) happens in tea.Cmds that call
// flows and store.
//
//	out, err := tui.Run(ctx, tui.Deps{Env: env, Secrets: secrets, ConfigDir: dir,
//		Browser: flows.SystemBrowser{}, Start: tui.StartHome})
package tui

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// Deps is everything the wizard needs; cmd builds it.
type Deps struct {
	// Env says where requests go (cloud, hosts, HTTP client, clock).
	Env *flows.Env
	// Secrets keeps refresh tokens and client secrets (the OS keyring).
	Secrets store.Secrets
	// ConfigDir is the directory of profiles.json.
	ConfigDir string
	// Browser opens the authorize and admin-consent URLs; flows.NoBrowser{}
	// with --no-browser.
	Browser flows.Browser
	// Sandbox shows a banner on every screen saying nothing reaches Microsoft.
	Sandbox bool
	// Prefill holds values from setup flags or the sandbox.
	Prefill Prefill
	// ScenarioPrefill, when set, gives the values for a scenario picked on
	// the chooser instead of Prefill (the sandbox offers each scenario its
	// own app, secret and users).
	ScenarioPrefill func(store.Scenario) Prefill
	// Start is the first screen.
	Start Start
	// Available reports which scenarios may be picked; the others are shown
	// as "not available" and cannot be. Nil means all of them.
	Available func(store.Scenario) bool
	// ServiceName is the keyring service, shown on the done screen
	// ("mailgrant" or "mailgrant-sandbox").
	ServiceName string
	// CommandPrefix starts the commands shown to the user, such as
	// "mailgrant" or "mailgrant --sandbox".
	CommandPrefix string
	// OverSSH says the wizard runs in an SSH session: the sign-in starts
	// with a device code, and the screen says why.
	OverSSH bool
	// Store, when set, is the keyring check run after the first frame and
	// the encrypted file offered when the keyring does not work.
	Store *StoreOffer
	// Profiles, when set with StartHome, is profiles.json as cmd read it
	// just before the wizard starts: the first frame then shows the list or
	// the chooser, instead of waiting for a command to read the file (the
	// frame it misses is one tick, 17 ms, later). Nil: Init reads the file.
	Profiles *store.Profiles
	// UploadCertificate registers a new certificate with the app, as an
	// admin would upload it in the portal. Only the sandbox can (cmd passes
	// its server's); nil elsewhere, and the done screen says where to upload.
	UploadCertificate func(clientID string, der []byte) error
	// Script, when set, says how a script on this machine runs mailgrant
	// for a saved profile (the done screen); nil: CommandPrefix alone.
	Script func(store.Profile) ScriptHint
}

// Prefill holds values that fill the details screen's fields in advance.
type Prefill struct {
	// Profile is the profile name (setup), or the profile to re-authorize
	// (StartReauth).
	Profile string
	// Tenant is the tenant ID or domain.
	Tenant string
	// ClientID is the application (client) ID.
	ClientID string
	// Account is the user who signs in.
	Account string
	// Scenario, when set with StartSetup, skips the chooser.
	Scenario store.Scenario
	// Permissions replaces the scenario's default permissions.
	Permissions []string
	// Accounts are suggestions listed under the account field (sandbox users).
	Accounts []string
	// Note is an extra line shown on the details screen, such as an
	// explanation of the sandbox.
	Note string
	// ClientSecret prefills the masked client-secret field (from
	// --client-secret-stdin, MAILGRANT_CLIENT_SECRET or the sandbox).
	ClientSecret string
	// OutOfScope is, for rbac, a mailbox the app must not be able to send as.
	OutOfScope string
	// Scoping and PolicyAccess preselect, for rbac, the Exchange scoping
	// (setup --scoping, --policy-access).
	Scoping      store.Scoping
	PolicyAccess store.PolicyAccess
	// RBACGroup and RBACMailboxes are, for rbac, who the app may send as
	// (setup --rbac-group, --rbac-mailboxes).
	RBACGroup     string
	RBACMailboxes []string
	// DeviceCode starts the sign-in with a device code instead of the browser.
	DeviceCode bool
}

// Start says which screen the wizard opens on.
type Start int

const (
	// StartHome opens on the profile list, or the chooser when there are none.
	StartHome Start = iota
	// StartSetup opens on the chooser, or on the details screen when
	// Prefill.Scenario is set.
	StartSetup
	// StartReauth goes straight to the sign-in (delegated) or the token
	// request with the stored credential (app-only) for the existing profile
	// named by Prefill.Profile.
	StartReauth
)

// Outcome says how the wizard ended; cmd maps it to an exit status (0 when
// Completed or when nothing was attempted, 1 when Err is set, 130 when
// Cancelled).
type Outcome struct {
	// Completed is true when a profile was authorized and saved.
	Completed bool
	// Cancelled is true when the user left before finishing (ctrl+c, or q
	// or esc in the middle of a setup).
	Cancelled bool
	// Profile is the profile the wizard worked on, if any.
	Profile string
	// Err is the failure the user was looking at when they quit, if any.
	Err error
}

// step is the screen the root shows. Its zero value is the first screen.
type step int

const (
	stepHome step = iota
	stepChooser
	stepRegistration
	stepDetails
	stepAuthorize
	stepAppAuth
	stepCheck
	stepRBAC
	stepDone
	stepStatus
	// stepStore is the keyring offer: the OS keyring does not work, and
	// the encrypted file may be chosen instead.
	stepStore
	// stepEdit changes a stored profile; stepRotate replaces its
	// credential.
	stepEdit
	stepRotate
)

// Model is the root model: it holds the screens and routes messages between
// them. Build it with New.
type Model struct {
	ctx     context.Context
	deps    Deps
	step    step
	width   int
	height  int
	styles  styles
	keys    rootKeys
	help    help.Model
	outcome Outcome

	// hasProfiles is true when profiles.json lists at least one profile, so
	// esc on the chooser goes back to the list instead of quitting.
	hasProfiles bool
	// reauth is true when the current authorization replaces a stored one.
	reauth bool
	// showHelp is true while the full help overlay (?) is on display.
	showHelp bool
	// confirmQuit is true while "quit? y/n" is asked, because quitting
	// now would lose typed values or a sign-in in progress.
	confirmQuit bool
	// final, once set, is the last frame: the program is quitting and the
	// running screen (with its spinner) is replaced by what happened.
	final string
	// sized is true after the first window size: a later one is a resize,
	// which redraws the whole screen so no stale line stays on top.
	sized bool
	// completed is the outcome of an authorization finished before the
	// wizard returned to the list, so quitting from there still reports it.
	completed Outcome
	// storeCheck is the keyring probe or the offer of the encrypted file.
	storeCheck storeScreen
	// pendingProbe is a failed keyring probe that came while a sign-in or
	// a save was under way; the offer is shown once the wizard is back on
	// a screen it may interrupt.
	pendingProbe error

	home         homeScreen
	chooser      chooserScreen
	registration registrationScreen
	details      detailsScreen
	authorize    authorizeScreen
	appAuth      appAuthScreen
	check        checkScreen
	rbac         rbacScreen
	done         doneScreen
	status       statusScreen
	edit         editScreen
	rotate       rotateScreen
}

// New builds the root model. ctx bounds every flow the wizard starts.
func New(ctx context.Context, d Deps) Model {
	available := d.Available
	if available == nil {
		available = func(store.Scenario) bool { return true }
	}
	d.Available = available
	if d.ServiceName == "" {
		d.ServiceName = store.ServiceName(d.Sandbox)
	}
	if d.CommandPrefix == "" {
		d.CommandPrefix = "mailgrant"
	}
	if d.Browser == nil {
		d.Browser = flows.NoBrowser{}
	}
	st := newStyles()
	m := Model{
		ctx:          ctx,
		deps:         d,
		styles:       st,
		keys:         newRootKeys(),
		help:         newHelp(st),
		width:        80,
		height:       24,
		home:         newHomeScreen(ctx, st, d),
		chooser:      newChooserScreen(st, d.Available),
		registration: newRegistrationScreen(st),
		authorize:    newAuthorizeScreen(st, d.Prefill.DeviceCode),
		appAuth:      newAppAuthScreen(st),
		check:        newCheckScreen(st),
		rbac:         newRBACScreen(st),
		status:       newStatusScreen(st),
		storeCheck:   newStoreScreen(st, d.Store),
	}
	m.chooser.keys.Back.SetEnabled(false) // until profiles are known
	switch d.Start {
	case StartSetup:
		m.step = stepChooser
		if d.Prefill.Scenario.Valid() && d.Available(d.Prefill.Scenario) {
			m.step = stepDetails
			m.details = newDetailsScreen(st, d, d.Prefill.Scenario, "")
		}
	case StartReauth:
		m.reauth = true
		m.step = stepAuthorize
		m.authorize = m.authorize.loading(d.Prefill.Profile)
		if d.Prefill.Scenario.Valid() && !d.Prefill.Scenario.Delegated() {
			m.step = stepAppAuth
			m.appAuth = m.appAuth.loading(d.Prefill.Profile)
		}
	}
	if d.Profiles != nil && d.Start == StartHome {
		next, _ := m.profilesLoaded(profilesLoadedMsg{Profiles: d.Profiles}) // at home it returns no command
		m = next.(Model)
	}
	m.setSize(m.width, m.height)
	return m
}

// Outcome reports how the wizard ended.
func (m Model) Outcome() Outcome { return m.outcome }

// Run runs the wizard until the user finishes or quits, and returns how it
// ended. Cancelling ctx stops it (an Outcome with Cancelled).
func Run(ctx context.Context, d Deps, opts ...tea.ProgramOption) (Outcome, error) {
	opts = append([]tea.ProgramOption{tea.WithContext(ctx)}, opts...)
	final, err := tea.NewProgram(New(ctx, d), opts...).Run()
	var out Outcome
	if fm, ok := final.(Model); ok {
		out = fm.Outcome()
	}
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, tea.ErrInterrupted), errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil:
		out.Cancelled = true
		return out, nil
	}
	return out, err
}

// Init loads the profiles; every start needs them (the list, the duplicate
// name check, the profile to re-authorize).
func (m Model) Init() tea.Cmd {
	switch {
	case m.step == stepAuthorize && m.authorize.loadingName != "":
		return tea.Batch(loadProfiles(m.deps.ConfigDir), m.authorize.spinner.Tick, m.storeCheck.probe())
	case m.step == stepAppAuth && m.appAuth.loadingName != "":
		return tea.Batch(loadProfiles(m.deps.ConfigDir), m.appAuth.spinner.Tick, m.storeCheck.probe())
	}
	if m.deps.Profiles != nil && m.deps.Start == StartHome {
		return m.storeCheck.probe() // New applied them
	}
	return tea.Batch(loadProfiles(m.deps.ConfigDir), m.storeCheck.probe())
}

// Update reads top-down: size and quit keys, then events that change the
// step, then the screens.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.update(msg)
	if nm, ok := next.(Model); ok && nm.pendingProbe != nil && nm.step.interruptible() {
		nm.storeCheck = nm.storeCheck.show(nm.pendingProbe, nm.step)
		nm.pendingProbe = nil
		nm.step = stepStore
		return nm, cmd
	}
	return next, cmd
}

// interruptible reports whether the keyring offer may replace this screen:
// not during a sign-in, a check or a save, whose results it would drop.
func (s step) interruptible() bool {
	return s == stepHome || s == stepChooser || s == stepRegistration || s == stepDetails
}

// update routes one message (see Update).
func (m Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		// One column is kept free: a line that fills the last column leaves
		// the terminal waiting to wrap, and the inline renderer then loses
		// track of where its previous frame began.
		resized := m.sized && (max(msg.Width-1, 1) != m.width || msg.Height != m.height)
		m.sized = true
		m.setSize(max(msg.Width-1, 1), msg.Height)
		if resized {
			return m, tea.ClearScreen
		}
		return m, nil
	case tea.KeyPressMsg:
		return m.keyPressed(msg)
	case tea.PasteMsg:
		return m.updateActive(msg)
	case profilesLoadedMsg:
		return m.profilesLoaded(msg)
	case quitRequestedMsg:
		return m.askQuit()
	case storeProbedMsg, storeOpenedMsg, passphraseMadeMsg:
		return m.updateStore(msg)
	case storeDeclinedMsg:
		return m.stopAll(Outcome{Err: ErrNoUsableStore})
	case backRequestedMsg:
		return m.back()
	case newRequestedMsg:
		return m.toChooser()
	case scenarioChosenMsg:
		return m.toFirstRegistration(msg.Scenario)
	case registrationRequestedMsg:
		return m.toRegistration(msg.Profile, true)
	case registrationClosedMsg:
		return m.registrationClosed(msg)
	case detailsEnteredMsg:
		return m.detailsEntered(msg)
	case checkRequestedMsg:
		return m.toStatus(msg.Profile)
	case reauthRequestedMsg:
		return m.toReauth(msg.Profile)
	case clientSecretLoadedMsg:
		return m.clientSecretLoaded(msg)
	case appCredentialLoadedMsg:
		return m.appCredentialLoaded(msg)
	case retryRequestedMsg:
		return m.retry()
	case tokenReceivedMsg:
		return m.tokenReceived(msg)
	case appAuthorizedMsg:
		return m.appAuthorized(msg)
	case tokenSavedMsg:
		return m.tokenSaved(msg)
	case statusCheckedMsg:
		if m.status.owns(msg.Attempt) {
			m.home = m.home.remember(msg.Status)
		}
		return m.updateScreens(msg)
	case rbacScriptRequestedMsg:
		return m.toRBAC(msg.Profile)
	case rbacScriptClosedMsg:
		return m.rbacClosed()
	case finishedMsg:
		return m.finished()
	case editRequestedMsg:
		return m.toEdit(msg.Profile)
	case editSavedMsg:
		return m.editSaved(msg)
	case editConfirmedMsg:
		return m.editConfirmed(msg)
	case editTokenMsg:
		return m.editToken(msg)
	case rotateRequestedMsg:
		return m.toRotate(msg.Profile)
	}
	return m.updateScreens(msg)
}

// setSize records the terminal size and gives each screen the room left
// between the banner and the help bar.
func (m *Model) setSize(w, h int) {
	m.width, m.height = w, h
	m.help.SetWidth(w)
	m.home.setSize(w, h-m.chromeHeight())
	room := h - m.chromeHeight()
	m.chooser.setSize(w)
	m.registration.setSize(w, room)
	m.details.setSize(w, room)
	m.authorize.setSize(w)
	m.appAuth.setSize(w)
	m.check.setSize(w)
	m.rbac.setSize(w, room)
	m.done.setSize(w, room)
	m.status.setSize(w)
	m.storeCheck.setSize(w)
	m.edit.setSize(w)
	m.rotate.setSize(w)
}

// chromeHeight is the number of lines around a screen: the banner, and the
// blank line and help bar below, and one row kept free: a frame as tall as
// the terminal scrolls it by a line when drawn inline, which leaves a copy
// of the top line (the banner) behind.
func (m Model) chromeHeight() int {
	if m.deps.Sandbox {
		return 4
	}
	return 3
}

// View stacks the sandbox banner, the active screen and its help bar. It is
// inline (no alternate screen) so the last screen, with the commands to use,
// stays in the terminal after the wizard ends.
func (m Model) View() tea.View {
	if m.final != "" {
		// As tall as the frames before it, so the inline renderer
		// overwrites all of the last screen (a shorter last frame left its
		// top lines behind).
		out := clip(m.final, m.width)
		if pad := m.height - 1 - strings.Count(out, "\n") - 1; m.height > 0 && pad > 0 {
			out += strings.Repeat("\n", pad)
		}
		return tea.NewView(out)
	}
	var top []string
	if m.deps.Sandbox {
		top = append(top, m.styles.banner.Render(truncate("SANDBOX — simulated tenant, nothing reaches Microsoft", m.width)))
	}
	helpView := m.help.View(m.helpBar())
	body := strings.TrimRight(m.activeView(), "\n")
	switch {
	case m.showHelp:
		body = m.helpOverlay()
		helpView = m.help.View(overlayKeys{close: m.keys.CloseHelp})
	case m.confirmQuit:
		body += "\n\n" + paint(m.styles.warn, wrap("Quit? "+m.lossWords()+" y quit · n stay", m.width))
		helpView = m.help.View(overlayKeys{close: m.keys.Yes, stay: m.keys.No})
	}
	room := m.height - m.chromeHeight()
	lines := strings.Split(body, "\n")
	switch {
	case room > 0 && len(lines) > room && m.confirmQuit:
		lines = lines[len(lines)-room:] // the question is at the end
	case room > 0 && len(lines) > room:
		lines = lines[:room]
	}
	parts := append(top, strings.Join(lines, "\n"), "", helpView)
	// No line may be wider than the terminal: a wrapped line would make the
	// frame taller than the renderer thinks, and it would leave copies of
	// the top lines (the banner) behind.
	out := clip(strings.Join(parts, "\n"), m.width)
	// Every frame is as tall as the terminal allows, so a taller screen never
	// follows a shorter one: the inline renderer then redraws in place.
	if pad := m.height - 1 - strings.Count(out, "\n") - 1; m.height > 0 && pad > 0 {
		out += strings.Repeat("\n", pad)
	}
	return tea.NewView(out)
}

// activeView renders the screen of the current step.
func (m Model) activeView() string {
	switch m.step {
	case stepChooser:
		return m.chooser.View()
	case stepRegistration:
		return m.registration.View()
	case stepDetails:
		return m.details.View()
	case stepAuthorize:
		return m.authorize.View()
	case stepAppAuth:
		return m.appAuth.View()
	case stepCheck:
		return m.check.View()
	case stepRBAC:
		return m.rbac.View()
	case stepDone:
		return m.done.View()
	case stepStatus:
		return m.status.View()
	case stepStore:
		return m.storeCheck.View()
	case stepEdit:
		return m.edit.View()
	case stepRotate:
		return m.rotate.View()
	default:
		return m.home.View()
	}
}

// activeKeys is the key map the help bar shows.
func (m Model) activeKeys() help.KeyMap {
	switch m.step {
	case stepChooser:
		return m.chooser.keys
	case stepRegistration:
		return m.registration.keys
	case stepDetails:
		return m.details.keys
	case stepAuthorize:
		return m.authorize.keys
	case stepAppAuth:
		return m.appAuth.keys
	case stepCheck:
		return m.check.keys
	case stepRBAC:
		return m.rbac.keys
	case stepDone:
		return m.done.keys
	case stepStatus:
		return m.status.keys
	case stepStore:
		return m.storeCheck.keys
	case stepEdit:
		return m.edit.keys
	case stepRotate:
		return m.rotate.keys
	default:
		return m.home.keys
	}
}

// updateActive gives a key or paste to the screen on display.
func (m Model) updateActive(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch m.step {
	case stepChooser:
		m.chooser, cmd = m.chooser.Update(msg)
	case stepRegistration:
		m.registration, cmd = m.registration.Update(msg)
	case stepDetails:
		m.details, cmd = m.details.Update(msg)
	case stepAuthorize:
		m.authorize, cmd = m.authorize.Update(msg)
	case stepAppAuth:
		m.appAuth, cmd = m.appAuth.Update(msg)
	case stepCheck:
		m.check, cmd = m.check.Update(msg)
	case stepRBAC:
		m.rbac, cmd = m.rbac.Update(msg)
	case stepDone:
		m.done, cmd = m.done.Update(msg)
	case stepStatus:
		m.status, cmd = m.status.Update(msg)
	case stepStore:
		m.storeCheck, cmd = m.storeCheck.Update(msg)
	case stepEdit:
		m.edit, cmd = m.edit.Update(msg)
	case stepRotate:
		m.rotate, cmd = m.rotate.Update(msg)
	default:
		m.home, cmd = m.home.Update(msg)
	}
	return m, cmd
}

// updateScreens gives any other message (results of commands, spinner and
// cursor ticks) to every screen; each keeps only what carries its own
// attempt or component id, so a late result of a cancelled attempt is
// dropped even after the user moved on.
func (m Model) updateScreens(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmds := make([]tea.Cmd, 13)
	m.home, cmds[0] = m.home.Update(msg)
	m.chooser, cmds[1] = m.chooser.Update(msg)
	m.registration, cmds[2] = m.registration.Update(msg)
	m.details, cmds[3] = m.details.Update(msg)
	m.authorize, cmds[4] = m.authorize.Update(msg)
	m.appAuth, cmds[5] = m.appAuth.Update(msg)
	m.check, cmds[6] = m.check.Update(msg)
	m.rbac, cmds[7] = m.rbac.Update(msg)
	m.done, cmds[8] = m.done.Update(msg)
	m.status, cmds[9] = m.status.Update(msg)
	m.storeCheck, cmds[10] = m.storeCheck.Update(msg)
	m.edit, cmds[11] = m.edit.Update(msg)
	m.rotate, cmds[12] = m.rotate.Update(msg)
	return m, tea.Batch(cmds...)
}
