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
// field valid: the profile to authorize and the client secret typed (empty
// for a public client).
type detailsEnteredMsg struct {
	Profile      store.Profile
	ClientSecret string
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

// checkRequestedMsg reports that the user asked to check a stored profile.
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
