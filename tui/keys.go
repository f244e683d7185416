package tui

import "charm.land/bubbles/v2/key"

// Each screen has a keyMap of key.Bindings; the help bar at the bottom of
// every screen renders it through ShortHelp, and Update matches keys with
// key.Matches against the same bindings.

// rootKeys are the keys the root handles on every screen.
type rootKeys struct {
	// Interrupt quits, cancelling any running flow; it asks first when
	// something would be lost, and a second ctrl+c quits.
	Interrupt key.Binding
	// Help shows every key of the screen (? or f1; f1 only while typing).
	Help key.Binding
	// CloseHelp is any key, on the help overlay.
	CloseHelp key.Binding
	// Yes and No answer "quit?".
	Yes, No key.Binding
}

func newRootKeys() rootKeys {
	return rootKeys{
		Interrupt: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Help:      key.NewBinding(key.WithKeys("?", "f1"), key.WithHelp("?", "help")),
		CloseHelp: key.NewBinding(key.WithKeys("esc"), key.WithHelp("any key", "close the help")),
		Yes:       key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "quit")),
		No:        key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "stay")),
	}
}

// homeKeys are the keys of the profile list. Yes and No answer the delete
// confirmation, and are enabled only while it is asked. Edit opens the edit
// screen of the selected profile, Rotate its credential rotation.
type homeKeys struct {
	Up, Down, Open, CheckAll, Reauth, Edit, Rotate, Delete, New, Quit, Yes, No key.Binding
}

func newHomeKeys() homeKeys {
	return homeKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑↓", "move")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "status")),
		CheckAll: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "check all")),
		Reauth:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reauth")),
		Edit:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Rotate:   key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "rotate")),
		Delete:   key.NewBinding(key.WithKeys("x", "delete"), key.WithHelp("x", "delete")),
		New:      key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new")),
		Quit:     key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		Yes:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes"), key.WithDisabled()),
		No:       key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no"), key.WithDisabled()),
	}
}

// ShortHelp lists the keys for the help bar, most used first: an 80-column
// bar ends after New. The arrows (a list with a cursor) are in the full
// help only.
func (k homeKeys) ShortHelp() []key.Binding {
	if k.Yes.Enabled() {
		return []key.Binding{k.Yes, k.No}
	}
	return []key.Binding{k.Open, k.CheckAll, k.Reauth, k.Edit, k.Rotate, k.New, k.Delete, k.Quit}
}

// FullHelp lists the keys in one column, with longer words.
func (k homeKeys) FullHelp() [][]key.Binding {
	if k.Yes.Enabled() {
		return [][]key.Binding{k.ShortHelp()}
	}
	edit, rotate := k.Edit, k.Rotate
	edit.SetHelp("e", "edit permissions, account, From, Reply-To, scoping")
	rotate.SetHelp("R", "rotate the client secret or certificate (app-only)")
	return [][]key.Binding{{k.Up, k.Down, k.Open, k.CheckAll, k.Reauth, edit, rotate, k.New, k.Delete, k.Quit}}
}

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
	Next, Prev, Enter, Submit, Choose, Registration, Back, Quit key.Binding
}

func newDetailsKeys() detailsKeys {
	return detailsKeys{
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("↑↓", "move")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
		Enter:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next")),
		Submit: key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "submit")),
		Choose: key.NewBinding(key.WithKeys("left", "right", "space"), key.WithHelp("←/→", "choose")),
		// Letters type into the fields, so the checklist is on ctrl+g.
		Registration: key.NewBinding(key.WithKeys("ctrl+g"), key.WithHelp("ctrl+g", "app reg")),
		Back:         key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:         key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ShortHelp lists the keys for the help bar; Next's help covers Prev, and
// Choose replaces Enter on the credential choice, to fit 80 columns.
func (k detailsKeys) ShortHelp() []key.Binding {
	if k.Choose.Enabled() {
		return []key.Binding{k.Next, k.Choose, k.Submit, k.Registration, k.Back, k.Quit}
	}
	return []key.Binding{k.Next, k.Enter, k.Submit, k.Registration, k.Back, k.Quit}
}

