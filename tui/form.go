package tui

import (
	"slices"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// The edit and rotation screens are small forms over one slice of
// textinput.Models, indexed by their own field type; these helpers are
// their shared navigation and validation. (The details form does the same
// by hand, with more cases: a credential check in a command, cross checks.)

// formNav are the navigation keys of a form.
type formNav struct {
	next, prev, enter, submit key.Binding
}

// navigate says what a key does in a form of fields fs focused on focus:
// move to another field (to), submit (enter on the last field, or the
// submit key), or nothing of the kind (handled false).
func navigate[F comparable](fs []F, focus F, km tea.KeyPressMsg, k formNav) (to F, submit, handled bool) {
	at := max(0, slices.Index(fs, focus))
	switch {
	case key.Matches(km, k.submit):
		return focus, true, true
	case key.Matches(km, k.enter):
		if at == len(fs)-1 {
			return focus, true, true
		}
		return fs[at+1], false, true
	case key.Matches(km, k.next):
		return fs[(at+1)%len(fs)], false, true
	case key.Matches(km, k.prev):
		return fs[(at+len(fs)-1)%len(fs)], false, true
	}
	return focus, false, false
}

// firstInvalid validates the fields fs (setting each one's Err, so the
// error shows under it) and returns the first that fails.
func firstInvalid[F ~int](fs []F, inputs []textinput.Model) (F, bool) {
	for _, f := range fs {
		in := &inputs[f]
		if in.Validate == nil {
			continue
		}
		if in.Err = in.Validate(in.Value()); in.Err != nil {
			return f, true
		}
	}
	return 0, false
}
