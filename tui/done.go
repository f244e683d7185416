package tui

import (
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// doneScreen says what was authorized, where the secret is kept, when the
// credential expires and how a script uses the profile.
type doneScreen struct {
	st      styles
	keys    doneKeys
	width   int
	height  int
	profile store.Profile
	status  *flows.Status
	service string
	prefix  string
	// secretsFile is the encrypted file, for a profile kept there.
	secretsFile string
	// script is how a script on this machine runs mailgrant for the profile.
	script ScriptHint
	// certPath is where a new certificate's public part was written.
	certPath string
	// uploadable is true when a new certificate must still be uploaded
	// (outside the sandbox).
	uploadable bool
	// consentLate is true when an admin consented but the wait for the
	// consent to reach the token ended first.
	consentLate bool
}

// ScriptHint says how a script or cron job on this machine runs mailgrant
// for a profile; cmd builds it from where the profile's secrets were stored
// and the flags in force.
type ScriptHint struct {
	// Prefix starts each command, e.g. "mailgrant --sandbox", or for the
	// encrypted file "MAILGRANT_PASSPHRASE_FILE=/path mailgrant".
	Prefix string
	// Prepare, when set, is a command to run once first, such as creating
	// the passphrase file; PrepareNote says what it does.
	Prepare string
	// PrepareNote completes "Once, …:" before Prepare.
	PrepareNote string
}

func newDoneScreen(st styles, d Deps, p store.Profile, status *flows.Status, certPath string) doneScreen {
	s := doneScreen{st: st, keys: newDoneKeys(), profile: p, status: status, service: d.ServiceName, prefix: d.CommandPrefix,
		secretsFile: filepath.Join(d.ConfigDir, store.SecretsFile), script: ScriptHint{Prefix: d.CommandPrefix},
		certPath: certPath, uploadable: certPath != "" && d.UploadCertificate == nil}
	if d.Script != nil {
		s.script = d.Script(p)
	}
	s.keys.Script.SetEnabled(p.Scenario == store.RBAC)
	s.setSize(80, 0)
	return s
}

// setSize gives the width, and the height (0: any) past which the steps are
// shown without their details.
func (s *doneScreen) setSize(w, h int) { s.width, s.height = w, h }

// outcome is how the wizard ends from here: completed, with the status's
// error when the profile was saved but is not authorized yet.
func (s doneScreen) outcome() Outcome {
	out := Outcome{Completed: true, Profile: s.profile.Name}
	if s.status != nil && s.status.State != flows.StateAuthorized && s.status.Error != nil {
		out.Err = s.status.Error
	}
	return out
}

// Update finishes on enter or q, and shows the PowerShell on p (rbac).
func (s doneScreen) Update(msg tea.Msg) (doneScreen, tea.Cmd) {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return s, nil
	}
	switch {
	case key.Matches(km, s.keys.Script):
		return s, emit(rbacScriptRequestedMsg{Profile: s.profile})
	case key.Matches(km, s.keys.Quit):
		return s, emit(finishedMsg{})
	}
	return s, nil
}

// View renders the summary. When it is taller than the room, the steps
// lose their details (the status screen has them); when it still is, the
// steps and the secondary lines go, so that where the secret is and the
// command a script runs stay on screen. Commands are never wrapped (the
// terminal wraps them, and they stay copyable); their rows are counted.
func (s doneScreen) View() string {
	if s.profile.Name == "" {
		return ""
	}
	var v string
	for level := range 3 {
		v = s.view(level)
		if s.height <= 0 || s.rows(v) <= s.height {
			break
		}
	}
	return v
}

// rows is how many terminal rows v takes at the screen's width.
func (s doneScreen) rows(v string) int {
	n := 0
	for _, l := range strings.Split(strings.TrimRight(v, "\n"), "\n") {
		n += max(1, (ansi.StringWidth(l)+s.width-1)/max(1, s.width))
	}
	return n
}

