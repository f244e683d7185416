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
	"github.com/charmbracelet/x/ansi"

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
	// reauthAsk is the profile whose re-authorization (which opens the
	// browser) awaits y/n.
	reauthAsk *store.Profile
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
	asking := s.confirm != nil || s.reauthAsk != nil
	for _, b := range []*key.Binding{&s.keys.Open, &s.keys.Reauth, &s.keys.Edit, &s.keys.Rotate, &s.keys.Delete, &s.keys.CheckAll} {
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
		if s.reauthAsk != nil {
			return s.updateReauthAsk(msg)
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
			s.reauthAsk, s.notice, s.actionErr = &p, "", nil
			s.setKeys()
		}
	case key.Matches(km, s.keys.Edit):
		if p, ok := s.selected(); ok {
			return s, emit(editRequestedMsg{Profile: p})
		}
	case key.Matches(km, s.keys.Rotate):
		if p, ok := s.selected(); ok {
			return s, emit(rotateRequestedMsg{Profile: p})
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
		return s, tea.Batch(deleteProfile(s.ctx, s.deps.Secrets, s.deps.ConfigDir, s.deleting, p), s.spinner.Tick)
	case key.Matches(km, s.keys.No):
		s.notice = "Nothing deleted: " + s.confirm.Name + " is kept."
		s.confirm = nil
		s.setKeys()
	}
	return s, nil
}

// updateReauthAsk answers "re-authorize?".
func (s homeScreen) updateReauthAsk(km tea.KeyPressMsg) (homeScreen, tea.Cmd) {
	switch {
	case key.Matches(km, s.keys.Yes):
		p := *s.reauthAsk
		s.reauthAsk = nil
		s.setKeys()
		return s, emit(reauthRequestedMsg{Profile: p})
	case key.Matches(km, s.keys.No):
		s.reauthAsk = nil
		s.setKeys()
	}
	return s, nil
}

// reauthQuestion says what a re-authorization of p does before it starts.
func reauthQuestion(p store.Profile) string {
	switch {
	case !p.Scenario.Delegated():
		return fmt.Sprintf("Re-authorize %s? It asks Entra for a new token with the stored credential; what is stored changes only if that works. y/n", p.Name)
	case p.Account != "":
		return fmt.Sprintf("Re-authorize %s? This opens the browser to sign in as %s; what is stored changes only if that works. y/n", p.Name, p.Account)
	}
	return fmt.Sprintf("Re-authorize %s? This opens the browser to sign in; what is stored changes only if that works. y/n", p.Name)
}

// checkAll checks every profile concurrently, as status does
// (flows.CheckAll), showing each result as it comes.
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
	check := checkAndRecord(s.deps.Env, s.deps.Secrets, s.deps.ConfigDir, s.deps.CommandPrefix)
	return s, tea.Batch(s.spinner.Tick, checkAllProfiles(ctx, s.batch, s.profiles, check))
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
		return s, waitForProfileCheck(msg.Next)
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
	s.notice = "Deleted " + msg.Profile.Name + " and its secrets. " + flows.RevokeAdvice(msg.Profile)
	return s, loadProfiles(s.deps.ConfigDir)
}

func (s homeScreen) selected() (store.Profile, bool) {
	if s.cursor < 0 || s.cursor >= len(s.profiles) {
		return store.Profile{}, false
	}
	return s.profiles[s.cursor], true
}

// homeColumns are the widths of the fixed columns of the wide layout; the
// name column is as wide as the longest name. Below that width the list is
// stacked: each profile's name on its own line, whole, its facts under it.
const (
	colState   = 31
	colChecked = 16
	colToken   = 11
	colRefresh = 14
	colCred    = 19
	colFixed   = 2 + colState + 1 + colChecked + 1 + colToken + 1 + colRefresh + 1 + colCred
)

// stacked reports whether the list is too wide for the terminal as a table.
func (s homeScreen) stacked() bool {
	name := len("NAME")
	for _, p := range s.profiles {
		name = max(name, ansi.StringWidth(p.Name))
	}
	return s.width < colFixed+name+1
}

// View renders the list (a table, or stacked on a narrow terminal), the
// selected profile in full, and what the last action left to read.
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
	if s.stacked() {
		b.WriteString(s.stackedRows(footer))
	} else {
		b.WriteString(s.tableRows(footer))
	}
	b.WriteString("\n" + footer)
	return b.String()
}

