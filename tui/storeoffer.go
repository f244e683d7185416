package tui

import (
	"crypto/rand"
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// StoreOffer is the keyring check the wizard runs after its first frame
// (so the keyring never delays it), and the encrypted file it offers, as a
// screen, when the keyring does not work. It never switches silently.
type StoreOffer struct {
	// Probe checks that the keyring works; its error says why not.
	Probe func() error
	// Path is the encrypted file's path.
	Path string
	// Passphrase is the one set in the environment (MAILGRANT_PASSPHRASE
	// or its file), if any: then none is asked.
	Passphrase string
	// Open opens or creates the encrypted file with a passphrase.
	Open func(passphrase string) (store.Secrets, error)
	// FilePrefix starts the commands shown once the file is chosen (it
	// names --store file).
	FilePrefix string
	// Exists is true when the encrypted file already exists: its own
	// passphrase is asked, once, with no minimum (it may predate the
	// minimum), and none is generated.
	Exists bool
}

// ErrNoUsableStore is the outcome when the keyring does not work and the
// encrypted file was declined.
var ErrNoUsableStore = &flows.Error{Code: flows.CodeNoStore, State: flows.StateError,
	Message: "no usable place to keep secrets: the OS keyring does not work and the encrypted file was declined",
	Hint:    "fix the keyring (see above), or run with --store file"}

// minPassphrase is the shortest passphrase accepted for the encrypted file.
const minPassphrase = 12

// storeProbedMsg reports the keyring probe; Err says why it does not work.
type storeProbedMsg struct{ Err error }

// storeOpenedMsg reports that the encrypted file was opened (Secrets) or
// why not (Err).
type storeOpenedMsg struct {
	Secrets store.Secrets
	Err     error
}

// passphraseMadeMsg carries a generated passphrase.
type passphraseMadeMsg struct{ Passphrase string }

// probeStore runs the keyring probe.
func probeStore(probe func() error) tea.Cmd {
	return func() tea.Msg { return storeProbedMsg{Err: probe()} }
}

// openFileStore opens the encrypted file.
func openFileStore(open func(string) (store.Secrets, error), pass string) tea.Cmd {
	return func() tea.Msg {
		s, err := open(pass)
		return storeOpenedMsg{Secrets: s, Err: err}
	}
}

// makePassphrase generates a passphrase of 24 letters and digits (about
// 120 bits) in groups of four, easy to type and to keep.
func makePassphrase() tea.Msg {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	var out strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return passphraseMadeMsg{Passphrase: out.String()}
}

// storeKeys are the keys of the keyring offer.
type storeKeys struct {
	UseFile, Decline, Next, Generate, Back key.Binding
}

func newStoreKeys() storeKeys {
	return storeKeys{
		UseFile:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "use the encrypted file")),
		Decline:  key.NewBinding(key.WithKeys("n", "q"), key.WithHelp("n/q", "quit and fix the keyring")),
		Next:     key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter", "next"), key.WithDisabled()),
		Generate: key.NewBinding(key.WithKeys("ctrl+g"), key.WithHelp("ctrl+g", "generate one"), key.WithDisabled()),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back"), key.WithDisabled()),
	}
}

// ShortHelp lists the keys for the help bar.
func (k storeKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.UseFile, k.Decline, k.Next, k.Generate, k.Back}
}

