package tui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// refreshLifetime is how long a refresh token stays valid unused (Entra's
// default inactivity lifetime).
const refreshLifetime = 90 * 24 * time.Hour

// homeScreen lists the stored profiles with their last known state and
// expiries: daily use. It checks them all at once, deletes one after a
// confirmation, and opens the status, re-authorization or a new setup.
type homeScreen struct {
	st       styles
	keys     homeKeys
	width    int
	height   int
	ctx      context.Context
	deps     Deps
	spinner  spinner.Model
	loaded   bool
	profiles []store.Profile
	cursor   int
	// err is why the list could not be read, or why a start failed (a
	// profile to re-authorize that does not exist).
	err error
	// statuses are this session's checks, by profile name (they give the
	// access-token expiry).
	statuses map[string]*flows.Status

	// batch is the running "check all" (0: none), with its progress.
	batch       int
	batchCancel context.CancelFunc
	checked     int
	total       int
	checkErrs   int

	// confirm is the profile whose deletion awaits y/n; deleting the
	// attempt of a running deletion.
	confirm  *store.Profile
	deleting int
	// notice is what the last action left to read (what deleting cannot
	// revoke, or that nothing was deleted).
	notice    string
	actionErr error
}

func newHomeScreen(ctx context.Context, st styles, d Deps) homeScreen {
	return homeScreen{st: st, keys: newHomeKeys(), ctx: ctx, deps: d, statuses: map[string]*flows.Status{},
		spinner: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
}

func (s *homeScreen) setSize(w, h int) { s.width, s.height = w, h }

// setProfiles shows a freshly loaded list, keeping the cursor on the same
// profile where it can.
func (s homeScreen) setProfiles(msg profilesLoadedMsg) homeScreen {
	s.loaded = true
	s.err = msg.Err
	if msg.Err != nil || msg.Profiles == nil {
		s.profiles = nil
	} else {
		s.profiles = msg.Profiles.List
	}
	s.cursor = min(s.cursor, max(0, len(s.profiles)-1))
	s.setKeys()
	return s
}

// remember keeps a check's outcome of this session for the list.
func (s homeScreen) remember(st *flows.Status) homeScreen {
	if st == nil || st.Name == "" {
		return s
	}
	s.statuses = maps.Clone(s.statuses)
	s.statuses[st.Name] = st
	return s
}

// stop cancels a running "check all".
func (s homeScreen) stop() homeScreen {
	if s.batchCancel != nil {
		s.batchCancel()
	}
	s.batch, s.batchCancel = 0, nil
	return s
}

func (s *homeScreen) setKeys() {
	has := len(s.profiles) > 0
	asking := s.confirm != nil
	for _, b := range []*key.Binding{&s.keys.Open, &s.keys.Reauth, &s.keys.Delete, &s.keys.CheckAll} {
		b.SetEnabled(has && !asking)
	}
	s.keys.CheckAll.SetEnabled(has && !asking && s.batch == 0)
	s.keys.New.SetEnabled(s.err == nil && !asking)
	s.keys.Up.SetEnabled(!asking)
	s.keys.Down.SetEnabled(!asking)
	s.keys.Quit.SetEnabled(!asking)
	s.keys.Yes.SetEnabled(asking)
	s.keys.No.SetEnabled(asking)
}

// busy reports whether a check or a deletion is running.
func (s homeScreen) busy() bool { return s.batch != 0 || s.deleting != 0 }

// Update handles the list's keys and the results of its commands.
func (s homeScreen) Update(msg tea.Msg) (homeScreen, tea.Cmd) {
	switch msg := msg.(type) {
	case profileCheckedMsg:
		if msg.Batch != 0 && msg.Batch == s.batch {
			return s.profileChecked(msg)
		}
	case profileDeletedMsg:
		if msg.Attempt != 0 && msg.Attempt == s.deleting {
			return s.profileDeleted(msg)
		}
	case spinner.TickMsg:
		if s.busy() {
			var cmd tea.Cmd
			s.spinner, cmd = s.spinner.Update(msg)
			return s, cmd
		}
	case tea.KeyPressMsg:
		if s.confirm != nil {
			return s.updateConfirm(msg)
		}
		return s.updateKeys(msg)
	}
	return s, nil
}

func (s homeScreen) updateKeys(km tea.KeyPressMsg) (homeScreen, tea.Cmd) {
	switch {
	case key.Matches(km, s.keys.Up):
		s.cursor = max(0, s.cursor-1)
	case key.Matches(km, s.keys.Down):
		s.cursor = min(max(0, len(s.profiles)-1), s.cursor+1)
	case key.Matches(km, s.keys.Open):
		if p, ok := s.selected(); ok {
			return s, emit(checkRequestedMsg{Profile: p})
		}
	case key.Matches(km, s.keys.CheckAll):
		return s.checkAll()
	case key.Matches(km, s.keys.Reauth):
		if p, ok := s.selected(); ok {
			return s, emit(reauthRequestedMsg{Profile: p})
		}
	case key.Matches(km, s.keys.Delete):
		if p, ok := s.selected(); ok && s.deleting == 0 {
			s.confirm, s.notice, s.actionErr = &p, "", nil
			s.setKeys()
		}
	case key.Matches(km, s.keys.New):
		return s, emit(newRequestedMsg{})
	case key.Matches(km, s.keys.Quit):
		return s, emit(quitRequestedMsg{})
	}
	return s, nil
}

// updateConfirm answers the delete question.
func (s homeScreen) updateConfirm(km tea.KeyPressMsg) (homeScreen, tea.Cmd) {
	switch {
	case key.Matches(km, s.keys.Yes):
		p := *s.confirm
		s.confirm = nil
		s.deleting = nextAttempt()
		s.setKeys()
		return s, tea.Batch(deleteProfile(s.deps.Secrets, s.deps.ConfigDir, s.deleting, p), s.spinner.Tick)
	case key.Matches(km, s.keys.No):
		s.notice = "Nothing deleted: " + s.confirm.Name + " is kept."
		s.confirm = nil
		s.setKeys()
	}
	return s, nil
}

// checkAll checks every profile, each in its own command, concurrently.
func (s homeScreen) checkAll() (homeScreen, tea.Cmd) {
	if s.batch != 0 || len(s.profiles) == 0 {
		return s, nil
	}
	s = s.stop()
	ctx, cancel := context.WithCancel(s.ctx)
	s.batch, s.batchCancel = nextAttempt(), cancel
	s.checked, s.total, s.checkErrs = 0, len(s.profiles), 0
	s.notice, s.actionErr = "", nil
	s.setKeys()
	cmds := []tea.Cmd{s.spinner.Tick}
	for _, p := range s.profiles {
		cmds = append(cmds, checkAndRecord(ctx, s.deps.Env, s.deps.Secrets, s.deps.ConfigDir, s.batch, p))
	}
	return s, tea.Batch(cmds...)
}

// profileChecked shows one result of "check all" at once, and reads the
// list again when the last one is in.
func (s homeScreen) profileChecked(msg profileCheckedMsg) (homeScreen, tea.Cmd) {
	s.checked++
	s = s.remember(msg.Status)
	if msg.Err != nil {
		s.checkErrs++
		s.actionErr = msg.Err
	}
	s.profiles = append([]store.Profile(nil), s.profiles...)
	for i := range s.profiles {
		if s.profiles[i].Name == msg.Name && msg.Status != nil {
			flows.Record(&s.profiles[i], msg.Status)
		}
	}
	if s.checked < s.total {
		return s, nil
	}
	s = s.stop()
	s.notice = fmt.Sprintf("Checked %d/%d; recorded in profiles.json.", s.checked, s.total)
	s.setKeys()
	return s, loadProfiles(s.deps.ConfigDir)
}

// profileDeleted says what deleting cannot undo, and reads the list again.
func (s homeScreen) profileDeleted(msg profileDeletedMsg) (homeScreen, tea.Cmd) {
	s.deleting = 0
	s.setKeys()
	if msg.Err != nil {
		s.actionErr = msg.Err
		return s, nil
	}
	s.notice = "Deleted " + msg.Profile.Name + " and its keyring items. " + flows.RevokeAdvice(msg.Profile)
	return s, loadProfiles(s.deps.ConfigDir)
}

func (s homeScreen) selected() (store.Profile, bool) {
	if s.cursor < 0 || s.cursor >= len(s.profiles) {
		return store.Profile{}, false
	}
	return s.profiles[s.cursor], true
}

// homeColumns are the widths of the fixed columns; the name column takes
// what is left.
const (
	colState   = 20
	colChecked = 12
	colToken   = 5
	colRefresh = 14
	colCred    = 10
	colFixed   = 2 + colState + 1 + colChecked + 1 + colToken + 1 + colRefresh + 1 + colCred + 1
)

// View renders the table, the selected profile in full, and what the last
// action left to read.
func (s homeScreen) View() string {
	var b strings.Builder
	b.WriteString(s.st.title.Render("mailgrant profiles") + "\n\n")
	if s.err != nil {
		b.WriteString(errorBlock(s.st, s.err, s.width))
		return b.String()
	}
	if !s.loaded {
		b.WriteString(s.st.subtle.Render("Reading profiles…"))
		return b.String()
	}
	footer := s.footer()
	if len(s.profiles) == 0 {
		b.WriteString("No profiles yet. Press n to authorize a program.")
		if footer != "" {
			b.WriteString("\n\n" + footer)
		}
		return b.String()
	}
	name := max(8, s.width-colFixed)
	row := func(cur, n, state, checked, token, refresh, cred string) string {
		return cur + pad(n, name) + " " + pad(state, colState) + " " + pad(checked, colChecked) + " " +
			pad(token, colToken) + " " + pad(refresh, colRefresh) + " " + truncate(cred, colCred)
	}
	b.WriteString(s.st.label.Render(row("  ", "NAME", "STATE", "LAST CHECKED", "TOKEN", "REFRESH→LAPSES", "CREDENTIAL")) + "\n")
	from, to := s.window(strings.Count(footer, "\n") + 1)
	for i := from; i < to; i++ {
		p := s.profiles[i]
		cells := []string{p.Name, stateLabel(p.LastState), checkedLabel(p), s.tokenLabel(p), refreshLabel(p), credentialLabel(p)}
		if i == s.cursor {
			b.WriteString(s.st.selected.Render(row("> ", cells[0], cells[1], cells[2], cells[3], cells[4], cells[5])) + "\n")
		} else {
			b.WriteString(row("  ", cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]) + "\n")
		}
	}
	b.WriteString("\n" + footer)
	return b.String()
}

