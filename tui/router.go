package tui

import (
	"fmt"
	"strings"

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
	loading := m.authorize.loadingName
	if m.step == stepAppAuth {
		loading = m.appAuth.loadingName
	}
	switch {
	case (m.step == stepAuthorize || m.step == stepAppAuth) && loading != "":
		if msg.Err != nil {
			return m.startFailed(msg.Err), nil
		}
		p, ok := msg.Profiles.Get(loading)
		if !ok {
			return m.startFailed(&flows.Error{
				Code: flows.CodeNoProfile, State: flows.StateError,
				Message: fmt.Sprintf("there is no profile named %s", loading),
				Hint:    fmt.Sprintf("list them with %s list, or create it with %s setup --profile %s", m.deps.CommandPrefix, m.deps.CommandPrefix, loading),
			}), nil
		}
		return m.toReauth(p)
	case m.step == stepHome && msg.Err == nil && !m.hasProfiles && m.home.notice == "":
		return m.toChooser()
	}
	m.chooser.keys.Back.SetEnabled(m.hasProfiles)
	return m, nil
}

// startFailed shows why a re-authorization could not start.
func (m Model) startFailed(err error) Model {
	if m.step == stepAppAuth {
		m.appAuth = m.appAuth.failed(err)
	} else {
		m.authorize = m.authorize.failed(err)
	}
	return m
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
	// On the first screen there is nothing to go back to: q quits.
	m.chooser.keys.Back.SetEnabled(m.hasProfiles)
	return m, nil
}

// toFirstRegistration shows the registration checklist of a scenario just
// chosen, once, before its details form (enter skips it).
func (m Model) toFirstRegistration(sc store.Scenario) (tea.Model, tea.Cmd) {
	// The same scenario again (after esc) keeps what was typed.
	if m.reauth || m.details.inputs == nil || m.details.scenario != sc || m.details.allow != "" {
		m = m.withNewDetails(sc)
	}
	return m.toRegistration(m.details.profileSoFar(), false)
}

// toRegistration shows the checklist for the profile typed so far;
// fromDetails says esc returns to the form rather than the chooser.
func (m Model) toRegistration(p store.Profile, fromDetails bool) (tea.Model, tea.Cmd) {
	m.step = stepRegistration
	m.registration = m.registration.show(m.deps.Env, p, fromDetails)
	return m, nil
}

// registrationClosed continues to the details form, or goes back to the
// chooser from a checklist shown before the form.
func (m Model) registrationClosed(msg registrationClosedMsg) (tea.Model, tea.Cmd) {
	if msg.Back && !m.registration.fromDetails {
		return m.toChooser()
	}
	m.step = stepDetails
	return m, nil
}

// withNewDetails replaces the form with a fresh one for scenario sc.
func (m Model) withNewDetails(sc store.Scenario) Model {
	m.reauth = false
	d := m.deps
	if d.ScenarioPrefill != nil {
		d.Prefill = d.ScenarioPrefill(sc)
	}
	m.details = newDetailsScreen(m.styles, d, sc, "").setExisting(m.profileNames())
	m.details.setSize(m.width, m.height-m.chromeHeight())
	return m
}

// detailsEntered starts the sign-in (delegated) or the token request
// (app-only) for a submitted form.
func (m Model) detailsEntered(msg detailsEnteredMsg) (tea.Model, tea.Cmd) {
	if msg.Profile.Scenario.Delegated() {
		return m.toAuthorize(msg.Profile, msg.ClientSecret)
	}
	return m.toAppAuth(appRequest{
		Profile:     msg.Profile,
		Cred:        flows.AppCredential{Secret: msg.ClientSecret, Cert: msg.Cert},
		NewCertPath: msg.NewCertPath,
		NewCertDays: msg.NewCertDays,
	})
}

