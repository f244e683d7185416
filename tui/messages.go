package tui

import (
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// Messages are past-tense events. Results of commands carry the attempt id
// of the screen run that asked for them, so a result that arrives after the
// user cancelled or retried is recognized and dropped.

// lastAttempt numbers attempts across the whole program, so an id never
// belongs to two screens.
var lastAttempt atomic.Int64

// nextAttempt returns a fresh attempt id (never 0; 0 means "none").
func nextAttempt() int { return int(lastAttempt.Add(1)) }

// profilesLoadedMsg reports that profiles.json was read: the profiles, or the
// error (a *store.CorruptError when the file cannot be parsed).
type profilesLoadedMsg struct {
	Profiles *store.Profiles
	Err      error
}

// scenarioChosenMsg reports that the user picked a scenario on the chooser.
type scenarioChosenMsg struct {
	Scenario store.Scenario
}

// detailsEnteredMsg reports that the details form was submitted with every
// field valid: the profile to authorize and its credential — the client
// secret typed (empty for a public client), a certificate read from a file
// or kept in the keyring (Cert), or where to write a new one (NewCertPath,
// valid for NewCertDays).
type detailsEnteredMsg struct {
	Profile      store.Profile
	ClientSecret string
	Cert         *flows.Certificate
	NewCertPath  string
	NewCertDays  int
}

// clientSecretLoadedMsg reports that the client secret of a profile being
// re-authorized was read from the keyring (empty when it has none). Err is a
// keyring failure other than a missing secret.
type clientSecretLoadedMsg struct {
	Profile store.Profile
	Secret  string
	Err     error
}

// authURLReadyMsg reports that a browser sign-in started: its loopback
// listener is open and Flow.URL() is the authorize URL. At is when it
// started, for the elapsed time.
type authURLReadyMsg struct {
	Attempt int
	Flow    *flows.AuthCodeFlow
	At      time.Time
}

// browserOpenedMsg reports that the browser launcher returned; Err says why
// no browser could be opened (not fatal: the URL is on screen).
type browserOpenedMsg struct {
	Attempt int
	Err     error
}

// tokenReceivedMsg reports that the browser came back and the code was
// redeemed for a token.
type tokenReceivedMsg struct {
	Attempt int
	Token   *flows.Token
}

// stepCheckedMsg reports that one step of a status check finished. Next
// delivers the following event of the same check.
type stepCheckedMsg struct {
	Attempt int
	Step    flows.Step
	Next    <-chan tea.Msg
}

// statusCheckedMsg reports that a status check finished, with its outcome.
type statusCheckedMsg struct {
	Attempt int
	Status  *flows.Status
}

// tokenSavedMsg reports that a verified authorization was kept: the secrets
// in the keyring and the profile in profiles.json.
type tokenSavedMsg struct {
	Attempt int
	Profile store.Profile
}

// statusRecordedMsg reports that the outcome of a check of a stored profile
// was written into profiles.json; Err says why it could not be.
type statusRecordedMsg struct {
	Attempt int
	Err     error
}

// errMsg reports that a command of an attempt failed.
type errMsg struct {
	Attempt int
	Err     error
}

// Error returns the underlying error's text.
func (e errMsg) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e errMsg) Unwrap() error { return e.Err }

// quitRequestedMsg reports that the user pressed a screen's quit key.
type quitRequestedMsg struct{}

// backRequestedMsg reports that the user asked for the previous screen.
type backRequestedMsg struct{}

// newRequestedMsg reports that the user asked for a new authorization from
// the profile list.
type newRequestedMsg struct{}

// checkRequestedMsg reports that the user asked for the status of a stored
// profile (the status screen checks it).
type checkRequestedMsg struct {
	Profile store.Profile
}

// reauthRequestedMsg reports that the user asked to re-authorize a stored
// profile.
type reauthRequestedMsg struct {
	Profile store.Profile
}

// retryRequestedMsg reports that the user asked to sign in again after a
// failed check of a new token.
type retryRequestedMsg struct{}

// finishedMsg reports that the user acknowledged the done screen.
type finishedMsg struct{}

// emit returns a command that delivers msg; screens use it to announce events
// to the root.
func emit(msg tea.Msg) tea.Cmd {
	return func() tea.Msg { return msg }
}

