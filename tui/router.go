package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// The root's step changes, one method per event.

// profilesLoaded refreshes the list and the taken names, and resolves the
// start: an empty list goes to the chooser, a re-authorization to its
// profile.
func (m Model) profilesLoaded(msg profilesLoadedMsg) (tea.Model, tea.Cmd) {
	m.home = m.home.setProfiles(msg)
	names := m.profileNames()
	m.hasProfiles = len(names) > 0
	m.details = m.details.setExisting(names)
	switch {
	case m.step == stepAuthorize && m.authorize.loadingName != "":
		if msg.Err != nil {
			m.authorize = m.authorize.failed(msg.Err)
			return m, nil
		}
		p, ok := msg.Profiles.Get(m.authorize.loadingName)
		if !ok {
			m.authorize = m.authorize.failed(&flows.Error{
				Code: "no-profile", State: flows.StateError,
				Message: fmt.Sprintf("there is no profile named %s", m.authorize.loadingName),
				Hint:    fmt.Sprintf("list them with %s list, or create it with %s setup --profile %s", m.deps.CommandPrefix, m.deps.CommandPrefix, m.authorize.loadingName),
			})
			return m, nil
		}
		return m.toReauth(p)
	case m.step == stepHome && msg.Err == nil && !m.hasProfiles:
		return m.toChooser()
	}
	return m, nil
}

func (m Model) profileNames() []string {
	names := make([]string, 0, len(m.home.profiles))
	for _, p := range m.home.profiles {
		names = append(names, p.Name)
	}
	return names
}

// toHome shows the list, read again (a check may have changed it).
func (m Model) toHome() (tea.Model, tea.Cmd) {
	m.step = stepHome
	m.reauth = false
	return m, loadProfiles(m.deps.ConfigDir)
}

// toChooser shows the scenario chooser.
func (m Model) toChooser() (tea.Model, tea.Cmd) {
	m.step = stepChooser
	m.reauth = false
	m.chooser.notice = ""
	return m, nil
}

// toDetails shows a fresh form for a new profile of scenario sc.
func (m Model) toDetails(sc store.Scenario) (tea.Model, tea.Cmd) {
	m.step = stepDetails
	m.reauth = false
	m.details = newDetailsScreen(m.styles, m.deps, sc, "").setExisting(m.profileNames())
	m.details.setSize(m.width)
	return m, nil
}

// toReauth starts the sign-in for a stored profile, reading its client
// secret first if it has one. Its form is kept for esc.
func (m Model) toReauth(p store.Profile) (tea.Model, tea.Cmd) {
	m.reauth = true
	m.details = detailsFromProfile(m.styles, m.deps, p).setExisting(m.profileNames())
	m.details.setSize(m.width)
	if p.Credential == store.CredentialSecret {
		m.step = stepAuthorize
		m.authorize, _ = m.authorize.stop()
		m.authorize = m.authorize.loading(p.Name)
		return m, tea.Batch(loadClientSecret(m.deps.Secrets, p), m.authorize.spinner.Tick)
	}
	return m.toAuthorize(p, "")
}

// clientSecretLoaded starts the re-authorization once its secret was read.
func (m Model) clientSecretLoaded(msg clientSecretLoadedMsg) (tea.Model, tea.Cmd) {
	if m.step != stepAuthorize || m.authorize.loadingName != msg.Profile.Name {
		return m, nil // the user left meanwhile
	}
	if msg.Err != nil {
		m.authorize = m.authorize.failed(msg.Err)
		return m, nil
	}
	m.details = m.details.withSecret(msg.Secret)
	return m.toAuthorize(msg.Profile, msg.Secret)
}

// toAuthorize starts a browser sign-in.
func (m Model) toAuthorize(p store.Profile, secret string) (tea.Model, tea.Cmd) {
	m.step = stepAuthorize
	m.check = m.check.stop()
	var cmd tea.Cmd
	m.authorize, cmd = m.authorize.start(m.ctx, m.deps, p, secret)
	return m, cmd
}

