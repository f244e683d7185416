// Package tui is mailgrant's terminal wizard: it lists the profiles with their
// status, walks an administrator through a new authorization (scenario,
// details, browser sign-in, check, save) and re-authorizes existing profiles.
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
	"charm.land/bubbles/v2/key"
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
	// Browser opens the authorize URL; flows.NoBrowser{} with --no-browser.
	Browser flows.Browser
	// Sandbox shows a banner on every screen saying nothing reaches Microsoft.
	Sandbox bool
	// Prefill holds values from setup flags or the sandbox.
	Prefill Prefill
	// Start is the first screen.
	Start Start
	// Available reports which scenarios are built; the others are shown as
	// "not available yet" and cannot be picked. Nil means all of them. The
	// wizard also treats the app-only scenarios (send-as-any, rbac) as not
	// available, as it has no admin-consent screen yet.
	Available func(store.Scenario) bool
	// ServiceName is the keyring service, shown on the done screen
	// ("mailgrant" or "mailgrant-sandbox").
	ServiceName string
	// CommandPrefix starts the commands shown to the user, such as
	// "mailgrant" or "mailgrant --sandbox".
	CommandPrefix string
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
	// StartReauth goes straight to the browser sign-in for the existing
	// profile named by Prefill.Profile.
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
	stepDetails
	stepAuthorize
	stepCheck
	stepDone
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

	home      homeScreen
	chooser   chooserScreen
	details   detailsScreen
	authorize authorizeScreen
	check     checkScreen
	done      doneScreen
}

// New builds the root model. ctx bounds every flow the wizard starts.
func New(ctx context.Context, d Deps) Model {
	available := d.Available
	if available == nil {
		available = func(store.Scenario) bool { return true }
	}
	// The wizard signs in through the browser (authorization code), which
	// only delegated scenarios use; app-only ones need screens for admin
	// consent and client credentials that are not built yet.
	d.Available = func(sc store.Scenario) bool { return sc.Delegated() && available(sc) }
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
		ctx:       ctx,
		deps:      d,
		styles:    st,
		keys:      newRootKeys(),
		help:      newHelp(st),
		width:     80,
		height:    24,
		home:      newHomeScreen(st),
		chooser:   newChooserScreen(st, d.Available),
		authorize: newAuthorizeScreen(st),
		check:     newCheckScreen(st),
	}
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
	if m.authorize.loadingName != "" {
		return tea.Batch(loadProfiles(m.deps.ConfigDir), m.authorize.spinner.Tick)
	}
	return loadProfiles(m.deps.ConfigDir)
}

// Update reads top-down: size and quit keys, then events that change the
// step, then the screens.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.setSize(msg.Width, msg.Height)
		return m, nil
	case tea.KeyPressMsg:
		if key.Matches(msg, m.keys.Interrupt) {
			return m.interrupt()
		}
		return m.updateActive(msg)
	case tea.PasteMsg:
		return m.updateActive(msg)
	case profilesLoadedMsg:
		return m.profilesLoaded(msg)
	case quitRequestedMsg:
		return m.quit()
	case backRequestedMsg:
		return m.back()
	case newRequestedMsg:
		return m.toChooser()
	case scenarioChosenMsg:
		return m.toDetails(msg.Scenario)
	case detailsEnteredMsg:
		return m.toAuthorize(msg.Profile, msg.ClientSecret)
	case checkRequestedMsg:
		return m.toStoredCheck(msg.Profile)
	case reauthRequestedMsg:
		return m.toReauth(msg.Profile)
	case clientSecretLoadedMsg:
		return m.clientSecretLoaded(msg)
	case retryRequestedMsg:
		return m.toAuthorize(m.check.profile, m.check.clientSecret)
	case tokenReceivedMsg:
		return m.tokenReceived(msg)
	case tokenSavedMsg:
		return m.tokenSaved(msg)
	case finishedMsg:
		m.outcome = Outcome{Completed: true, Profile: m.done.profile.Name}
		return m, tea.Quit
	}
	return m.updateScreens(msg)
}

// setSize records the terminal size and gives each screen the room left
// between the banner and the help bar.
func (m *Model) setSize(w, h int) {
	m.width, m.height = w, h
	m.help.SetWidth(w)
	m.home.setSize(w, h-m.chromeHeight())
	m.chooser.setSize(w)
	m.details.setSize(w)
	m.authorize.setSize(w)
	m.check.setSize(w)
	m.done.setSize(w)
}

// chromeHeight is the number of lines around a screen: the banner, and the
// blank line and help bar below.
func (m Model) chromeHeight() int {
	if m.deps.Sandbox {
		return 3
	}
	return 2
}

// View stacks the sandbox banner, the active screen and its help bar. It is
// inline (no alternate screen) so the last screen, with the commands to use,
// stays in the terminal after the wizard ends.
func (m Model) View() tea.View {
	var top []string
	if m.deps.Sandbox {
		top = append(top, m.styles.banner.Render(truncate("SANDBOX — simulated tenant, nothing reaches Microsoft", m.width)))
	}
	helpView := m.help.View(m.activeKeys())
	body := strings.TrimRight(m.activeView(), "\n")
	room := m.height - m.chromeHeight()
	lines := strings.Split(body, "\n")
	if room > 0 && len(lines) > room {
		lines = lines[:room]
	}
	parts := append(top, strings.Join(lines, "\n"), "", helpView)
	return tea.NewView(strings.Join(parts, "\n"))
}

// activeView renders the screen of the current step.
func (m Model) activeView() string {
	switch m.step {
	case stepChooser:
		return m.chooser.View()
	case stepDetails:
		return m.details.View()
	case stepAuthorize:
		return m.authorize.View()
	case stepCheck:
		return m.check.View()
	case stepDone:
		return m.done.View()
	default:
		return m.home.View()
	}
}

// activeKeys is the key map the help bar shows.
func (m Model) activeKeys() help.KeyMap {
	switch m.step {
	case stepChooser:
		return m.chooser.keys
	case stepDetails:
		return m.details.keys
	case stepAuthorize:
		return m.authorize.keys
	case stepCheck:
		return m.check.keys
	case stepDone:
		return m.done.keys
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
	case stepDetails:
		m.details, cmd = m.details.Update(msg)
	case stepAuthorize:
		m.authorize, cmd = m.authorize.Update(msg)
	case stepCheck:
		m.check, cmd = m.check.Update(msg)
	case stepDone:
		m.done, cmd = m.done.Update(msg)
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
	cmds := make([]tea.Cmd, 6)
	m.home, cmds[0] = m.home.Update(msg)
	m.chooser, cmds[1] = m.chooser.Update(msg)
	m.details, cmds[2] = m.details.Update(msg)
	m.authorize, cmds[3] = m.authorize.Update(msg)
	m.check, cmds[4] = m.check.Update(msg)
	m.done, cmds[5] = m.done.Update(msg)
	return m, tea.Batch(cmds...)
}
