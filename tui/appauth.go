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

// appRequest is one app-only authorization: the profile and its credential,
// or where to write a new certificate made for it.
type appRequest struct {
	// Profile is what to authorize.
	Profile store.Profile
	// Cred is the client secret or the certificate with its key.
	Cred flows.AppCredential
	// NewCertPath, when set and Cred has no certificate yet, asks for a new
	// certificate whose public part is written there, valid NewCertDays.
	NewCertPath string
	NewCertDays int
	// CertIsNew is true once Cred.Cert was made in this run; CertPath is
	// where its public part was written.
	CertIsNew bool
	CertPath  string
	// ConsentLate is true when an admin consented in this run but the wait
	// for it to reach the token ended (ran out, or skipped) first: the
	// profile is saved, and the done screen says how to check it later.
	ConsentLate bool
}

// appPhase is what the app-only authorization is doing.
type appPhase int

const (
	phaseCertificate appPhase = iota
	phaseToken
	phaseConsent
	// phaseAfterConsent waits, with a countdown, for the consent to reach
	// the app's tokens.
	phaseAfterConsent
)

// appAuthScreen runs one app-only authorization at a time: it makes a new
// certificate when asked (writing the public part and, in the sandbox,
// uploading it), asks for a token with the client credentials, and for
// a profile whose token lacks an application permission gets admin consent
// in the browser, then waits for the consent to reach the tokens (Entra can
// take minutes) with a countdown that s or enter skips. Each run is an
// attempt with its own child context.
type appAuthScreen struct {
	st      styles
	keys    appAuthKeys
	width   int
	spinner spinner.Model

	deps   Deps
	parent context.Context

	attempt int
	ctx     context.Context
	cancel  context.CancelFunc

	req appRequest
	// loadingName is the profile whose credential is being read before a
	// re-authorization.
	loadingName string

	phase      appPhase
	consent    *flows.ConsentFlow
	consentURL string
	browserErr error
	uploaded   bool
	uploadErr  error
	startedAt  time.Time
	now        time.Time
	// waitEnds is when the wait for the consent ends (zero until it
	// started), every how often a token is asked for; skip is closed to end
	// it early, and skipped says it was.
	waitEnds time.Time
	every    time.Duration
	skip     chan struct{}
	skipped  bool
	err      error
	// kept says a new certificate was stored although the token failed;
	// keptErr why it could not be.
	kept    bool
	keptErr error
}