// toReauth starts the sign-in for a stored profile, reading its client
// secret (delegated) or credential (app-only) first if it has one. Its form
// is kept for esc, where a new secret or certificate can be given.
func (m Model) toReauth(p store.Profile) (tea.Model, tea.Cmd) {
	m.reauth = true
	m.details = detailsFromProfile(m.styles, m.deps, p).setExisting(m.profileNames())
	m.details.setSize(m.width, m.height-m.chromeHeight())
	if !p.Scenario.Delegated() {
		m.step = stepAppAuth
		m.authorize, _ = m.authorize.stop()
		var stopCmd tea.Cmd
		m.appAuth, stopCmd = m.appAuth.stop()
		m.appAuth = m.appAuth.loading(p.Name)
		return m, tea.Batch(stopCmd, loadAppCredential(m.deps.Secrets, p), m.appAuth.spinner.Tick)
	}
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

// appCredentialLoaded asks for a token with the stored credential of an
// app-only profile being re-authorized.
func (m Model) appCredentialLoaded(msg appCredentialLoadedMsg) (tea.Model, tea.Cmd) {
	if m.step != stepAppAuth || m.appAuth.loadingName != msg.Profile.Name {
		return m, nil
	}
	if msg.Err != nil {
		m.appAuth = m.appAuth.failed(msg.Err)
		return m, nil
	}
	m.details = m.details.withStored(msg.Cred)
	return m.toAppAuth(appRequest{Profile: msg.Profile, Cred: msg.Cred})
}

// toAuthorize starts a browser or device-code sign-in.
func (m Model) toAuthorize(p store.Profile, secret string) (tea.Model, tea.Cmd) {
	m.step = stepAuthorize
	m.check = m.check.stop()
	var cmd tea.Cmd
	m.authorize, cmd = m.authorize.start(m.ctx, m.deps, p, secret)
	return m, cmd
}

// toAppAuth starts an app-only authorization: a new certificate if asked
// for, the token, and admin consent when it lacks a required permission.
func (m Model) toAppAuth(r appRequest) (tea.Model, tea.Cmd) {
	m.step = stepAppAuth
	m.check = m.check.stop()
	var cmd tea.Cmd
	m.appAuth, cmd = m.appAuth.start(m.ctx, m.deps, r)
	return m, cmd
}

// retry starts the authorization again after a failed check of a new token.
func (m Model) retry() (tea.Model, tea.Cmd) {
	if m.check.app != nil {
		return m.toAppAuth(*m.check.app)
	}
	return m.toAuthorize(m.check.profile, m.check.clientSecret)
}

// appAuthorized checks the token an app-only credential obtained.
func (m Model) appAuthorized(msg appAuthorizedMsg) (tea.Model, tea.Cmd) {
	if !m.appAuth.owns(msg.Attempt) {
		return m, nil
	}
	m.appAuth = m.appAuth.succeeded()
	m.step = stepCheck
	var cmd tea.Cmd
	m.check.reauth = m.reauth
	m.check, cmd = m.check.startVerifyApp(m.ctx, m.deps, msg.Request, msg.Token)
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
	m.check.reauth = m.reauth
	m.check, cmd = m.check.startVerify(m.ctx, m.deps, p, secret, msg.Token)
	return m, cmd
}

// toStatus opens the status screen of a stored profile and checks it.
func (m Model) toStatus(p store.Profile) (tea.Model, tea.Cmd) {
	m.step = stepStatus
	var cmd tea.Cmd
	m.status, cmd = m.status.start(m.ctx, m.deps, p)
	return m, cmd
}

// tokenSaved shows the done screen; for rbac the PowerShell comes first.
func (m Model) tokenSaved(msg tokenSavedMsg) (tea.Model, tea.Cmd) {
	if !m.check.owns(msg.Attempt) {
		return m, nil
	}
	status := m.check.status
	m.home = m.home.remember(status)
	m.check = m.check.stop()
	m.step = stepDone
	m.done = newDoneScreen(m.styles, m.deps, msg.Profile, status, m.check.certPath)
	m.done.consentLate = m.check.app != nil && m.check.app.ConsentLate
	m.done.setSize(m.width, m.height-m.chromeHeight())
	if msg.Profile.Scenario == store.RBAC {
		next, cmd := m.toRBAC(msg.Profile)
		m = next.(Model)
		m.rbac = m.rbac.justSaved(flows.State(msg.Profile.LastState))
		return m, cmd
	}
	return m, nil
}

// toRBAC shows the Exchange PowerShell of an rbac profile; leaving it
// returns to the screen it was opened from.
func (m Model) toRBAC(p store.Profile) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	m.rbac, cmd = m.rbac.show(m.deps, p, m.step).askServicePrincipal(m.ctx, m.deps)
	m.step = stepRBAC
	return m, cmd
}