// window is the range of profiles that fits on screen around the cursor:
// the title, header and footer take the rest.
func (s homeScreen) window(footerLines int) (from, to int) {
	rows := len(s.profiles)
	if s.height > 0 {
		rows = max(1, s.height-4-footerLines)
	}
	from = max(0, min(s.cursor-rows/2, len(s.profiles)-rows))
	return from, min(len(s.profiles), from+rows)
}

// footer is the selected profile in full, then the question, progress,
// notice or error of the last action.
func (s homeScreen) footer() string {
	var parts []string
	if p, ok := s.selected(); ok {
		parts = append(parts, paint(s.st.subtle, wrap(fmt.Sprintf("%s: %s, %s in tenant %s, app %s", p.Name, p.Scenario, p.Account, p.Tenant, p.ClientID), s.width)))
	}
	switch {
	case s.confirm != nil:
		p := s.confirm
		parts = append(parts, paint(s.st.warn, wrap(fmt.Sprintf("Delete profile %s (%s, %s) and its secrets from the keyring? y/n", p.Name, p.Scenario, p.Account), s.width)))
	case s.deleting != 0:
		parts = append(parts, s.spinner.View()+" Deleting…")
	case s.batch != 0:
		parts = append(parts, s.spinner.View()+fmt.Sprintf(" checked %d/%d", s.checked, s.total))
	}
	if s.actionErr != nil {
		parts = append(parts, errorBlock(s.st, s.actionErr, s.width))
	}
	if s.notice != "" && s.confirm == nil {
		parts = append(parts, wrap(strings.TrimRight(s.notice, "\n"), s.width))
	}
	return strings.Join(parts, "\n")
}

