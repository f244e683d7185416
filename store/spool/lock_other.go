//go:build !unix

package spool

// TryLock always succeeds where flock is not available: run one relay (or
// `mailgrant queue run`) per spool there.
func (s *Spool) TryLock(id string) (unlock func(), ok bool, err error) {
	if _, err := s.where(id); err != nil {
		return nil, false, err
	}
	return func() {}, true, nil
}

// holdShared does nothing where flock is not available: Serves relies on
// the heartbeat there.
func holdShared(string) (release func(), err error) { return func() {}, nil }

// heldByOther is always false where flock is not available.
func heldByOther(string) bool { return false }