// FullHelp lists every key in one column.
func (k detailsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Next, k.Prev, k.Choose, k.Enter, k.Submit, k.Registration, k.Back, k.Quit}}
}

// authorizeKeys are the keys of the sign-in screen. Retry is enabled only
// after a failure, Open only while waiting in the browser; Switch changes
// between the browser and a device code.
type authorizeKeys struct {
	Open, Copy, Switch, Retry, Back, Quit key.Binding
}

func newAuthorizeKeys() authorizeKeys {
	return authorizeKeys{
		Open:   key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open browser again")),
		Copy:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy URL"), key.WithDisabled()),
		Switch: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "device code")),
		Retry:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry"), key.WithDisabled()),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Quit:   key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp lists the keys for the help bar.
func (k authorizeKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Switch, k.Open, k.Copy, k.Retry, k.Back, k.Quit}
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

// doneKeys are the keys of the done screen; Script is for rbac profiles.
type doneKeys struct {
	Script, Quit key.Binding
}

func newDoneKeys() doneKeys {
	return doneKeys{
		Script: key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "PowerShell"), key.WithDisabled()),
		Quit:   key.NewBinding(key.WithKeys("enter", "q", "esc"), key.WithHelp("enter/q", "finish")),
	}
}

// ShortHelp lists the keys for the help bar.
func (k doneKeys) ShortHelp() []key.Binding { return []key.Binding{k.Script, k.Quit} }

// FullHelp lists the keys in one column.
func (k doneKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// registrationKeys are the keys of the registration checklist.
type registrationKeys struct {
	Up, Down, PageDown, PageUp, Continue, Back, Quit key.Binding
}

func newRegistrationKeys() registrationKeys {
	return registrationKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑↓", "scroll")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "space", "f"), key.WithHelp("pgdn", "page")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "page up")),
		Continue: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:     key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp lists the keys for the help bar; Up's help covers Down.
func (k registrationKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.PageDown, k.Continue, k.Back, k.Quit}
}

// FullHelp lists the keys in one column.
func (k registrationKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageDown, k.PageUp, k.Continue, k.Back, k.Quit}}
}

// appAuthKeys are the keys of the app-only authorization screen. Open is
// enabled while the consent page is awaited, Skip during the wait for the
// consent to apply, Retry after a failure.
type appAuthKeys struct {
	Open, Skip, Retry, Back, Quit key.Binding
}

func newAppAuthKeys() appAuthKeys {
	return appAuthKeys{
		Open:  key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open browser again"), key.WithDisabled()),
		Skip:  key.NewBinding(key.WithKeys("s", "enter"), key.WithHelp("s", "skip the wait"), key.WithDisabled()),
		Retry: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry"), key.WithDisabled()),
		Back:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Quit:  key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp lists the keys for the help bar.
func (k appAuthKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Skip, k.Retry, k.Back, k.Quit}
}

// FullHelp lists the keys in one column.
func (k appAuthKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// rbacKeys are the keys of the PowerShell screen. While a path is typed
// only Confirm and Cancel work.
type rbacKeys struct {
	Up, Down, PageDown, PageUp, Left, Right, Legacy, Save, Confirm, Cancel, Continue, Back, Check, Quit key.Binding
}

func newRBACKeys() rbacKeys {
	return rbacKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑↓", "scroll")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "space", "f"), key.WithHelp("pgdn", "page")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "page up")),
		Left:     key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←", "left")),
		Right:    key.NewBinding(key.WithKeys("right"), key.WithHelp("→", "right")),
		Legacy:   key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "legacy policy")),
		Save:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "save")),
		Confirm:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save"), key.WithDisabled()),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"), key.WithDisabled()),
		Continue: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Check:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "check the role now")),
		Quit:     key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp lists the keys for the help bar.
func (k rbacKeys) ShortHelp() []key.Binding {
	if k.Confirm.Enabled() {
		return []key.Binding{k.Confirm, k.Cancel}
	}
	return []key.Binding{k.Continue, k.Check, k.Save, k.Legacy, k.Up, k.Back, k.Quit}
}

// FullHelp lists the keys in one column.
func (k rbacKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageDown, k.PageUp, k.Left, k.Right, k.Legacy, k.Save, k.Check, k.Continue, k.Back, k.Quit}}
}