// registrationRequestedMsg reports that the user asked to see the app
// registration checklist for the profile typed so far.
type registrationRequestedMsg struct {
	Profile store.Profile
}

// registrationClosedMsg reports that the user left the registration
// checklist (enter continues to the details, esc goes back).
type registrationClosedMsg struct {
	// Back is true for esc: return to where the checklist was opened from.
	Back bool
}

// credentialCheckedMsg reports that the files named on the details form were
// checked on submit: the certificate file was read (Cert), or the directory
// of a new certificate exists. Field is the field Err belongs to.
type credentialCheckedMsg struct {
	Attempt int
	Cert    *flows.Certificate
	Field   field
	Err     error
}

// deviceCodeReadyMsg reports that Entra issued a device code: the admin
// types Flow.UserCode at Flow.VerificationURI. At is when it was issued.
type deviceCodeReadyMsg struct {
	Attempt int
	Flow    *flows.DeviceFlow
	At      time.Time
}

// appCredentialLoadedMsg reports that an app-only profile's stored
// credential was read from the keyring for a re-authorization.
type appCredentialLoadedMsg struct {
	Profile store.Profile
	Cred    flows.AppCredential
	Err     error
}

// certificateCreatedMsg reports that a new certificate was generated and its
// public part written to Path; Uploaded says the sandbox registered it, and
// UploadErr why it could not.
type certificateCreatedMsg struct {
	Attempt   int
	Cert      *flows.Certificate
	Path      string
	Uploaded  bool
	UploadErr error
}

// appTokenReceivedMsg reports that the client-credentials grant returned a
// token.
type appTokenReceivedMsg struct {
	Attempt int
	Token   *flows.Token
}

// consentURLReadyMsg reports that an admin-consent request started: its
// loopback listener is open and Flow.URL() is the page to open.
type consentURLReadyMsg struct {
	Attempt int
	Flow    *flows.ConsentFlow
	At      time.Time
}

// consentGrantedMsg reports that the admin accepted the consent page.
type consentGrantedMsg struct {
	Attempt int
}

// consentWaitStartedMsg reports how long the wizard waits, from At, for a
// new admin consent to reach the app's tokens (flows.ConsentWaitFromEnv);
// Err is a bad MAILGRANT_CONSENT_WAIT.
type consentWaitStartedMsg struct {
	Attempt int
	Wait    time.Duration
	At      time.Time
	Err     error
}

// consentWaitEndedMsg reports the end of the wait for a new admin consent:
// Token is the last token obtained, which still lacks permissions when the
// wait ran out or was skipped first.
type consentWaitEndedMsg struct {
	Attempt int
	Token   *flows.Token
	Err     error
}

// certificateKeptMsg reports that a new certificate was kept in the keyring
// although no token could be obtained with it yet (so it can be uploaded
// and checked later); Err says why it could not be kept.
type certificateKeptMsg struct {
	Attempt int
	Err     error
}

// appAuthorizedMsg reports that an app-only credential obtained a token with
// the permissions it needs (or all it could get): the root checks it next.
type appAuthorizedMsg struct {
	Attempt int
	Request appRequest
	Token   *flows.Token
}

// profileCheckedMsg reports that one profile of a "check all" finished and
// its outcome was recorded (Err says why it could not be); Next yields the
// batch's following result.
type profileCheckedMsg struct {
	Batch  int
	Name   string
	Status *flows.Status
	Err    error
	Next   <-chan profileCheckedMsg
}

// profileDeletedMsg reports that a profile's keyring items and its entry in
// profiles.json were removed; Err says what failed (the profile is kept).
type profileDeletedMsg struct {
	Attempt int
	Profile store.Profile
	Err     error
}

// rbacScriptRequestedMsg reports that the user asked for the Exchange
// PowerShell of an rbac profile.
type rbacScriptRequestedMsg struct {
	Profile store.Profile
}

// rbacScriptClosedMsg reports that the user left the PowerShell screen.
type rbacScriptClosedMsg struct{}

// servicePrincipalMsg carries, for the PowerShell screen, an app-only token
// whose oid claim is the service principal's object ID, or why none could
// be had.
type servicePrincipalMsg struct {
	Attempt int
	Token   *flows.Token
	At      time.Time
	Err     error
}

// scriptSavedMsg reports that the PowerShell was written to Path.
type scriptSavedMsg struct {
	Attempt int
	Path    string
	Err     error
}