// rbacClosed returns from the PowerShell screen.
func (m Model) rbacClosed() (tea.Model, tea.Cmd) {
	m.step = m.rbac.from
	return m, nil
}

// back goes to the screen before the current one.
func (m Model) back() (tea.Model, tea.Cmd) {
	switch m.step {
	case stepChooser:
		if m.hasProfiles {
			return m.toHome()
		}
		return m, nil
	case stepRegistration:
		return m.registrationClosed(registrationClosedMsg{Back: true})
	case stepDetails:
		if m.reauth {
			return m.toHome()
		}
		// One step: the checklist shown before the form, which keeps it.
		return m.toRegistration(m.details.profileSoFar(), false)
	case stepAuthorize:
		var cmd tea.Cmd
		m.authorize, cmd = m.authorize.stop()
		if m.details.inputs == nil { // re-authorization that never got a form
			return m.toHome()
		}
		m.step = stepDetails
		return m, cmd
	case stepAppAuth:
		var cmd tea.Cmd
		m.appAuth, cmd = m.appAuth.stop()
		if m.details.inputs == nil {
			return m.toHome()
		}
		m.step = stepDetails
		return m, cmd
	case stepCheck:
		m.check = m.check.stop()
		m.step = stepDetails
		return m, nil
	case stepRBAC:
		return m.rbacClosed()
	case stepStatus:
		m.status = m.status.stop()
		return m.toHome()
	case stepEdit:
		m.edit = m.edit.stop()
		return m.toHome()
	case stepRotate:
		m.rotate = m.rotate.stop()
		m.home.notice = m.rotate.summary()
		return m.toHome()
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
		out = m.completed // an authorization saved before returning here
		out.Err = m.home.err
	case m.step == stepDone, m.step == stepRBAC && m.rbac.from == stepDone:
		out = m.doneOutcome()
	case m.step == stepStatus, m.step == stepRBAC && m.rbac.from == stepStatus:
		// Looking at a stored profile is not a setup to cancel.
	case m.step == stepRotate && m.rotate.err != nil && !m.rotate.running():
		out.Err = m.rotate.err
	case m.step == stepEdit && m.edit.err != nil:
		out.Err = m.edit.err
	case m.step == stepAuthorize && m.authorize.err != nil:
		out.Err = m.authorize.err
	case m.step == stepAppAuth && m.appAuth.err != nil:
		out.Err = m.appAuth.err
	case m.step == stepCheck && m.check.failure() != nil:
		out.Err = m.check.failure()
	default:
		out.Cancelled = true
	}
	return m.stopAll(out)
}

// interrupt is ctrl+c: leave at once, cancelling any running flow (exit
// status 130). After a save it still reports the completed authorization.
func (m Model) interrupt() (tea.Model, tea.Cmd) {
	out := Outcome{Cancelled: true, Profile: m.currentProfile()}
	if m.step == stepDone || m.step == stepRBAC && m.rbac.from == stepDone {
		out = m.doneOutcome()
		out.Cancelled = true
	}
	return m.stopAll(out)
}

