package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// authorizeScreen runs one delegated sign-in at a time: in the browser
// (authorization code with PKCE: it shows the URL, opens the browser and
// waits for the token) or with a device code (it shows the code and where
// to type it, and polls). Each run is an attempt with its own child context.
type authorizeScreen struct {
	st      styles
	keys    authorizeKeys
	width   int
	spinner spinner.Model

	// deps and parent are kept from start, for retries.
	deps   Deps
	parent context.Context

	attempt int
	ctx     context.Context
	cancel  context.CancelFunc

	profile      store.Profile
	clientSecret string
	// loadingName is the profile being read before a re-authorization.
	loadingName string

	// device is true for the device code sign-in.
	device     bool
	deviceFlow *flows.DeviceFlow

	flow       *flows.AuthCodeFlow
	url        string
	startedAt  time.Time
	now        time.Time
	browserErr error
	err        error
	// copied is true once c put the URL on the clipboard.
	copied bool
}

// newAuthorizeScreen builds the screen; device starts sign-ins with a
// device code (setup --device-code).
func newAuthorizeScreen(st styles, device bool) authorizeScreen {
	return authorizeScreen{st: st, keys: newAuthorizeKeys(), device: device}
}

func (s *authorizeScreen) setSize(w int) { s.width = w }

// loading shows that the profile named name is being read before its
// re-authorization starts.
func (s authorizeScreen) loading(name string) authorizeScreen {
	s.loadingName = name
	s.profile = store.Profile{Name: name}
	s.err = nil
	s.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	return s
}

// start stops any previous attempt and begins a new sign-in for p.
func (s authorizeScreen) start(parent context.Context, d Deps, p store.Profile, secret string) (authorizeScreen, tea.Cmd) {
	s, stopCmd := s.stop()
	s.deps, s.parent = d, parent
	s.profile, s.clientSecret = p, secret
	s.loadingName = ""
	s.flow, s.url, s.deviceFlow, s.browserErr, s.err, s.copied = nil, "", nil, nil, nil, false
	s.startedAt, s.now = time.Time{}, time.Time{}
	s.attempt = nextAttempt()
	s.ctx, s.cancel = context.WithCancel(parent)
	s.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	s.setKeys()
	begin := startAuthCode(s.ctx, d.Env, s.attempt, p, secret)
	if s.device {
		begin = startDeviceCode(s.ctx, d.Env, s.attempt, p, secret)
	}
	return s, tea.Batch(stopCmd, begin, s.spinner.Tick)
}

// stop cancels the running attempt, if any; its late results are dropped.
// The returned command closes the attempt's listener.
func (s authorizeScreen) stop() (authorizeScreen, tea.Cmd) {
	var cmd tea.Cmd
	if s.cancel != nil {
		s.cancel()
	}
	if s.flow != nil {
		cmd = closeFlow(s.flow)
	}
	s.cancel, s.ctx, s.flow, s.deviceFlow, s.attempt = nil, nil, nil, nil, 0
	return s, cmd
}

// owns reports whether a result belongs to the running attempt.
func (s authorizeScreen) owns(attempt int) bool { return attempt != 0 && attempt == s.attempt }

// running reports whether a sign-in is under way.
func (s authorizeScreen) running() bool { return s.attempt != 0 && s.err == nil }

// succeeded ends the attempt after its token arrived.
func (s authorizeScreen) succeeded() authorizeScreen {
	s.flow = nil // Wait closed it
	s, _ = s.stop()
	return s
}

// failed shows an error that happened before an attempt could start (such
// as the keyring refusing to give the client secret).
func (s authorizeScreen) failed(err error) authorizeScreen {
	s.loadingName = ""
	s.err = err
	s.setKeys()
	return s
}