// FullHelp lists the keys in one column.
func (k storeKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// storeScreen explains why the keyring cannot be used and offers the
// encrypted file, asking for a passphrase of at least minPassphrase
// characters (twice) or generating one.
type storeScreen struct {
	st    styles
	keys  storeKeys
	width int
	offer *StoreOffer
	// probeErr is why the keyring does not work.
	probeErr error
	// back is the step the offer interrupted.
	back step
	// asking is true while the passphrase is typed; generated is a
	// passphrase made for the admin, shown once.
	asking    bool
	inputs    [2]textinput.Model
	focus     int
	generated string
	opening   bool
	err       error
}

func newStoreScreen(st styles, offer *StoreOffer) storeScreen {
	s := storeScreen{st: st, keys: newStoreKeys(), offer: offer}
	for i, prompt := range []string{"Passphrase:       ", "Passphrase again: "} {
		in := textinput.New()
		in.Prompt = prompt
		in.SetStyles(inputStyles())
		in.EchoMode = textinput.EchoPassword
		in.EchoCharacter = '•'
		in.CharLimit = 1024
		s.inputs[i] = in
	}
	return s
}

func (s *storeScreen) setSize(w int) {
	s.width = w
	for i := range s.inputs {
		s.inputs[i].SetWidth(max(10, w-20))
	}
}

// probe starts the keyring check, if there is one to run.
func (s storeScreen) probe() tea.Cmd {
	if s.offer == nil || s.offer.Probe == nil {
		return nil
	}
	return probeStore(s.offer.Probe)
}

// show offers the file after a failed probe, interrupting step back.
func (s storeScreen) show(err error, back step) storeScreen {
	s.probeErr, s.back = err, back
	s.asking, s.opening, s.err, s.generated = false, false, nil, ""
	s.setKeys()
	return s
}

func (s storeScreen) typing() bool { return s.asking && s.generated == "" }

func (s *storeScreen) setKeys() {
	s.keys.UseFile.SetEnabled(!s.asking && !s.opening)
	s.keys.Decline.SetEnabled(!s.asking && !s.opening)
	s.keys.Next.SetEnabled(s.asking && !s.opening)
	s.keys.Generate.SetEnabled(s.asking && !s.opening && s.generated == "" && (s.offer == nil || !s.offer.Exists))
	s.keys.Back.SetEnabled(s.asking && !s.opening)
	if s.generated != "" {
		s.keys.Next.SetHelp("enter", "use this passphrase")
	} else {
		s.keys.Next.SetHelp("enter", "next")
	}
}

// Update answers the offer and takes the passphrase.
func (s storeScreen) Update(msg tea.Msg) (storeScreen, tea.Cmd) {
	switch msg := msg.(type) {
	case passphraseMadeMsg:
		if s.asking {
			s.generated, s.err = msg.Passphrase, nil
			s.setKeys()
		}
		return s, nil
	case tea.KeyPressMsg:
		return s.updateKeys(msg)
	}
	if s.typing() {
		var cmd tea.Cmd
		s.inputs[s.focus], cmd = s.inputs[s.focus].Update(msg)
		return s, cmd
	}
	return s, nil
}

func (s storeScreen) updateKeys(km tea.KeyPressMsg) (storeScreen, tea.Cmd) {
	if s.offer == nil || s.opening {
		return s, nil
	}
	switch {
	case key.Matches(km, s.keys.UseFile):
		if s.offer.Passphrase != "" {
			s.opening = true
			s.setKeys()
			return s, openFileStore(s.offer.Open, s.offer.Passphrase)
		}
		s.asking, s.focus, s.err = true, 0, nil
		s.setKeys()
		return s, s.inputs[0].Focus()
	case key.Matches(km, s.keys.Decline):
		return s, emit(storeDeclinedMsg{})
	case key.Matches(km, s.keys.Back):
		s.asking, s.generated, s.err = false, "", nil
		for i := range s.inputs {
			s.inputs[i].Blur()
			s.inputs[i].SetValue("")
		}
		s.setKeys()
		return s, nil
	case key.Matches(km, s.keys.Generate) && !s.offer.Exists:
		return s, makePassphrase
	case key.Matches(km, s.keys.Next):
		return s.next()
	}
	if s.typing() {
		var cmd tea.Cmd
		s.inputs[s.focus], cmd = s.inputs[s.focus].Update(km)
		return s, cmd
	}
	return s, nil
}

// next moves to the second field, or checks and opens the file.
func (s storeScreen) next() (storeScreen, tea.Cmd) {
	pass := s.generated
	if pass == "" && s.offer.Exists {
		pass = s.inputs[0].Value()
		if pass == "" {
			s.err = &flows.InputError{Field: "passphrase", Problem: "is empty", Hint: "type the passphrase the encrypted file was created with"}
			return s, nil
		}
	}
	if pass == "" {
		first := s.inputs[0].Value()
		if len([]rune(first)) < minPassphrase {
			s.err = &flows.InputError{Field: "passphrase", Problem: "is shorter than 12 characters", Hint: "type a longer one, or press ctrl+g to generate one"}
			return s, nil
		}
		if s.focus == 0 {
			s.inputs[0].Blur()
			s.focus, s.err = 1, nil
			return s, s.inputs[1].Focus()
		}
		if s.inputs[1].Value() != first {
			s.err = &flows.InputError{Field: "passphrase", Problem: "the two passphrases differ", Hint: "type the same passphrase twice"}
			s.inputs[1].SetValue("")
			return s, nil
		}
		pass = first
	}
	s.opening, s.err = true, nil
	s.setKeys()
	return s, openFileStore(s.offer.Open, pass)
}

// opened shows why the file could not be opened.
func (s storeScreen) opened(err error) storeScreen {
	s.opening = false
	s.err = err
	s.setKeys()
	return s
}

// View explains the problem, the trade-off, and asks.
func (s storeScreen) View() string {
	if s.offer == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(s.st.title.Render("The OS keyring cannot be used") + "\n\n")
	if s.probeErr != nil {
		b.WriteString(paint(s.st.bad, wrap("✗ "+s.probeErr.Error(), s.width)) + "\n")
		var ke *store.KeyringError
		if errors.As(s.probeErr, &ke) && ke.Hint != "" {
			b.WriteString(wrap("To fix it: "+ke.Hint, s.width) + "\n")
		}
	}
	b.WriteString("\n" + wrap("mailgrant can keep the secrets in an encrypted file instead:", s.width) + "\n")
	b.WriteString("  " + s.offer.Path + "\n")
	b.WriteString(paint(s.st.subtle, wrap("Trade-off: the file is protected only by its passphrase. Anyone with the file and the passphrase has the secrets, and scripts need the passphrase too: mailgrant remembers that the profile uses the file, and a script gives the passphrase in a file only its user can read (MAILGRANT_PASSPHRASE_FILE) or as a systemd credential. mailgrant move PROFILE --store keyring moves it back later.", s.width)) + "\n\n")
	switch {
	case s.opening:
		b.WriteString(s.st.subtle.Render("Opening the encrypted file…"))
	case s.generated != "":
		b.WriteString(wrap("Generated passphrase — write it down now; it is shown only here:", s.width) + "\n\n")
		b.WriteString("    " + s.st.code.Render(s.generated) + "\n\n")
		b.WriteString(paint(s.st.subtle, wrap("Press enter to use it, or esc to type your own.", s.width)))
	case s.asking && s.offer.Exists:
		b.WriteString(wrap("The encrypted file exists: type its passphrase.", s.width) + "\n\n")
		b.WriteString(s.inputs[0].View())
	case s.asking:
		b.WriteString(wrap("Choose a passphrase of at least 12 characters, or press ctrl+g to generate one.", s.width) + "\n\n")
		b.WriteString(s.inputs[0].View() + "\n" + s.inputs[1].View())
	default:
		b.WriteString(s.st.label.Render("Use the encrypted file? y/n"))
	}
	if s.err != nil {
		b.WriteString("\n" + fieldError(s.st, s.err, s.width))
	}
	return b.String()
}

// storeDeclinedMsg reports that the admin declined the encrypted file.
type storeDeclinedMsg struct{}

// updateStore handles the probe, the opened file and the refusal.
func (m Model) updateStore(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case storeProbedMsg:
		if msg.Err == nil || m.deps.Store == nil {
			return m, nil
		}
		if !m.step.interruptible() {
			m.pendingProbe = msg.Err
			return m, nil
		}
		back := m.step
		m.storeCheck = m.storeCheck.show(msg.Err, back)
		m.step = stepStore
		return m, nil
	case storeOpenedMsg:
		if msg.Err != nil {
			m.storeCheck = m.storeCheck.opened(msg.Err)
			return m, nil
		}
		m.deps.Secrets = msg.Secrets
		m.home.deps.Secrets = msg.Secrets
		if m.deps.Store.FilePrefix != "" {
			m.deps.CommandPrefix = m.deps.Store.FilePrefix
			m.home.deps.CommandPrefix = m.deps.Store.FilePrefix
			m.details.prefix = m.deps.Store.FilePrefix
		}
		m.step = m.storeCheck.back
		m.storeCheck = newStoreScreen(m.styles, m.deps.Store)
		m.storeCheck.setSize(m.width)
		if m.step == stepHome && m.home.loaded && m.home.err == nil && !m.hasProfiles {
			return m.toChooser() // the list is empty: start where it would have
		}
		return m, nil
	case passphraseMadeMsg:
		var cmd tea.Cmd
		m.storeCheck, cmd = m.storeCheck.Update(msg)
		return m, cmd
	}
	return m, nil
}