func newAppAuthScreen(st styles) appAuthScreen {
	return appAuthScreen{st: st, keys: newAppAuthKeys(), spinner: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
}

func (s *appAuthScreen) setSize(w int) { s.width = w }

// loading shows that the credential of profile name is being read.
func (s appAuthScreen) loading(name string) appAuthScreen {
	s.loadingName = name
	s.req = appRequest{Profile: store.Profile{Name: name}}
	s.err = nil
	s.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	s.setKeys()
	return s
}

// failed shows an error that happened before an attempt could start.
func (s appAuthScreen) failed(err error) appAuthScreen {
	s.loadingName = ""
	s.err = err
	s.setKeys()
	return s
}

// start stops any previous attempt and begins a new one for r.
func (s appAuthScreen) start(parent context.Context, d Deps, r appRequest) (appAuthScreen, tea.Cmd) {
	s, stopCmd := s.stop()
	s.deps, s.parent, s.req = d, parent, r
	s.loadingName = ""
	s.consentURL, s.browserErr, s.err, s.keptErr, s.kept = "", nil, nil, nil, false
	s.waitEnds, s.every, s.skip, s.skipped = time.Time{}, 0, nil, false
	s.req.ConsentLate = false
	s.attempt = nextAttempt()
	s.ctx, s.cancel = context.WithCancel(parent)
	s.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	s.startedAt, s.now = time.Time{}, time.Time{}
	var begin tea.Cmd
	if r.NewCertPath != "" && r.Cred.Cert == nil {
		s.phase = phaseCertificate
		s.uploaded, s.uploadErr = false, nil
		begin = createCertificate(d.Env, d.UploadCertificate, s.attempt, r.Profile, r.NewCertPath, r.NewCertDays)
	} else {
		s.phase = phaseToken
		begin = requestAppToken(s.ctx, d.Env, s.attempt, r.Profile, r.Cred)
	}
	s.setKeys()
	return s, tea.Batch(stopCmd, begin, s.spinner.Tick)
}

// stop cancels the running attempt; the returned command closes a consent
// listener.
func (s appAuthScreen) stop() (appAuthScreen, tea.Cmd) {
	var cmd tea.Cmd
	if s.cancel != nil {
		s.cancel()
	}
	if s.consent != nil {
		cmd = closeConsent(s.consent)
	}
	s.cancel, s.ctx, s.consent, s.attempt = nil, nil, nil, 0
	return s, cmd
}

// owns reports whether a result belongs to the running attempt.
func (s appAuthScreen) owns(attempt int) bool { return attempt != 0 && attempt == s.attempt }

// running reports whether the attempt is under way.
func (s appAuthScreen) running() bool { return s.attempt != 0 && s.err == nil }

// succeeded ends the attempt after its token was handed on.
func (s appAuthScreen) succeeded() appAuthScreen {
	s, _ = s.stop()
	return s
}

func (s *appAuthScreen) setKeys() {
	failed := s.err != nil
	s.keys.Retry.SetEnabled(failed && s.deps.Env != nil && s.req.Profile.Scenario != "")
	s.keys.Open.SetEnabled(!failed && s.phase == phaseConsent && s.consentURL != "")
	s.keys.Skip.SetEnabled(s.waiting() && !s.skipped)
	if failed {
		s.keys.Back.SetHelp("esc", "back")
	} else {
		s.keys.Back.SetHelp("esc", "cancel")
	}
}

// Update handles the attempt's results and the screen's keys.
func (s appAuthScreen) Update(msg tea.Msg) (appAuthScreen, tea.Cmd) {
	switch msg := msg.(type) {
	case certificateCreatedMsg:
		if s.owns(msg.Attempt) {
			s.req.Cred.Cert, s.req.CertIsNew, s.req.CertPath, s.req.NewCertPath = msg.Cert, true, msg.Path, ""
			s.uploaded, s.uploadErr = msg.Uploaded, msg.UploadErr
			s.phase = phaseToken
			return s, requestAppToken(s.ctx, s.deps.Env, s.attempt, s.req.Profile, s.req.Cred)
		}
	case appTokenReceivedMsg:
		if s.owns(msg.Attempt) {
			return s.tokenReceived(msg)
		}
	case consentURLReadyMsg:
		if !s.owns(msg.Attempt) {
			return s, closeConsent(msg.Flow)
		}
		s.consent, s.consentURL = msg.Flow, msg.Flow.URL()
		s.startedAt, s.now = msg.At, msg.At
		s.setKeys()
		return s, tea.Batch(openBrowser(s.deps.Browser, s.attempt, s.consentURL), waitForConsent(s.ctx, s.attempt, s.consent))
	case browserOpenedMsg:
		if s.owns(msg.Attempt) {
			s.browserErr = msg.Err
		}
	case consentGrantedMsg:
		if s.owns(msg.Attempt) {
			s.consent = nil // Wait closed it
			s.phase = phaseAfterConsent
			s.setKeys()
			return s, startConsentWait(s.attempt)
		}
	case consentWaitStartedMsg:
		if s.owns(msg.Attempt) {
			return s.consentWaitStarted(msg)
		}
	case consentWaitEndedMsg:
		if s.owns(msg.Attempt) {
			return s.consentWaitEnded(msg)
		}
	case errMsg:
		if s.owns(msg.Attempt) {
			return s.failedWith(msg.Err)
		}
	case certificateKeptMsg:
		if s.owns(msg.Attempt) {
			s.kept, s.keptErr = msg.Err == nil, msg.Err
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

// tokenReceived asks for admin consent when an app-only token lacks a
// required role, or hands the token on to be checked (the check names
// whatever is still missing).
func (s appAuthScreen) tokenReceived(msg appTokenReceivedMsg) (appAuthScreen, tea.Cmd) {
	p := s.req.Profile
	if flows.NeedsAdminConsent(p, msg.Token) {
		s.phase = phaseConsent
		s.setKeys()
		return s, startConsent(s.ctx, s.deps.Env, s.attempt, p)
	}
	return s, emit(appAuthorizedMsg{Attempt: s.attempt, Request: s.req, Token: msg.Token})
}

// consentWaitStarted starts asking for tokens until the consent arrives,
// and the countdown.
func (s appAuthScreen) consentWaitStarted(msg consentWaitStartedMsg) (appAuthScreen, tea.Cmd) {
	if msg.Err != nil {
		return s.failedWith(msg.Err)
	}
	s.waitEnds, s.now = msg.At.Add(msg.Wait), msg.At
	s.every = flows.ConsentRetry(msg.Wait).Interval
	s.skip = make(chan struct{})
	s.setKeys()
	return s, waitForConsentToken(s.ctx, s.deps.Env, s.attempt, s.req.Profile, s.req.Cred, msg.Wait, s.skip)
}

// consentWaitEnded hands the last token on to be checked and saved; when
// it still lacks the consent, the done screen says to check again later.
func (s appAuthScreen) consentWaitEnded(msg consentWaitEndedMsg) (appAuthScreen, tea.Cmd) {
	if msg.Err != nil {
		return s.failedWith(msg.Err)
	}
	s.req.ConsentLate = flows.NeedsAdminConsent(s.req.Profile, msg.Token)
	s.skip = nil
	s.setKeys()
	return s, emit(appAuthorizedMsg{Attempt: s.attempt, Request: s.req, Token: msg.Token})
}

// waiting reports whether the countdown for the consent is on.
func (s appAuthScreen) waiting() bool {
	return s.err == nil && s.phase == phaseAfterConsent && s.skip != nil
}

// failedWith shows the failure; a certificate made in this run is kept in
// the keyring anyway, so the admin can upload it and check later.
func (s appAuthScreen) failedWith(err error) (appAuthScreen, tea.Cmd) {
	s.consent = nil // Start failed, or Wait returned and closed it
	s.err = err
	s.setKeys()
	if s.req.CertIsNew && !s.kept && s.req.Cred.Cert != nil {
		return s, keepNewCertificate(s.ctx, s.deps.ConfigDir, s.deps.Secrets, s.attempt, s.req.Profile, s.req.Cred)
	}
	return s, nil
}

func (s appAuthScreen) updateKeys(msg tea.KeyPressMsg) (appAuthScreen, tea.Cmd) {
	switch {
	case key.Matches(msg, s.keys.Open):
		return s, openBrowser(s.deps.Browser, s.attempt, s.consentURL)
	case key.Matches(msg, s.keys.Skip):
		// The poll returns its last token at once; the check and the save
		// follow as after the countdown.
		close(s.skip)
		s.skipped = true
		s.setKeys()
		return s, nil
	case key.Matches(msg, s.keys.Retry):
		kept := s.kept
		s, cmd := s.start(s.parent, s.deps, s.req)
		s.kept = kept
		return s, cmd
	case key.Matches(msg, s.keys.Back):
		s, cmd := s.stop()
		return s, tea.Batch(cmd, emit(backRequestedMsg{}))
	case key.Matches(msg, s.keys.Quit):
		return s, emit(quitRequestedMsg{})
	}
	return s, nil
}

// View says what is happening: the new certificate, the token request,
// the consent page, or the failure.
func (s appAuthScreen) View() string {
	var b strings.Builder
	p := s.req.Profile
	title := "Authorize " + p.Name
	if p.Scenario != "" {
		title += " (" + string(p.Scenario) + ")"
	}
	b.WriteString(paint(s.st.title, wrap(title, s.width)) + "\n\n")
	if s.loadingName != "" {
		b.WriteString(s.spinner.View() + " Reading the stored credential of " + s.loadingName + "…")
		return b.String()
	}
	if s.req.CertIsNew && s.req.Cred.Cert != nil {
		b.WriteString(s.certificateView() + "\n")
	}
	if s.err != nil {
		b.WriteString(errorBlock(s.st, s.err, s.width) + "\n\n")
		b.WriteString(paint(s.st.subtle, wrap(s.afterFailure(), s.width)))
		return b.String()
	}
	switch s.phase {
	case phaseCertificate:
		b.WriteString(s.spinner.View() + " Making a new certificate…")
	case phaseToken:
		b.WriteString(s.spinner.View() + " Asking Entra for a token with the " + credentialWords(s.req.Cred) + "…")
	case phaseConsent:
		b.WriteString(s.consentView())
	case phaseAfterConsent:
		b.WriteString(s.consentWaitView())
	}
	return b.String()
}

// consentWaitView says that the consent can take minutes to apply and
// counts down the wait, which s or enter skips.
func (s appAuthScreen) consentWaitView() string {
	var b strings.Builder
	b.WriteString(paint(s.st.ok, "✓ Admin consent granted") + "\n")
	b.WriteString(wrap("Entra can take a few minutes to put a new consent into the app's tokens.", s.width) + "\n\n")
	switch {
	case s.waitEnds.IsZero():
		b.WriteString(s.spinner.View() + " Asking for a token with the new permissions…")
	case s.skipped:
		b.WriteString(s.spinner.View() + " Skipping the wait…")
	default:
		b.WriteString(wrap(s.spinner.View()+fmt.Sprintf(" Asking for a token every %s until the permissions arrive: %s left", s.every.Round(100*time.Millisecond), elapsed(s.waitEnds.Sub(s.now))), s.width) + "\n")
		b.WriteString(paint(s.st.subtle, wrap("Press s to skip the wait: the profile is saved as it is, and status checks it again later.", s.width)))
	}
	return b.String()
}

// certificateView says where the new certificate is and where to upload it.
func (s appAuthScreen) certificateView() string {
	c := s.req.Cred.Cert
	w := max(10, s.width-2)
	var lines []string
	lines = append(lines, paint(s.st.ok, wrap("✓ New certificate written to "+s.req.CertPath+" (public part; the private key goes only to where the profile keeps its secrets)", s.width)))
	lines = append(lines, indent(wrap("Thumbprint "+c.Thumbprint()+", expires "+c.Leaf.NotAfter.Format(time.DateOnly), w), "  "))
	portal := "the Entra admin center"
	if s.deps.Env != nil {
		portal = s.deps.Env.Cloud.Portal
	}
	lines = append(lines, indent(wrap("Upload it: "+portal+" > App registrations > the app > Certificates & secrets > Certificates > Upload certificate", w), "  "))
	switch {
	case s.uploaded:
		lines = append(lines, indent(paint(s.st.ok, "✓ Sandbox: uploaded to the simulated app registration."), "  "))
	case s.uploadErr != nil:
		lines = append(lines, indent(paint(s.st.warn, wrap("! could not upload it to the sandbox: "+s.uploadErr.Error(), w)), "  "))
	}
	return strings.Join(lines, "\n")
}

// consentView asks for the admin's consent, with the URL and the wait.
func (s appAuthScreen) consentView() string {
	if s.consentURL == "" {
		return s.spinner.View() + " The token lacks " + strings.Join(flows.AppPermissions(s.req.Profile), ", ") + "; starting the admin consent…"
	}
	var b strings.Builder
	b.WriteString(wrap("The app lacks admin consent for "+strings.Join(flows.AppPermissions(s.req.Profile), ", ")+". An administrator (Global or Privileged Role Administrator) must accept in the browser.", s.width) + "\n")
	if flows.GrantsMailSendEverywhere(s.req.Profile) {
		b.WriteString(paint(s.st.warn, wrap("! This lets the app send as EVERY mailbox in the organization.", s.width)) + "\n")
	}
	if s.browserErr != nil {
		reason := strings.TrimPrefix(s.browserErr.Error(), "could not open a browser: ")
		b.WriteString(paint(s.st.warn, wrap("! could not open a browser: "+reason+" — open the URL below yourself", s.width)) + "\n")
	} else {
		b.WriteString(paint(s.st.subtle, wrap("If no browser opened, open this URL yourself:", s.width)) + "\n")
	}
	lines := strings.Split(hardWrap(s.consentURL, s.width), "\n")
	for i, l := range lines {
		lines[i] = ansi.SetHyperlink(s.consentURL) + s.st.url.Render(l) + ansi.ResetHyperlink()
	}
	b.WriteString(strings.Join(lines, "\n") + "\n\n")
	b.WriteString(s.spinner.View() + " Waiting for the administrator… " + elapsed(s.now.Sub(s.startedAt)))
	return b.String()
}

// afterFailure says what was kept and what the keys do.
func (s appAuthScreen) afterFailure() string {
	keys := "Press r to try again, or esc to change the details."
	switch {
	case s.kept:
		return "The new certificate is kept with the profile's secrets (item " + s.req.Profile.Name + "/" + string(store.KindCertificateKey) + "). Upload it, then press r to try again, or later run " + s.deps.CommandPrefix + " status " + s.req.Profile.Name + ". " + keys
	case s.keptErr != nil:
		return "The new certificate could not be kept: " + s.keptErr.Error() + ". " + keys
	case s.req.Profile.Scenario == "":
		return "Nothing was changed. Press esc to go back."
	}
	return "Nothing was saved. " + keys
}

// credentialWords names a credential for people.
func credentialWords(c flows.AppCredential) string {
	if c.Cert != nil {
		return "certificate"
	}
	return "client secret"
}