// view renders the summary at a level of detail: 0 all, 1 steps without
// details, 2 no steps and only the token command.
func (s doneScreen) view(level int) string {
	p := s.profile
	var b strings.Builder
	who := "as " + p.Account
	if !p.Scenario.Delegated() {
		who = "(" + string(p.Scenario) + ")"
	}
	switch {
	case s.status == nil || s.status.State == flows.StateAuthorized:
		b.WriteString(paint(s.st.ok, wrap("✓ Authorized "+p.Name+" "+who, s.width)) + "\n")
	default:
		// Saved, but not working yet (an rbac profile waiting for its
		// Exchange role, consent still to be granted): never "Authorized".
		b.WriteString(paint(s.st.warn, wrap(s.status.State.Symbol()+" Saved "+p.Name+" "+who+": "+s.status.State.Words(), s.width)) + "\n")
	}
	if p.Scenario == store.SendAsAny {
		b.WriteString(paint(s.st.warn, wrap("! This app can send as EVERY mailbox in the organization. Keep its credential safe; rbac can restrict it.", s.width)) + "\n")
	}
	switch {
	case s.consentLate && s.status != nil && s.status.State == flows.StateConsentMissing:
		// The admin did consent: the advice is to wait, not to consent.
		b.WriteString(paint(s.st.warn, wrap("! The admin consent has not reached the app's tokens yet: Entra can take several minutes to apply it. Check again later with:", s.width)) + "\n")
		b.WriteString(s.codeLines("    ", s.statusCommand()) + "\n")
	case s.status != nil && s.status.State != flows.StateAuthorized && s.status.Error != nil:
		b.WriteString(paint(s.st.warn, wrap("! Saved, but the profile is "+string(s.status.State)+": "+s.status.Error.Message+".", s.width)) + "\n")
		if s.status.Error.Hint != "" {
			hint := "Hint: " + s.status.Error.Hint
			if !strings.Contains(s.status.Error.Hint, " status ") {
				hint += "; then run " + s.prefix + " status " + p.Name
			}
			b.WriteString(wrap(hint, s.width) + "\n")
		}
	}
	if s.status != nil && len(s.status.Steps) > 0 && level < 2 {
		b.WriteString("\n")
		for _, step := range s.status.Steps {
			if level > 0 {
				step.Detail = ""
			}
			b.WriteString(stepLine(s.st, step, s.width) + "\n")
		}
	}
	heading, kept := s.keptLines()
	if level < 2 {
		kept = append(kept, "profiles.json holds the settings, never a secret")
	}
	b.WriteString("\n" + s.st.label.Render(heading) + "\n")
	for _, l := range kept {
		b.WriteString(indent(wrap(l, s.width-2), "  ") + "\n")
	}
	b.WriteString("\n" + s.st.label.Render("How a script uses it") + "\n")
	if s.script.Prepare != "" {
		b.WriteString(indent(wrap("Once, "+s.script.PrepareNote+":", s.width-2), "  ") + "\n")
		b.WriteString(s.codeLines("    ", s.script.Prepare) + "\n")
	}
	cmds := [][2]string{
		{s.script.Prefix + " token " + p.Name, "prints a fresh access token"},
	}
	if level < 2 {
		cmds = append(cmds, [2]string{s.statusCommand(), "checks the authorization still works"})
		if p.Scenario == store.RBAC {
			cmds = append(cmds, [2]string{s.prefix + " rbac-script " + p.Name, "prints the Exchange PowerShell"})
		}
	}
	w := 0
	for _, c := range cmds {
		w = max(w, len(c[0]))
	}
	for _, c := range cmds {
		line := "  " + s.st.code.Render(pad(c[0], w)) + "  " + s.st.subtle.Render(c[1])
		if 2+w+2+len(c[1]) > s.width {
			line = s.codeLines("  ", c[0])
			if level < 2 {
				line += "\n    " + s.st.subtle.Render(c[1])
			}
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// statusCommand checks the profile, with the flags in force and, for the
// encrypted file, its passphrase.
func (s doneScreen) statusCommand() string { return s.script.Prefix + " status " + s.profile.Name }

// codeLines renders a shell command at indent, in as many lines as the
// width needs (see shellLines), so that no line is cut by the terminal and
// the lines pasted into a shell are the one command.
func (s doneScreen) codeLines(indent, cmd string) string {
	lines := shellLines(cmd, len(indent), s.width)
	for i, l := range lines {
		if i == 0 || strings.HasPrefix(l, " ") {
			lines[i] = indent + s.st.code.Render(l)
		} else {
			lines[i] = s.st.code.Render(l) // inside a word: no indent, or the shell would split it
		}
	}
	return strings.Join(lines, "\n")
}

// shellLines lays out a shell command, to be shown after indent cells, in
// lines that fit width: every line but the last ends in " \" or "\" (a
// line continuation), so that pasted into a shell the lines are the one
// command. Lines break between words, and the next line is indented by two
// spaces; a word too long for a line is split inside it, and its next line
// starts at the left edge (the shell joins the two halves). Single-quoted
// text is never split: a backslash means nothing inside it.
func shellLines(cmd string, indent, width int) []string {
	room := width - indent - 2 // " \"
	if width <= 0 || indent+ansi.StringWidth(cmd) <= width || room < 8 {
		return []string{cmd}
	}
	var words []string
	var cur strings.Builder
	quoted, escaped := false, false
	for _, r := range cmd {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && !quoted:
			escaped = true
		case r == '\'':
			quoted = !quoted
		case r == ' ' && !quoted:
			words = append(words, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	words = append(words, cur.String())
	var lines []string
	line := ""
	for _, w := range words {
		switch {
		case line == "" || line == "  ":
			line += w
		case ansi.StringWidth(line)+1+ansi.StringWidth(w) <= room:
			line += " " + w
		default:
			lines = append(lines, line+" \\")
			line = "  " + w
		}
		// A word longer than a line: split it where no quote is open.
		for ansi.StringWidth(line) > room+1 && !strings.Contains(line, "'") {
			cut := room + 1
			lines = append(lines, line[:cut]+"\\")
			line = line[cut:]
		}
	}
	return append(lines, line)
}

// keptLines name the credential kind (the heading) and say where the
// profile's secrets are (the keyring service and items, or the encrypted
// file), as the saved profile records it, and when its credential expires.
func (s doneScreen) keptLines() (string, []string) {
	p := s.profile
	where := func(k store.Kind) string {
		if p.SecretsStore() == store.BackendFile {
			return "encrypted file " + s.secretsFile + ", item " + p.Name + "/" + string(k)
		}
		return "OS keyring, service " + s.service + ", item " + p.Name + "/" + string(k)
	}
	switch {
	case p.Scenario.Delegated():
		lines := []string{where(store.KindRefreshToken)}
		if p.Credential == store.CredentialSecret {
			lines = append(lines, "and the client secret, item "+p.Name+"/"+string(store.KindClientSecret))
		}
		return "Where the refresh token is kept", lines
	case p.Credential == store.CredentialCertificate:
		lines := []string{where(store.KindCertificateKey)}
		exp := "certificate " + p.CertificateThumbprint
		if p.CredentialExpiresAt != nil {
			exp += ", expires " + p.CredentialExpiresAt.Local().Format(time.DateOnly)
		}
		lines = append(lines, exp)
		if s.certPath != "" {
			public := "public part in " + s.certPath
			if s.uploadable {
				public += " — upload it to the app registration if you have not"
			}
			lines = append(lines, public)
		}
		return "Where the certificate's private key is kept", lines
	}
	lines := []string{where(store.KindClientSecret)}
	if p.CredentialExpiresAt != nil {
		lines = append(lines, "the secret expires "+p.CredentialExpiresAt.Local().Format(time.DateOnly))
	}
	return "Where the client secret is kept", lines
}
