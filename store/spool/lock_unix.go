//go:build unix

package spool

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// TryLock takes the message's delivery lock without waiting; ok is false
// when another process (or goroutine) holds it. The kernel drops the lock
// when the process dies.
func (s *Spool) TryLock(id string) (unlock func(), ok bool, err error) {
	d, err := s.where(id)
	if err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, d, id, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, true, nil
}