// statusKeys are the keys of a stored profile's status screen. While the
// test address is typed only Send and Cancel work.
type statusKeys struct {
	Check, TestSend, Reauth, Script, Back, Quit, Send, Cancel key.Binding
}

func newStatusKeys() statusKeys {
	return statusKeys{
		Check:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "check again")),
		TestSend: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "test message")),
		Reauth:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-authorize")),
		Script:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "PowerShell"), key.WithDisabled()),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:     key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		Send:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "check and send"), key.WithDisabled()),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"), key.WithDisabled()),
	}
}

// ShortHelp lists the keys for the help bar.
func (k statusKeys) ShortHelp() []key.Binding {
	if k.Send.Enabled() {
		return []key.Binding{k.Send, k.Cancel}
	}
	return []key.Binding{k.Check, k.TestSend, k.Reauth, k.Script, k.Back, k.Quit}
}

// FullHelp lists the keys in one column.
func (k statusKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// editKeys are the keys of the edit screen. Letters type into the fields,
// so quitting is ctrl+c only; Yes and No answer "apply this change?".
type editKeys struct {
	Next, Prev, Enter, Submit, Choose, Back, Quit, Yes, No key.Binding
}

func newEditKeys() editKeys {
	return editKeys{
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("↑↓", "move")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
		Enter:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next")),
		Submit: key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "review")),
		Choose: key.NewBinding(key.WithKeys("left", "right", "space"), key.WithHelp("←/→", "choose"), key.WithDisabled()),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back, change nothing")),
		Quit:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Yes:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "apply"), key.WithDisabled()),
		No:     key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "change it"), key.WithDisabled()),
	}
}

// ShortHelp lists the keys for the help bar.
func (k editKeys) ShortHelp() []key.Binding {
	if k.Yes.Enabled() {
		return []key.Binding{k.Yes, k.No}
	}
	if k.Choose.Enabled() {
		return []key.Binding{k.Next, k.Choose, k.Submit, k.Back, k.Quit}
	}
	return []key.Binding{k.Next, k.Enter, k.Submit, k.Back, k.Quit}
}

// FullHelp lists every key in one column.
func (k editKeys) FullHelp() [][]key.Binding {
	if k.Yes.Enabled() {
		return [][]key.Binding{k.ShortHelp()}
	}
	return [][]key.Binding{{k.Next, k.Prev, k.Choose, k.Enter, k.Submit, k.Back, k.Quit}}
}

// rotateKeys are the keys of the rotation screen. While a new certificate
// is awaited esc stops waiting (Stop); once it is over Done goes back.
type rotateKeys struct {
	Next, Prev, Enter, Submit, Choose, Stop, Back, Done, Quit key.Binding
}

func newRotateKeys() rotateKeys {
	return rotateKeys{
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("↑↓", "move")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
		Enter:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next")),
		Submit: key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "verify and switch")),
		Choose: key.NewBinding(key.WithKeys("left", "right", "space"), key.WithHelp("←/→", "choose"), key.WithDisabled()),
		Stop:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "stop waiting, change nothing"), key.WithDisabled()),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back, change nothing")),
		Done:   key.NewBinding(key.WithKeys("enter", "esc"), key.WithHelp("enter", "back to the list"), key.WithDisabled()),
		Quit:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ShortHelp lists the keys for the help bar.
func (k rotateKeys) ShortHelp() []key.Binding {
	switch {
	case k.Done.Enabled():
		return []key.Binding{k.Done, k.Quit}
	case k.Stop.Enabled():
		return []key.Binding{k.Stop, k.Quit}
	case k.Choose.Enabled():
		return []key.Binding{k.Next, k.Choose, k.Submit, k.Back, k.Quit}
	}
	return []key.Binding{k.Next, k.Enter, k.Submit, k.Back, k.Quit}
}

// FullHelp lists every key in one column.
func (k rotateKeys) FullHelp() [][]key.Binding {
	if k.Done.Enabled() || k.Stop.Enabled() {
		return [][]key.Binding{k.ShortHelp()}
	}
	return [][]key.Binding{{k.Next, k.Prev, k.Choose, k.Enter, k.Submit, k.Back, k.Quit}}
}
