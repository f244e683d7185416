package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// rotateScreen replaces an app-only profile's client secret or certificate
// without downtime (flows.RotateSecret, flows.RotateCertificate): the new
// credential is proven with a real token before the profile switches to
// it, and until then the old one stays stored and in use.
//
// A secret is typed into a masked field with its expiry date. A
// certificate is made here, its public part written to a new file for
// upload, and a token signed with it is tried until it works (Entra can
// take minutes), with a countdown; esc stops waiting and changes nothing
// (the new key stays kept, so R resumes with the same certificate).
type rotateScreen struct {
	st      styles
	keys    rotateKeys
	width   int
	deps    Deps
	ctx     context.Context
	spinner spinner.Model

	profile store.Profile
	inputs  []textinput.Model
	focus   rotateField
	// mode is what replaces the current credential.
	mode rotateMode

	attempt int
	cancel  context.CancelFunc
	// cert is the new certificate, once made (or resumed), with where its
	// public part is and whether the sandbox took it.
	cert      *flows.Certificate
	certPath  string
	resumed   bool
	already   bool
	uploaded  bool
	uploadErr error
	// waiting is true while a token signed with cert is tried; lastTry is
	// why the last try failed, deadline when the wait ends, now the clock
	// of the last tick.
	waiting  bool
	stopping bool
	lastTry  error
	deadline time.Time
	now      time.Time

	// saved is the profile after the switch, old the thumbprint of the
	// certificate it replaced; err why the rotation failed or stopped.
	saved *store.Profile
	old   string
	err   error
}

// rotateField is one field of the rotation screen.
type rotateField int

const (
	// rotateKind is the choice of a new client secret or certificate.
	rotateKind rotateField = iota
	rotateSecretField
	rotateExpires
	rotatePath
	rotateFieldCount
)

// rotateMode is the kind of the new credential.
type rotateMode int

const (
	rotateToSecret rotateMode = iota
	rotateToCert
)

// certificatePoll is how often and how long a new certificate is tried.
var certificatePoll = flows.PollOptions{Interval: 10 * time.Second, Timeout: 10 * time.Minute}