func (s *authorizeScreen) setKeys() {
	failed := s.err != nil
	s.keys.Retry.SetEnabled(failed && s.deps.Env != nil)
	s.keys.Open.SetEnabled(!failed && s.url != "" && !s.device)
	s.keys.Copy.SetEnabled(!failed && s.url != "" && !s.device)
	s.keys.Switch.SetEnabled(s.deps.Env != nil && s.loadingName == "")
	switch {
	case s.device:
		s.keys.Switch.SetHelp("d", "use the browser")
	case s.browserErr != nil:
		s.keys.Switch.SetHelp("d", "sign in with a device code instead")
	default:
		s.keys.Switch.SetHelp("d", "device code")
	}
	if failed {
		s.keys.Back.SetHelp("esc", "back")
	} else {
		s.keys.Back.SetHelp("esc", "cancel")
	}
}

// Update handles the attempt's results and the screen's keys.
func (s authorizeScreen) Update(msg tea.Msg) (authorizeScreen, tea.Cmd) {
	switch msg := msg.(type) {
	case authURLReadyMsg:
		if !s.owns(msg.Attempt) {
			return s, closeFlow(msg.Flow)
		}
		s.flow, s.url = msg.Flow, msg.Flow.URL()
		s.startedAt, s.now = msg.At, msg.At
		s.setKeys()
		return s, tea.Batch(openBrowser(s.deps.Browser, s.attempt, s.url), waitForToken(s.ctx, s.attempt, s.flow))
	case deviceCodeReadyMsg:
		if s.owns(msg.Attempt) {
			s.deviceFlow = msg.Flow
			s.startedAt, s.now = msg.At, msg.At
			s.setKeys()
			return s, waitForDeviceToken(s.ctx, s.attempt, s.deviceFlow)
		}
	case browserOpenedMsg:
		if s.owns(msg.Attempt) {
			s.browserErr = msg.Err
			s.setKeys()
		}
	case errMsg:
		if s.owns(msg.Attempt) {
			s.flow = nil // StartAuthCode failed, or Wait returned and closed it
			s.err = msg.Err
			s.setKeys()
		}
	case spinner.TickMsg:
		if s.running() || s.loadingName != "" {
			s.now = msg.Time
			var cmd tea.Cmd
			s.spinner, cmd = s.spinner.Update(msg)
			return s, cmd
		}
	case tea.KeyPressMsg:
		return s.updateKeys(msg)
	}
	return s, nil
}

func (s authorizeScreen) updateKeys(msg tea.KeyPressMsg) (authorizeScreen, tea.Cmd) {
	switch {
	case key.Matches(msg, s.keys.Open):
		if s.url != "" {
			return s, openBrowser(s.deps.Browser, s.attempt, s.url)
		}
	case key.Matches(msg, s.keys.Copy):
		if s.url != "" {
			s.copied = true
			return s, tea.SetClipboard(s.url)
		}
	case key.Matches(msg, s.keys.Retry):
		return s.start(s.parent, s.deps, s.profile, s.clientSecret)
	case key.Matches(msg, s.keys.Switch):
		s.device = !s.device
		return s.start(s.parent, s.deps, s.profile, s.clientSecret)
	case key.Matches(msg, s.keys.Back):
		s, cmd := s.stop()
		return s, tea.Batch(cmd, emit(backRequestedMsg{}))
	case key.Matches(msg, s.keys.Quit):
		return s, emit(quitRequestedMsg{})
	}
	return s, nil
}

// browserProblem says in plain words why no browser opened.
func browserProblem(err error) string {
	msg := strings.TrimPrefix(err.Error(), "could not open a browser: ")
	switch {
	case strings.Contains(msg, "executable file not found"):
		return "no browser launcher (xdg-open) is installed here"
	case strings.HasPrefix(msg, "exit status"):
		return "the browser launcher failed, " + msg
	}
	return msg
}

