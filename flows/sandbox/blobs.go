package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// blobStore keeps attachment content: in files under StateDir/drafts when
// the server has a StateDir (so that `mailgrant --sandbox`, which runs the
// sandbox in its own process, does not hold large attachments in memory),
// else in memory.
type blobStore struct {
	dir string

	mu  sync.Mutex
	mem map[string][]byte
}

func newBlobStore(stateDir string) *blobStore {
	b := &blobStore{mem: map[string][]byte{}}
	if stateDir != "" {
		b.dir = filepath.Join(stateDir, "drafts")
	}
	return b
}

// create makes an empty blob and returns its key.
func (b *blobStore) create() (string, error) {
	key := randomID()
	if b.dir == "" {
		b.mu.Lock()
		b.mem[key] = []byte{}
		b.mu.Unlock()
		return key, nil
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(filepath.Join(b.dir, key), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	return key, f.Close()
}

// appendAt writes data at off, which must be the blob's current size.
func (b *blobStore) appendAt(key string, off int64, data []byte) error {
	if b.dir == "" {
		b.mu.Lock()
		defer b.mu.Unlock()
		cur, ok := b.mem[key]
		if !ok {
			return errors.New("no such blob")
		}
		if int64(len(cur)) != off {
			return fmt.Errorf("write at %d, blob has %d bytes", off, len(cur))
		}
		b.mem[key] = append(cur, data...)
		return nil
	}
	f, err := os.OpenFile(filepath.Join(b.dir, key), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, off); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// open reads a blob.
func (b *blobStore) open(key string) (io.ReadCloser, error) {
	if b.dir == "" {
		b.mu.Lock()
		defer b.mu.Unlock()
		cur, ok := b.mem[key]
		if !ok {
			return nil, errors.New("no such blob")
		}
		return io.NopCloser(bytes.NewReader(cur)), nil
	}
	return os.Open(filepath.Join(b.dir, key))
}

// remove deletes a blob.
func (b *blobStore) remove(key string) {
	if b.dir == "" {
		b.mu.Lock()
		delete(b.mem, key)
		b.mu.Unlock()
		return
	}
	_ = os.Remove(filepath.Join(b.dir, key))
}