// newRotateScreen builds the form for p: its kind of credential first.
func newRotateScreen(ctx context.Context, st styles, d Deps, p store.Profile) rotateScreen {
	s := rotateScreen{st: st, keys: newRotateKeys(), deps: d, ctx: ctx, profile: p,
		spinner: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
	if p.Credential == store.CredentialCertificate {
		s.mode = rotateToCert
	}
	s.inputs = make([]textinput.Model, rotateFieldCount)
	for i := range s.inputs {
		in := textinput.New()
		in.Prompt = ""
		in.SetStyles(inputStyles())
		in.CharLimit = 256
		s.inputs[i] = in
	}
	s.inputs[rotateSecretField].EchoMode = textinput.EchoPassword
	s.inputs[rotateSecretField].EchoCharacter = '•'
	s.inputs[rotateSecretField].Placeholder = "the NEW secret's Value from Certificates & secrets"
	s.inputs[rotateSecretField].Validate = validateSecret(p.Scenario)
	now := time.Now()
	if d.Env != nil {
		now = d.Env.Now()
	}
	s.inputs[rotateExpires].Placeholder = "YYYY-MM-DD, as the Expires column shows it"
	s.inputs[rotateExpires].CharLimit = 10
	s.inputs[rotateExpires].Validate = func(v string) error {
		if strings.TrimSpace(v) == "" {
			return &flows.InputError{Field: "secret-expires", Problem: "is empty", Hint: "give the new secret's expiry (YYYY-MM-DD), so status can warn 30 days before it lapses"}
		}
		_, err := flows.ParseSecretExpiry(v, now)
		return err
	}
	s.inputs[rotatePath].Placeholder = "path for the public .pem to upload"
	s.inputs[rotatePath].CharLimit = 4096
	s.inputs[rotatePath].SetValue(fmt.Sprintf("%s-%s.pem", p.Name, now.Format(time.DateOnly)))
	s.inputs[rotatePath].Validate = func(v string) error {
		if strings.TrimSpace(v) == "" {
			return &flows.InputError{Field: "new-certificate", Problem: "is empty", Hint: "give a path for the public certificate, such as " + p.Name + "-2027.pem; the private key goes to the keyring"}
		}
		return nil
	}
	// The focus starts on the first field to type into; the kind is
	// above it (shift+tab).
	s.focus = rotateSecretField
	if s.mode == rotateToCert {
		s.focus = rotatePath
	}
	s.inputs[s.focus].Focus()
	s.setSize(80)
	s.setKeys()
	return s
}

func (s *rotateScreen) setSize(w int) {
	s.width = w
	for i := range s.inputs {
		s.inputs[i].SetWidth(max(10, w-labelWidth-3))
	}
}

// fields lists the fields of the chosen kind.
func (s rotateScreen) fields() []rotateField {
	if s.mode == rotateToCert {
		return []rotateField{rotateKind, rotatePath}
	}
	return []rotateField{rotateKind, rotateSecretField, rotateExpires}
}

// started reports whether the form was submitted (a rotation is running or
// over).
func (s rotateScreen) started() bool {
	return s.attempt != 0 || s.saved != nil || s.cert != nil || s.err != nil
}

// running reports whether a rotation is under way.
func (s rotateScreen) running() bool { return s.attempt != 0 }

// typing reports whether keys go into a text field.
func (s rotateScreen) typing() bool { return !s.started() && s.focus != rotateKind }

func (s *rotateScreen) setKeys() {
	form := !s.started()
	for _, b := range []*key.Binding{&s.keys.Next, &s.keys.Prev, &s.keys.Enter, &s.keys.Submit, &s.keys.Back} {
		b.SetEnabled(form)
	}
	s.keys.Choose.SetEnabled(form && s.focus == rotateKind)
	// Only the wait can be stopped: a secret is one quick request, and
	// stopping it half-way could not say whether it switched.
	s.keys.Stop.SetEnabled(s.waiting && !s.stopping)
	s.keys.Done.SetEnabled(s.started() && !s.running())
}

// stop cancels a running rotation; its late results are dropped.
func (s rotateScreen) stop() rotateScreen {
	if s.cancel != nil {
		s.cancel()
	}
	s.cancel, s.attempt, s.waiting, s.stopping = nil, 0, false, false
	return s
}

// owns reports whether a result belongs to the running rotation.
func (s rotateScreen) owns(attempt int) bool { return attempt != 0 && attempt == s.attempt }

// Update handles the form, the rotation's events and the keys.
func (s rotateScreen) Update(msg tea.Msg) (rotateScreen, tea.Cmd) {
	if s.inputs == nil {
		return s, nil
	}
	switch msg := msg.(type) {
	case secretRotatedMsg:
		if s.owns(msg.Attempt) {
			return s.finished(msg.Profile, "", msg.Err)
		}
		return s, nil
	case certificatePreparedMsg:
		if s.owns(msg.Attempt) {
			return s.certificatePrepared(msg)
		}
		return s, nil
	case certificateTriedMsg:
		if s.owns(msg.Attempt) {
			s.lastTry = msg.Err
			return s, waitForRotation(msg.Next)
		}
		return s, nil
	case certificateRotatedMsg:
		if !s.owns(msg.Attempt) {
			return s, nil
		}
		if msg.Err != nil && errors.Is(msg.Err, context.Canceled) {
			msg.Err = &flows.Error{Code: flows.CodeCancelled, State: flows.StateError,
				Message: "stopped waiting; nothing was switched, the profile still uses the old credential",
				Hint:    fmt.Sprintf("the new key stays kept: once %s is uploaded, press R again to resume with the same certificate (thumbprint %s)", s.certPath, s.cert.Thumbprint())}
		}
		return s.finished(msg.Profile, msg.Old, msg.Err)
	case rotateTickMsg:
		if s.owns(msg.Attempt) && s.waiting {
			s.now = msg.At
			return s, rotateTick(s.attempt)
		}
		return s, nil
	case spinner.TickMsg:
		if s.running() {
			var cmd tea.Cmd
			s.spinner, cmd = s.spinner.Update(msg)
			return s, cmd
		}
		return s, nil
	case tea.KeyPressMsg:
		return s.updateKeys(msg)
	}
	if s.started() || s.focus == rotateKind {
		return s, nil
	}
	var cmd tea.Cmd
	s.inputs[s.focus], cmd = s.inputs[s.focus].Update(msg)
	return s, cmd
}

func (s rotateScreen) updateKeys(km tea.KeyPressMsg) (rotateScreen, tea.Cmd) {
	switch {
	case key.Matches(km, s.keys.Stop):
		// The wait ends with certificateRotatedMsg: cancelled, or switched
		// if the last try had just worked.
		s.stopping = true
		if s.cancel != nil {
			s.cancel()
		}
		s.setKeys()
		return s, nil
	case key.Matches(km, s.keys.Done):
		return s, emit(backRequestedMsg{})
	}
	if s.started() {
		return s, nil
	}
	if to, submit, ok := navigate(s.fields(), s.focus, km, formNav{next: s.keys.Next, prev: s.keys.Prev, enter: s.keys.Enter, submit: s.keys.Submit}); ok {
		if submit {
			return s.submit()
		}
		return s.focusOn(to)
	}
	switch {
	case key.Matches(km, s.keys.Back):
		return s, emit(backRequestedMsg{})
	case key.Matches(km, s.keys.Choose):
		s.mode = 1 - s.mode
		return s, nil
	}
	if s.focus == rotateKind {
		return s, nil
	}
	var cmd tea.Cmd
	s.inputs[s.focus], cmd = s.inputs[s.focus].Update(km)
	return s, cmd
}

func (s rotateScreen) focusOn(f rotateField) (rotateScreen, tea.Cmd) {
	s.inputs[s.focus].Blur()
	s.focus = f
	s.setKeys()
	if f == rotateKind {
		return s, nil
	}
	return s, s.inputs[f].Focus()
}

// submit validates the fields of the chosen kind, staying on a bad one,
// then starts the rotation.
func (s rotateScreen) submit() (rotateScreen, tea.Cmd) {
	if f, bad := firstInvalid(s.fields(), s.inputs); bad {
		return s.focusOn(f)
	}
	s.inputs[s.focus].Blur()
	ctx, cancel := context.WithCancel(s.ctx)
	s.cancel, s.attempt = cancel, nextAttempt()
	d := s.deps
	var cmd tea.Cmd
	if s.mode == rotateToSecret {
		now := time.Now()
		if d.Env != nil {
			now = d.Env.Now()
		}
		expires, _ := flows.ParseSecretExpiry(s.inputs[rotateExpires].Value(), now) // validated above
		cmd = rotateSecret(ctx, d.Env, d.ConfigDir, d.Secrets, s.attempt, s.profile, s.inputs[rotateSecretField].Value(), expires)
	} else {
		cmd = prepareCertificate(d.Env, d.Secrets, d.UploadCertificate, s.attempt, s.profile, expandHome(strings.TrimSpace(s.inputs[rotatePath].Value())))
	}
	s.setKeys()
	return s, tea.Batch(cmd, s.spinner.Tick)
}

// certificatePrepared starts trying the new certificate once it is kept,
// written and (in the sandbox) uploaded.
func (s rotateScreen) certificatePrepared(msg certificatePreparedMsg) (rotateScreen, tea.Cmd) {
	if msg.Err != nil {
		return s.finished(store.Profile{}, "", msg.Err)
	}
	s.cert, s.certPath, s.resumed, s.already = msg.Cert, msg.Path, msg.Resumed, msg.Already
	s.uploaded, s.uploadErr = msg.Uploaded, msg.UploadErr
	s.waiting = true
	s.now = msg.At
	s.deadline = msg.At.Add(certificatePoll.Timeout)
	ctx, cancel := context.WithCancel(s.ctx)
	if s.cancel != nil {
		s.cancel()
	}
	s.cancel = cancel
	s.setKeys()
	d := s.deps
	return s, tea.Batch(pollCertificate(ctx, d.Env, d.ConfigDir, d.Secrets, s.attempt, s.profile, s.cert), rotateTick(s.attempt))
}

// finished shows the outcome: the switch and what to remove, or why
// nothing changed.
func (s rotateScreen) finished(saved store.Profile, old string, err error) (rotateScreen, tea.Cmd) {
	s = s.stop()
	if err != nil {
		s.err = err
	} else {
		s.saved, s.old = &saved, old
	}
	s.setKeys()
	return s, nil
}

// View renders the form, the waiting, or the outcome.
func (s rotateScreen) View() string {
	if s.inputs == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(paint(s.st.title, wrap("Rotate the credential of "+s.profile.Name+" ("+string(s.profile.Scenario)+")", s.width)) + "\n")
	if !s.started() {
		b.WriteString(paint(s.st.subtle, wrap("Now: "+currentCredential(s.profile)+". The old credential stays in use until the new one is proven.", s.width)) + "\n\n")
		b.WriteString(s.formView())
		return b.String()
	}
	b.WriteString("\n")
	// What is happening comes first and the certificate's upload steps
	// after it: the root cuts a frame taller than the terminal at the
	// bottom, and on 60x20 the steps alone fill it. Once switched, the
	// steps are done and only the outcome stays.
	switch {
	case s.running() && s.cert == nil && s.mode == rotateToSecret:
		b.WriteString(s.spinner.View() + " Asking Entra for a token with the new client secret…")
	case s.running() && s.cert == nil:
		b.WriteString(s.spinner.View() + " Making the new certificate…")
	case s.stopping:
		b.WriteString(s.spinner.View() + " Stopping…\n\n" + s.certificateView())
	case s.running():
		b.WriteString(s.waitView() + "\n\n" + s.certificateView())
		if s.lastTry != nil {
			fe := flows.AsError(s.lastTry)
			b.WriteString("\n" + paint(s.st.subtle, wrap("not yet: "+flows.SafeText(fe.Message)+" ("+string(fe.Code)+")", s.width)))
		}
	case s.err != nil:
		b.WriteString(errorBlock(s.st, s.err, s.width))
		if s.cert != nil {
			b.WriteString("\n\n" + s.certificateView())
		}
	case s.saved != nil:
		b.WriteString(s.doneView())
	}
	return b.String()
}

// formView is the kind of credential and its fields.
func (s rotateScreen) formView() string {
	var b strings.Builder
	sub := max(10, s.width-labelWidth-2)
	under := strings.Repeat(" ", labelWidth+2)
	for _, f := range s.fields() {
		label := pad(rotateLabel(f), labelWidth)
		value := s.inputs[f].View()
		if f == rotateKind {
			value = "( ) new client secret  ( ) new certificate"
			if s.mode == rotateToSecret {
				value = "(•) new client secret  ( ) new certificate"
			} else {
				value = "( ) new client secret  (•) new certificate"
			}
		}
		if f == s.focus {
			b.WriteString(s.st.selected.Render("> "+label) + value + "\n")
		} else {
			b.WriteString("  " + s.st.label.Render(label) + value + "\n")
		}
		if err := s.inputs[f].Err; err != nil && f != rotateKind {
			b.WriteString(indent(fieldError(s.st, err, sub), under) + "\n")
		}
	}
	b.WriteString("\n")
	if s.mode == rotateToSecret {
		b.WriteString(paint(s.st.subtle, wrap("First add a new client secret to the app registration (keep the old one): "+s.portal()+" > App registrations > "+s.profile.ClientID+" > Certificates & secrets > New client secret.", s.width)))
	} else {
		b.WriteString(paint(s.st.subtle, wrap("mailgrant makes a new key (kept in the keyring) and writes the public certificate to this new file for upload.", s.width)))
	}
	return b.String()
}

// rotateLabel names a field.
func rotateLabel(f rotateField) string {
	switch f {
	case rotateKind:
		return "Replace with"
	case rotateSecretField:
		return "New secret"
	case rotateExpires:
		return "Expires"
	}
	return "Save public to"
}

// certificateView says where the new certificate is and how to upload it.
func (s rotateScreen) certificateView() string {
	var lines []string
	if s.resumed {
		lines = append(lines, "Resuming the rotation started earlier, with the same new certificate.")
	}
	if s.already {
		lines = append(lines, "✓ The new certificate is already in "+s.certPath+".")
	} else {
		lines = append(lines, "✓ New certificate written to "+s.certPath+" (public part only; the private key is in the keyring).")
	}
	lines = append(lines,
		"  Thumbprint "+s.cert.Thumbprint()+", expires "+s.cert.Leaf.NotAfter.Format(time.DateOnly)+".",
		"  Upload it: "+s.portal()+" > App registrations > "+s.profile.ClientID+" > Certificates & secrets > Certificates > Upload certificate.",
		"  Keep the current certificate"+thumbprintNote(s.profile.CertificateThumbprint)+" listed until mailgrant says to remove it.")
	switch {
	case s.uploaded:
		lines = append(lines, "✓ Sandbox: certificate uploaded to the simulated app registration.")
	case s.uploadErr != nil:
		lines = append(lines, "! The sandbox did not take the certificate: "+flows.SafeText(s.uploadErr.Error()))
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = wrapKeepIndent(l, s.width)
	}
	return strings.Join(out, "\n")
}

// waitView is the countdown while the new certificate is tried.
func (s rotateScreen) waitView() string {
	left := max(0, s.deadline.Sub(s.now)).Round(time.Second)
	line := fmt.Sprintf("%s Waiting until a token signed with the new certificate works (every %s; %s left). esc stops waiting and changes nothing.",
		s.spinner.View(), certificatePoll.Interval, left)
	return wrap(line, s.width)
}

// doneView says the profile switched, and what the admin removes now.
func (s rotateScreen) doneView() string {
	p := *s.saved
	var lines []string
	if p.Credential == store.CredentialCertificate {
		lines = append(lines, paint(s.st.ok, wrap("✓ A token signed with the new certificate "+p.CertificateThumbprint+" works; "+p.Name+" now uses it.", s.width)))
	} else {
		lines = append(lines, paint(s.st.ok, wrap("✓ A token was issued with the new client secret; "+p.Name+" now uses it.", s.width)))
	}
	if p.CredentialExpiresAt != nil {
		lines = append(lines, wrap("  It expires on "+p.CredentialExpiresAt.Format(time.DateOnly)+"; status warns 30 days before.", s.width))
	}
	old := s.old
	if p.Credential == store.CredentialSecret {
		old = s.profile.CertificateThumbprint
	}
	lines = append(lines, wrap(flows.RemoveOldCredential(s.deps.Env, s.profile, old), s.width))
	return strings.Join(lines, "\n")
}

// summary is what the list says after the screen is left: the switch and
// what to remove, or that nothing changed.
func (s rotateScreen) summary() string {
	switch {
	case s.saved != nil:
		old := s.old
		if s.saved.Credential == store.CredentialSecret {
			old = s.profile.CertificateThumbprint
		}
		return "Rotated " + s.profile.Name + ": it now uses " + currentCredential(*s.saved) + ". " + flows.RemoveOldCredential(s.deps.Env, s.profile, old)
	case s.started():
		return "Nothing rotated: " + s.profile.Name + " keeps its old credential."
	}
	return ""
}

// portal is the Entra admin center of the cloud in use.
func (s rotateScreen) portal() string {
	if s.deps.Env == nil {
		return "https://entra.microsoft.com"
	}
	return "https://" + s.deps.Env.Cloud.Portal
}

// currentCredential names a profile's credential in words.
func currentCredential(p store.Profile) string {
	what := "a client secret"
	if p.Credential == store.CredentialCertificate {
		what = "a certificate" + thumbprintNote(p.CertificateThumbprint)
	}
	if p.CredentialExpiresAt != nil {
		what += ", expires " + p.CredentialExpiresAt.Format(time.DateOnly)
	}
	return what
}

// thumbprintNote names a thumbprint in passing, when there is one.
func thumbprintNote(t string) string {
	if t == "" {
		return ""
	}
	return " (thumbprint " + t + ")"
}

// rotationNotApplicable says why a profile has nothing the wizard rotates,
// or "" when it has: rotation here is for app-only credentials.
func rotationNotApplicable(p store.Profile, prefix string) string {
	switch {
	case !p.Scenario.Delegated():
		return ""
	case p.Credential == store.CredentialSecret:
		return fmt.Sprintf("Rotation in the wizard applies to app-only credentials (a client secret or certificate); %s signs in as a user. To replace its web app's client secret run: %s rotate %s --client-secret-stdin", p.Name, prefix, p.Name)
	}
	return fmt.Sprintf("Rotation applies to app-only credentials (a client secret or certificate); %s signs in as a user with no secret to rotate. To renew its sign-in press r.", p.Name)
}

// rotateRequestedMsg reports that the user asked to rotate the credential
// of a stored profile.
type rotateRequestedMsg struct {
	Profile store.Profile
}

// secretRotatedMsg reports that a new client secret was proven and the
// profile switched to it (Profile as stored), or why not (Err; then
// nothing changed).
type secretRotatedMsg struct {
	Attempt int
	Profile store.Profile
	Err     error
}

// certificatePreparedMsg reports that a rotation's new certificate was made
// (or resumed: Resumed) and kept in the keyring, its public part written to
// Path (Already: it was there from the rotation resumed), and, in the
// sandbox, uploaded. At is when, for the countdown.
type certificatePreparedMsg struct {
	Attempt   int
	Cert      *flows.Certificate
	Path      string
	Resumed   bool
	Already   bool
	Uploaded  bool
	UploadErr error
	At        time.Time
	Err       error
}

// certificateTriedMsg reports that a token signed with the new certificate
// was refused (Err) and the next try is scheduled; Next delivers the
// following event.
type certificateTriedMsg struct {
	Attempt int
	Err     error
	Next    <-chan tea.Msg
}

// certificateRotatedMsg reports that the new certificate worked and the
// profile switched to it (Old is the thumbprint it replaced), or why not.
type certificateRotatedMsg struct {
	Attempt int
	Profile store.Profile
	Old     string
	Err     error
}

// rotateTickMsg advances the countdown of the wait for a new certificate.
type rotateTickMsg struct {
	Attempt int
	At      time.Time
}

// rotateSecret proves a new client secret, then switches to it.
func rotateSecret(ctx context.Context, env *flows.Env, dir string, secrets store.Secrets, attempt int, p store.Profile, secret string, expires *time.Time) tea.Cmd {
	return func() tea.Msg {
		saved, err := flows.RotateSecret(ctx, env, dir, secrets, p, secret, expires)
		return secretRotatedMsg{Attempt: attempt, Profile: saved, Err: err}
	}
}

// prepareCertificate makes (or resumes) the new certificate, writes its
// public part as a new file and, in the sandbox, uploads it.
func prepareCertificate(env *flows.Env, secrets store.Secrets, upload func(string, []byte) error, attempt int, p store.Profile, path string) tea.Cmd {
	return func() tea.Msg {
		c, resumed, err := flows.PendingCertificate(secrets, p, env.Now(), func() (*flows.Certificate, error) {
			return flows.GenerateCertificate("mailgrant "+p.Name, defaultCertDays*24*time.Hour, newCertificateBits, env.Now())
		})
		if err != nil {
			return certificatePreparedMsg{Attempt: attempt, Err: err}
		}
		already, err := flows.WritePendingCertificate(path, c, resumed, false)
		if err != nil {
			return certificatePreparedMsg{Attempt: attempt, Err: &flows.InputError{Field: "new-certificate", Problem: fmt.Sprintf("cannot write %s: %v", path, unwrapped(err)), Hint: "press enter, then R again, and give a new, writable path for the public certificate; nothing was changed"}}
		}
		msg := certificatePreparedMsg{Attempt: attempt, Cert: c, Path: path, Resumed: resumed, Already: already, At: time.Now()}
		if upload != nil {
			msg.UploadErr = upload(p.ClientID, c.Leaf.Raw)
			msg.Uploaded = msg.UploadErr == nil
		}
		return msg
	}
}

// unwrapped is the cause of a file error, without the operation and path
// that the message names already.
func unwrapped(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// pollCertificate tries the new certificate until it works, in the
// background, and returns its first event: a certificateTriedMsg per
// refused try (re-armed with waitForRotation), then certificateRotatedMsg.
func pollCertificate(ctx context.Context, env *flows.Env, dir string, secrets store.Secrets, attempt int, p store.Profile, c *flows.Certificate) tea.Cmd {
	return func() tea.Msg {
		ch := make(chan tea.Msg, 4)
		go func() {
			defer close(ch)
			o := certificatePoll
			o.Waiting = func(err error, _ time.Duration) {
				select {
				case ch <- certificateTriedMsg{Attempt: attempt, Err: err, Next: ch}:
				default: // the screen is behind: it sees the next one
				}
			}
			saved, old, err := flows.RotateCertificate(ctx, env, dir, secrets, p, c, o)
			ch <- certificateRotatedMsg{Attempt: attempt, Profile: saved, Old: old, Err: err}
		}()
		return <-ch
	}
}

// waitForRotation delivers the next event of a running certificate wait.
func waitForRotation(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

// rotateTick advances the countdown once a second.
func rotateTick(attempt int) tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return rotateTickMsg{Attempt: attempt, At: t} })
}