// View says what to do, shows the URL and the time waited, or the failure.
func (s authorizeScreen) View() string {
	var b strings.Builder
	title := "Sign in for " + s.profile.Name
	if s.profile.Scenario != "" {
		title += " (" + string(s.profile.Scenario) + ")"
	}
	b.WriteString(s.st.title.Render(title) + "\n\n")
	switch {
	case s.err != nil:
		b.WriteString(errorBlock(s.st, s.err, s.width) + "\n\n")
		b.WriteString(paint(s.st.subtle, wrap("Nothing was saved. Press r to sign in again, d to switch between the browser and a device code, or esc to change the details.", s.width)))
		return b.String()
	case s.loadingName != "":
		b.WriteString(s.spinner.View() + " Reading profile " + s.loadingName + "…")
		return b.String()
	case s.device:
		b.WriteString(s.deviceView())
		return b.String()
	case s.url == "":
		b.WriteString(s.spinner.View() + " Starting the sign-in…")
		return b.String()
	}
	who := "Sign in as " + s.profile.Account + " in the browser and accept."
	if s.profile.Account == "" {
		who = "Sign in in the browser and accept."
	}
	b.WriteString(wrap(who, s.width) + "\n")
	if s.browserErr != nil {
		b.WriteString(paint(s.st.warn, wrap("! No browser could be opened ("+browserProblem(s.browserErr)+").", s.width)) + "\n")
		b.WriteString(paint(s.st.label, wrap("Press d to sign in with a device code instead (from a phone or any computer), or open the URL below in a browser on this machine.", s.width)) + "\n")
	} else {
		b.WriteString(paint(s.st.subtle, wrap("If no browser opened, open this URL yourself (c copies it whole):", s.width)) + "\n")
	}
	b.WriteString("\n" + s.linkedURL() + "\n\n")
	if s.copied {
		b.WriteString(paint(s.st.subtle, wrap("Copied to the clipboard through the terminal (OSC 52; tmux needs set-clipboard on).", s.width)) + "\n")
	}
	b.WriteString(s.spinner.View() + " Waiting for the browser… " + elapsed(s.now.Sub(s.startedAt)))
	return b.String()
}

// linkedURL is the authorize URL broken at the screen width so every
// character shows, each line also a terminal hyperlink (OSC 8) to the whole
// URL; c copies it whole (OSC 52). It is not printed above the screen
// unbroken: Bubble Tea's inline renderer counts printed lines by their line
// breaks, so a line the terminal wraps corrupts the frames that follow. The
// URL holds no secret (PKCE sends only the challenge).
func (s authorizeScreen) linkedURL() string {
	lines := strings.Split(hardWrap(s.url, s.width), "\n")
	for i, l := range lines {
		lines[i] = ansi.SetHyperlink(s.url) + s.st.url.Render(l) + ansi.ResetHyperlink()
	}
	return strings.Join(lines, "\n")
}

// elapsed formats a duration as m:ss.
func elapsed(d time.Duration) string {
	d = max(0, d).Truncate(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// deviceView shows the device code prominently, where to type it, and the
// time left before it expires.
func (s authorizeScreen) deviceView() string {
	d := s.deviceFlow
	if d == nil {
		return s.spinner.View() + " Asking Entra for a device code…"
	}
	var b strings.Builder
	if s.deps.OverSSH && !d.OnThisMachine() {
		b.WriteString(paint(s.st.subtle, wrap("Over SSH a browser elsewhere cannot reach this machine's localhost, so the sign-in uses a code (d: use a browser on this machine instead).", s.width)) + "\n\n")
	}
	where := "On any device (a phone, another computer), open"
	if d.OnThisMachine() {
		where = "On this machine (the sandbox's page is on localhost), open"
	}
	b.WriteString(wrap(where, s.width) + "\n\n")
	b.WriteString("    " + ansi.SetHyperlink(d.VerificationURI) + s.st.url.Render(d.VerificationURI) + ansi.ResetHyperlink() + "\n\n")
	b.WriteString("and enter the code\n\n")
	b.WriteString("    " + s.st.code.Render(d.UserCode) + "\n\n")
	who := "then sign in as " + s.profile.Account + " and accept."
	if s.profile.Account == "" {
		who = "then sign in and accept."
	}
	b.WriteString(wrap(who, s.width) + "\n\n")
	left := d.ExpiresAt.Sub(s.now)
	b.WriteString(s.spinner.View() + " Waiting for the sign-in… " + elapsed(s.now.Sub(s.startedAt)) + "  ·  the code expires in " + elapsed(left))
	return b.String()
}