func (m Model) stopAll(out Outcome) (tea.Model, tea.Cmd) {
	var authCmd, appCmd tea.Cmd
	m.authorize, authCmd = m.authorize.stop()
	m.appAuth, appCmd = m.appAuth.stop()
	m.check = m.check.stop()
	m.status = m.status.stop()
	m.home = m.home.stop()
	m.edit = m.edit.stop()
	m.rotate = m.rotate.stop()
	m.outcome = out
	m.confirmQuit, m.showHelp = false, false
	if out.Cancelled {
		m.final = m.cancelledLine()
	}
	return m, tea.Sequence(tea.Batch(authCmd, appCmd), tea.Quit)
}

// currentProfile names the profile the wizard is working on, if any.
func (m Model) currentProfile() string {
	switch m.step {
	case stepDetails:
		return m.details.value(fieldProfile)
	case stepAuthorize:
		return m.authorize.profile.Name
	case stepAppAuth:
		return m.appAuth.req.Profile.Name
	case stepCheck:
		return m.check.profile.Name
	case stepDone:
		return m.done.profile.Name
	case stepRBAC:
		return m.rbac.profile.Name
	case stepStatus:
		return m.status.profile.Name
	case stepEdit:
		return m.edit.profile.Name
	case stepRotate:
		return m.rotate.profile.Name
	}
	return ""
}

// toEdit opens the edit screen of a stored profile.
func (m Model) toEdit(p store.Profile) (tea.Model, tea.Cmd) {
	m.home.notice, m.home.actionErr = "", nil
	m.step = stepEdit
	m.edit = newEditScreen(m.ctx, m.styles, m.deps, p)
	m.edit.setSize(m.width)
	return m, m.edit.inputs[m.edit.focus].Focus()
}

// editSaved returns to the list after an edit that needed nothing.
func (m Model) editSaved(msg editSavedMsg) (tea.Model, tea.Cmd) {
	if msg.Attempt == 0 || msg.Attempt != m.edit.attempt {
		return m, nil
	}
	m.edit = m.edit.stop()
	m.home.notice = "Saved " + msg.Profile.Name + " (no new sign-in or consent needed): " + strings.Join(msg.Changes, "; ") + "."
	return m.toHome()
}

// editConfirmed re-authorizes the edited profile through the
// re-authorization path, which stores it only once verified.
func (m Model) editConfirmed(msg editConfirmedMsg) (tea.Model, tea.Cmd) {
	if m.step != stepEdit {
		return m, nil
	}
	return m.toReauth(msg.Profile)
}

// editToken checks a delegated profile's stored grant against its edited
// settings; the check keeps the edit only when it is authorized.
func (m Model) editToken(msg editTokenMsg) (tea.Model, tea.Cmd) {
	if msg.Attempt == 0 || msg.Attempt != m.edit.attempt || m.step != stepEdit {
		return m, nil
	}
	m.edit = m.edit.stop()
	m.reauth = true
	m.details = detailsFromProfile(m.styles, m.deps, msg.Profile).setExisting(m.profileNames()).withSecret(msg.Secret)
	m.details.setSize(m.width, m.height-m.chromeHeight())
	m.step = stepCheck
	var cmd tea.Cmd
	m.check.reauth = true
	m.check, cmd = m.check.startVerify(m.ctx, m.deps, msg.Profile, msg.Secret, msg.Token)
	return m, cmd
}

// toRotate opens the rotation screen of an app-only profile, or says on
// the list why a delegated one has nothing to rotate here.
func (m Model) toRotate(p store.Profile) (tea.Model, tea.Cmd) {
	m.home.notice, m.home.actionErr = "", nil
	if why := rotationNotApplicable(p, m.deps.CommandPrefix); why != "" {
		m.home.notice = why
		return m, nil
	}
	m.step = stepRotate
	m.rotate = newRotateScreen(m.ctx, m.styles, m.deps, p)
	m.rotate.setSize(m.width)
	return m, m.rotate.inputs[m.rotate.focus].Focus()
}
