package flows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// ErrProfileGone marks the error RecordChecks returns for a profile that was
// deleted while it was being checked.
var ErrProfileGone = errors.New("profile no longer in profiles.json")

// RecordChecks writes the outcome of checks (Record: when, the state, a
// refresh-token rotation) into the profiles they name in profiles.json in
// dir, in one update that re-reads each profile, so a change made meanwhile
// (an edit, a re-authorization) is kept. A profile deleted meanwhile is not
// re-created: the others are recorded, and the error, wrapping
// ErrProfileGone, names it. status, the wizard's status screen and its
// "check all" record through it.
func RecordChecks(dir string, results ...*Status) error {
	var gone []string
	err := store.UpdateProfiles(dir, func(ps *store.Profiles) error {
		for _, st := range results {
			if st == nil {
				continue
			}
			p, ok := ps.Get(st.Name)
			if !ok {
				gone = append(gone, st.Name)
				continue
			}
			Record(&p, st)
			ps.Put(p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(gone) > 0 {
		return fmt.Errorf("%w: %s (deleted while being checked; not recorded)", ErrProfileGone, strings.Join(gone, ", "))
	}
	return nil
}

// RecordRotation notes in profiles.json that the refresh token of profile
// name rotated at at (its sign-in lapses counting from then). A profile
// deleted meanwhile is not re-created.
func RecordRotation(dir, name string, at time.Time) error {
	return store.UpdateProfiles(dir, func(ps *store.Profiles) error {
		if p, ok := ps.Get(name); ok {
			at := at.UTC()
			p.RefreshRotatedAt = &at
			ps.Put(p)
		}
		return nil
	})
}
