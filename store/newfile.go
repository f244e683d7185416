package store

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CheckNewFile reports whether WriteNewFile could create path: an error
// wrapping fs.ErrExist when anything is there (a file, a directory, a
// symbolic link, even a dangling one) and force is false. A directory is
// refused even with force. Commands call it before any work, so a refusal
// costs nothing.
func CheckNewFile(path string, force bool) error {
	fi, err := os.Lstat(path)
	switch {
	case err != nil && os.IsNotExist(err):
		return nil
	case err != nil:
		return err
	case fi.IsDir():
		return &fs.PathError{Op: "create", Path: path, Err: fmt.Errorf("is a directory: %w", fs.ErrExist)}
	case !force:
		return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
	}
	return nil
}

// WriteNewFile writes a file mailgrant makes for the user (a certificate to
// upload, a script). Without force it creates path exclusively (O_EXCL,
// O_NOFOLLOW): it never replaces anything and never writes through a
// symbolic link; the error then wraps fs.ErrExist. With force it writes a
// temporary file beside path and renames it over path, which replaces a
// symbolic link itself, never the file it points to. A failed write leaves
// nothing behind.
func WriteNewFile(path string, data []byte, perm fs.FileMode, force bool) error {
	if err := CheckNewFile(path, force); err != nil {
		return err
	}
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, perm)
		if err != nil {
			return err
		}
		return finishNewFile(f, data, path, "")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	return finishNewFile(f, data, f.Name(), path)
}

// finishNewFile writes data to f (at written), syncs and closes it, and
// renames it to final when final is set. On failure it removes written.
func finishNewFile(f *os.File, data []byte, written, final string) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && final != "" {
		err = os.Rename(written, final)
	}
	if err != nil {
		os.Remove(written)
	}
	return err
}