// tokenReceived checks the new token, if it belongs to the running attempt.
func (m Model) tokenReceived(msg tokenReceivedMsg) (tea.Model, tea.Cmd) {
	if !m.authorize.owns(msg.Attempt) {
		return m, nil
	}
	p, secret := m.authorize.profile, m.authorize.clientSecret
	m.authorize = m.authorize.succeeded()
	m.step = stepCheck
	var cmd tea.Cmd
	m.check, cmd = m.check.startVerify(m.ctx, m.deps, p, secret, msg.Token)
	return m, cmd
}

// toStoredCheck checks a stored profile chosen on the list.
func (m Model) toStoredCheck(p store.Profile) (tea.Model, tea.Cmd) {
	m.step = stepCheck
	var cmd tea.Cmd
	m.check, cmd = m.check.startStored(m.ctx, m.deps, p)
	return m, cmd
}

// tokenSaved shows the done screen.
func (m Model) tokenSaved(msg tokenSavedMsg) (tea.Model, tea.Cmd) {
	if !m.check.owns(msg.Attempt) {
		return m, nil
	}
	status := m.check.status
	m.check = m.check.stop()
	m.step = stepDone
	m.done = newDoneScreen(m.styles, m.deps, msg.Profile, status)
	m.done.setSize(m.width)
	return m, nil
}

// back goes to the screen before the current one.
func (m Model) back() (tea.Model, tea.Cmd) {
	switch m.step {
	case stepChooser:
		if m.hasProfiles {
			return m.toHome()
		}
		return m.quit()
	case stepDetails:
		if m.reauth {
			return m.toHome()
		}
		return m.toChooser()
	case stepAuthorize:
		var cmd tea.Cmd
		m.authorize, cmd = m.authorize.stop()
		if m.details.inputs == nil { // re-authorization that never got a form
			return m.toHome()
		}
		m.step = stepDetails
		return m, cmd
	case stepCheck:
		m.check = m.check.stop()
		if m.check.stored {
			return m.toHome()
		}
		m.step = stepDetails
		return m, nil
	}
	return m, nil
}

// quit ends the wizard from a screen's quit key: nothing attempted on the
// list, done on the done screen, failed when a failure is on display,
// cancelled otherwise.
func (m Model) quit() (tea.Model, tea.Cmd) {
	out := Outcome{Profile: m.currentProfile()}
	switch {
	case m.step == stepHome:
		out.Err = m.home.err
	case m.step == stepDone:
		out.Completed = true
	case m.step == stepAuthorize && m.authorize.err != nil:
		out.Err = m.authorize.err
	case m.step == stepCheck && m.check.stored:
		// Looking at a stored profile's check is not a setup to cancel.
	case m.step == stepCheck && m.check.failure() != nil:
		out.Err = m.check.failure()
	default:
		out.Cancelled = true
	}
	return m.stopAll(out)
}

// interrupt is ctrl+c: leave at once, cancelling any running flow. After a
// save it still reports the completed authorization.
func (m Model) interrupt() (tea.Model, tea.Cmd) {
	out := Outcome{Cancelled: true, Profile: m.currentProfile()}
	if m.step == stepDone {
		out = Outcome{Completed: true, Profile: m.done.profile.Name}
	}
	return m.stopAll(out)
}

func (m Model) stopAll(out Outcome) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	m.authorize, cmd = m.authorize.stop()
	m.check = m.check.stop()
	m.outcome = out
	return m, tea.Sequence(cmd, tea.Quit)
}

// currentProfile names the profile the wizard is working on, if any.
func (m Model) currentProfile() string {
	switch m.step {
	case stepDetails:
		return m.details.value(fieldProfile)
	case stepAuthorize:
		return m.authorize.profile.Name
	case stepCheck:
		return m.check.profile.Name
	case stepDone:
		return m.done.profile.Name
	}
	return ""
}
