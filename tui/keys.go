package tui

import "charm.land/bubbles/v2/key"

// Each screen has a keyMap of key.Bindings; the help bar at the bottom of
// every screen renders it through ShortHelp, and Update matches keys with
// key.Matches against the same bindings.

// rootKeys are the keys the root handles on every screen.
type rootKeys struct {
	// Interrupt quits at once, cancelling any running flow.
	Interrupt key.Binding
}

func newRootKeys() rootKeys {
	return rootKeys{Interrupt: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit"))}
}

// homeKeys are the keys of the profile list.
type homeKeys struct {
	Up, Down, Check, New, Reauth, Quit key.Binding
}

func newHomeKeys() homeKeys {
	return homeKeys{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Check:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "check")),
		New:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new")),
		Reauth: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-authorize")),
		Quit:   key.NewBinding(key.WithKeys("q", "esc"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp lists the keys for the help bar.
func (k homeKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Check, k.New, k.Reauth, k.Quit}
}

// FullHelp lists the keys in one column.
func (k homeKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// chooserKeys are the keys of the scenario chooser.
type chooserKeys struct {
	Up, Down, Choose, Back, Quit key.Binding
}

func newChooserKeys() chooserKeys {
	return chooserKeys{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Choose: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose")),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:   key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp lists the keys for the help bar.
func (k chooserKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Choose, k.Back, k.Quit}
}

// FullHelp lists the keys in one column.
func (k chooserKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// detailsKeys are the keys of the details form. Letters type into the
// fields, so quitting is ctrl+c only.
type detailsKeys struct {
	Next, Prev, Enter, Submit, Back, Quit key.Binding
}

func newDetailsKeys() detailsKeys {
	return detailsKeys{
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↑↓", "move")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
		Enter:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next/submit")),
		Submit: key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "submit")),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ShortHelp lists the keys for the help bar; Next's help covers Prev, to
// fit 80 columns.
func (k detailsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Next, k.Enter, k.Submit, k.Back, k.Quit}
}

// FullHelp lists every key in one column.
func (k detailsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Next, k.Prev, k.Enter, k.Submit, k.Back, k.Quit}}
}

// authorizeKeys are the keys of the browser sign-in screen. Retry is enabled
// only after a failure, Open only while waiting.
type authorizeKeys struct {
	Open, Retry, Back, Quit key.Binding
}

func newAuthorizeKeys() authorizeKeys {
	return authorizeKeys{
		Open:  key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open browser again")),
		Retry: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry"), key.WithDisabled()),
		Back:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Quit:  key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp lists the keys for the help bar.
func (k authorizeKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Retry, k.Back, k.Quit}
}

// FullHelp lists the keys in one column.
func (k authorizeKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// checkKeys are the keys of the check screen; they are enabled once the
// check has finished.
type checkKeys struct {
	Retry, Back, Quit key.Binding
}

func newCheckKeys() checkKeys {
	return checkKeys{
		Retry: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "sign in again")),
		Back:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:  key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp lists the keys for the help bar.
func (k checkKeys) ShortHelp() []key.Binding { return []key.Binding{k.Retry, k.Back, k.Quit} }

// FullHelp lists the keys in one column.
func (k checkKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// doneKeys are the keys of the done screen.
type doneKeys struct {
	Quit key.Binding
}

func newDoneKeys() doneKeys {
	return doneKeys{Quit: key.NewBinding(key.WithKeys("enter", "q", "esc"), key.WithHelp("enter/q", "finish"))}
}

// ShortHelp lists the keys for the help bar.
func (k doneKeys) ShortHelp() []key.Binding { return []key.Binding{k.Quit} }

// FullHelp lists the keys in one column.
func (k doneKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }
