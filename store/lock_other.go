//go:build !unix

package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Where flock is missing the lock is the existence of a file created with
// O_EXCL. A process that dies while holding it leaves the file behind, so a
// lock older than lockStale is taken to be abandoned.
const (
	lockWait  = 10 * time.Second
	lockRetry = 50 * time.Millisecond
	lockStale = 2 * time.Minute
)

// lockFile creates path exclusively, retrying for up to lockWait while another
// process holds it, and returns the function that releases it (removes the
// file).
func lockFile(path string) (func(), error) {
	deadline := time.Now().Add(lockWait)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if fi, serr := os.Stat(path); serr == nil && time.Since(fi.ModTime()) > lockStale {
			_ = os.Remove(path) // abandoned by a process that died
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lock %s: another mailgrant has held it for %s; if none is running, delete the file", path, lockWait)
		}
		time.Sleep(lockRetry)
	}
}

// lockFileContext is lockFile; its own wait is bounded by lockWait.
func lockFileContext(ctx context.Context, path string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return lockFile(path)
}
