package store

import (
	"errors"
	"fmt"
)

// MoveError says which step of a move failed. Before the commit nothing the
// profile uses has changed: its secrets are still where they were, and
// whatever was copied has been removed from the target again.
type MoveError struct {
	// Step is copy, verify, commit or cleanup.
	Step string
	// Item is the secret concerned, "<profile>/<kind>", if any.
	Item string
	// Err is what failed.
	Err error
}

func (e *MoveError) Error() string {
	if e.Item == "" {
		return fmt.Sprintf("%s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Step, e.Item, e.Err)
}

// Unwrap returns what failed.
func (e *MoveError) Unwrap() error { return e.Err }

// Move moves every secret of profile from src to dst. It copies each kind
// src holds, reads each copy back and compares it, removes from dst the
// kinds src does not hold (left from an earlier attempt), and only then
// calls commit, which records that the profile now uses dst. If any of
// that fails, the copies are removed from dst and src is untouched. After a
// successful commit the originals are deleted from src; a failure there is
// returned as a *MoveError with Step "cleanup", the move itself being done.
// moved lists the kinds that were moved.
//
// The caller holds the profile's lock, so that no refresh stores a rotated
// token in src while the move runs.
func Move(src, dst Secrets, profile string, commit func() error) (moved []Kind, err error) {
	values := map[Kind]string{}
	for _, k := range Kinds {
		v, err := src.Get(profile, k)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return nil, &MoveError{Step: "read", Item: itemName(profile, k), Err: err}
		}
		values[k] = v
		moved = append(moved, k)
	}
	undo := func() {
		for _, k := range Kinds {
			_ = dst.Delete(profile, k)
		}
	}
	for _, k := range Kinds {
		v, ok := values[k]
		if !ok {
			if err := dst.Delete(profile, k); err != nil {
				undo()
				return nil, &MoveError{Step: "copy", Item: itemName(profile, k), Err: err}
			}
			continue
		}
		if err := dst.Set(profile, k, v); err != nil {
			undo()
			return nil, &MoveError{Step: "copy", Item: itemName(profile, k), Err: err}
		}
	}
	for _, k := range moved {
		got, err := dst.Get(profile, k)
		if err == nil && got != values[k] {
			err = errors.New("the copy read back differs from the original")
		}
		if err != nil {
			undo()
			return nil, &MoveError{Step: "verify", Item: itemName(profile, k), Err: err}
		}
	}
	if err := commit(); err != nil {
		undo()
		return nil, &MoveError{Step: "commit", Err: err}
	}
	var failed []error
	for _, k := range Kinds {
		if err := src.Delete(profile, k); err != nil {
			failed = append(failed, &MoveError{Step: "cleanup", Item: itemName(profile, k), Err: err})
		}
	}
	return moved, errors.Join(failed...)
}