// stateLabel is a state as its symbol and word.
func stateLabel(state string) string {
	if state == "" {
		state = string(flows.StateUnauthorized)
	}
	return flows.State(state).Symbol() + " " + state
}

// checkedLabel is when the profile was last checked, in local time.
func checkedLabel(p store.Profile) string {
	if p.LastCheckedAt == nil {
		return "never"
	}
	return p.LastCheckedAt.Local().Format("Jan _2 15:04")
}

// tokenLabel is when the access token of this session's last check
// expires.
func (s homeScreen) tokenLabel(p store.Profile) string {
	st := s.statuses[p.Name]
	if st == nil || st.TokenExpiresAt == nil {
		return "-"
	}
	return st.TokenExpiresAt.Local().Format("15:04")
}

// refreshLabel is when a delegated profile's refresh token was last
// rotated, and when it lapses if unused.
func refreshLabel(p store.Profile) string {
	if !p.Scenario.Delegated() || p.RefreshRotatedAt == nil {
		return "-"
	}
	at := p.RefreshRotatedAt.Local()
	return at.Format("Jan 2") + "→" + at.Add(refreshLifetime).Format("Jan 2")
}

// credentialLabel is when the client secret or certificate expires.
func credentialLabel(p store.Profile) string {
	if p.CredentialExpiresAt == nil {
		return "-"
	}
	return p.CredentialExpiresAt.Local().Format(time.DateOnly)
}

// errorBlock explains an error: what happened, what to do, and its code.
func errorBlock(st styles, err error, width int) string {
	var lines []string
	var ce *store.CorruptError
	if errors.As(err, &ce) {
		lines = append(lines,
			paint(st.bad, wrap("✗ cannot read "+ce.Path+": "+ce.Reason, width)),
			wrap("Hint: "+ce.Hint(), width))
		return strings.Join(lines, "\n")
	}
	fe := flows.AsError(err)
	lines = append(lines, paint(st.bad, wrap("✗ "+fe.Message, width)))
	if fe.Hint != "" {
		lines = append(lines, wrap("Hint: "+fe.Hint, width))
	}
	if fe.Code != "" && fe.Code != "error" {
		lines = append(lines, paint(st.subtle, wrap("Code: "+fe.Code, width)))
	}
	return strings.Join(lines, "\n")
}
