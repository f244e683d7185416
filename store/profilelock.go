package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// ProfileLocker serializes work on one profile across mailgrant processes,
// such as redeeming its refresh token: two processes that redeemed the same
// refresh token at once would each store a rotated one, and the slower write
// would win. The lock is an flock on a file in the config directory, so the
// kernel releases it if a process dies holding it.
type ProfileLocker struct {
	// Dir is the config directory.
	Dir string
}

// LockProfile waits for the profile's lock, or until ctx is done, and
// returns its release.
func (l ProfileLocker) LockProfile(ctx context.Context, name string) (func(), error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create config directory: %w", err)
	}
	return lockFileContext(ctx, filepath.Join(l.Dir, ".lock-"+name))
}