// tableRows is the wide layout: a header of plain words, a row each.
func (s homeScreen) tableRows(footer string) string {
	var b strings.Builder
	name := len("NAME")
	for _, p := range s.profiles {
		name = max(name, ansi.StringWidth(p.Name))
	}
	name = max(name, s.width-colFixed-1)
	row := func(cur, n, state, checked, token, refresh, cred string) string {
		return cur + pad(n, name) + " " + pad(state, colState) + " " + pad(checked, colChecked) + " " +
			pad(token, colToken) + " " + pad(refresh, colRefresh) + " " + truncate(cred, colCred)
	}
	b.WriteString(s.st.label.Render(row("  ", "NAME", "STATE", "LAST CHECKED", "TOKEN UNTIL", "SIGN-IN LAPSES", "SECRET/CERT EXPIRES")) + "\n")
	from, to := s.window(strings.Count(footer, "\n")+1, 1)
	for i := from; i < to; i++ {
		p := s.profiles[i]
		cells := []string{p.Name, stateLabel(p.LastState), checkedLabel(p), s.tokenLabel(p), refreshLabel(p), credentialLabel(p)}
		line := row("  ", cells[0], cells[1], cells[2], cells[3], cells[4], cells[5])
		if i == s.cursor {
			line = s.st.selected.Render(row("> ", cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]))
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// stackedRows is the narrow layout: the name whole on one line, the state
// and dates in words under it (wrapped, never cut), as many profiles
// around the cursor as fit.
func (s homeScreen) stackedRows(footer string) string {
	rows := make([]string, len(s.profiles))
	for i, p := range s.profiles {
		facts := []string{stateLabel(p.LastState), "checked " + checkedLabel(p)}
		if t := s.tokenLabel(p); t != "-" {
			facts = append(facts, "token until "+t)
		}
		if r := refreshLabel(p); r != "-" {
			facts = append(facts, "sign-in lapses "+r)
		}
		if c := credentialLabel(p); c != "-" {
			what := "secret"
			if p.Credential == store.CredentialCertificate {
				what = "certificate"
			}
			facts = append(facts, what+" expires "+c)
		}
		name := "  " + p.Name
		if i == s.cursor {
			name = s.st.selected.Render("> " + p.Name)
		}
		rows[i] = name + "\n" + paint(s.st.subtle, indent(wrap(strings.Join(facts, " · "), max(10, s.width-4)), "    "))
	}
	budget := len(rows) * 10
	if s.height > 0 {
		budget = max(2, s.height-3-(strings.Count(footer, "\n")+1))
	}
	from, to := fitWindow(rows, s.cursor, budget)
	return strings.Join(rows[from:to], "\n") + "\n"
}

// fitWindow picks the rows around cursor that fit in budget lines.
func fitWindow(rows []string, cursor, budget int) (from, to int) {
	height := func(r string) int { return strings.Count(r, "\n") + 1 }
	from, to = cursor, cursor+1
	used := height(rows[cursor])
	for {
		grew := false
		if to < len(rows) && used+height(rows[to]) <= budget {
			used += height(rows[to])
			to++
			grew = true
		}
		if from > 0 && used+height(rows[from-1]) <= budget {
			from--
			used += height(rows[from])
			grew = true
		}
		if !grew {
			return from, to
		}
	}
}

// window is the range of profiles that fits on screen around the cursor,
// each taking per lines: the title, header and footer take the rest.
func (s homeScreen) window(footerLines, per int) (from, to int) {
	rows := len(s.profiles)
	if s.height > 0 {
		rows = max(1, (s.height-4-footerLines)/per)
	}
	from = max(0, min(s.cursor-rows/2, len(s.profiles)-rows))
	return from, min(len(s.profiles), from+rows)
}

// footer is the selected profile in full, then the question, progress,
// notice or error of the last action.
func (s homeScreen) footer() string {
	var parts []string
	if p, ok := s.selected(); ok {
		parts = append(parts, paint(s.st.subtle, wrap(profileSummary(p), s.width)))
	}
	switch {
	case s.confirm != nil:
		p := s.confirm
		parts = append(parts, paint(s.st.warn, wrap(fmt.Sprintf("Delete profile %s (%s, %s) and its secrets? y/n", p.Name, p.Scenario, p.Account), s.width)))
	case s.reauthAsk != nil:
		parts = append(parts, paint(s.st.warn, wrap(reauthQuestion(*s.reauthAsk), s.width)))
	case s.deleting != 0:
		parts = append(parts, s.spinner.View()+" Deleting…")
	case s.batch != 0:
		parts = append(parts, s.spinner.View()+fmt.Sprintf(" checked %d/%d", s.checked, s.total))
	}
	if s.actionErr != nil {
		parts = append(parts, errorBlock(s.st, s.actionErr, s.width))
	}
	if s.notice != "" && s.confirm == nil && s.reauthAsk == nil {
		parts = append(parts, wrap(strings.TrimRight(s.notice, "\n"), s.width))
	}
	return strings.Join(parts, "\n")
}

// stateLabel is a state as its symbol and plain words.
func stateLabel(state string) string {
	if state == "" {
		state = string(flows.StateUnauthorized)
	}
	return flows.State(state).Symbol() + " " + flows.State(state).Words()
}

// checkedLabel is when the profile was last checked, in local time with
// its zone.
func checkedLabel(p store.Profile) string {
	if p.LastCheckedAt == nil {
		return "never"
	}
	return p.LastCheckedAt.Local().Format("Jan _2 15:04 MST")
}

// tokenLabel is when the access token of this session's last check
// expires.
func (s homeScreen) tokenLabel(p store.Profile) string {
	st := s.statuses[p.Name]
	if st == nil || st.TokenExpiresAt == nil {
		return "-"
	}
	return st.TokenExpiresAt.Local().Format("15:04 MST")
}

// refreshLabel is when a delegated profile's sign-in lapses if the
// profile is not used (its refresh token's inactivity lifetime).
func refreshLabel(p store.Profile) string {
	if !p.Scenario.Delegated() || p.RefreshRotatedAt == nil {
		return "-"
	}
	return p.RefreshRotatedAt.Local().Add(refreshLifetime).Format(time.DateOnly)
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
		lines = append(lines, wrap("Hint: "+keyHint(fe.Hint), width))
	}
	if fe.Code != "" && fe.Code != flows.CodeError {
		lines = append(lines, paint(st.subtle, wrap("Code: "+string(fe.Code), width)))
	}
	return strings.Join(lines, "\n")
}

// profileSummary is the selected profile in one sentence, leaving out what
// it does not have.
func profileSummary(p store.Profile) string {
	out := p.Name + ": " + string(p.Scenario)
	if p.Account != "" {
		out += ", " + p.Account
	}
	if p.Tenant != "" {
		out += ", tenant " + p.Tenant
	}
	if p.ClientID != "" {
		out += ", app " + p.ClientID
	}
	if p.From != "" {
		out += ", From " + p.From
	}
	if p.ReplyTo != "" {
		out += ", Reply-To " + p.ReplyTo
	}
	return out
}
