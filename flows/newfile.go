package flows

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mailgrant/mailgrant/store"
)

// Files mailgrant makes for the user (a certificate to upload, the
// PowerShell) follow one rule, whichever front end writes them: checked
// before any work, then created as new files that never replace anything
// (unless forced) and never follow a link (store.WriteNewFile).

// CheckNewFile reports, before any work, whether WriteNewFile could write
// path: not a directory, in a directory that exists and is writable, and
// nothing there yet unless force. The error is an *InputError naming field;
// when a file is in the way it wraps fs.ErrExist, so a front end can add how
// it lets the user replace one.
func CheckNewFile(field, path string, force bool) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return &InputError{Field: field, Problem: path + " is a directory", Hint: "give a file name in it, such as " + filepath.Join(path, "mailer.pem")}
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return &InputError{Field: field, Problem: "the directory " + dir + " does not exist", Hint: "create it, or give a path in an existing directory"}
	}
	if err := store.CheckNewFile(path, force); err != nil {
		return newFileError(field, path, err)
	}
	f, err := os.CreateTemp(dir, ".mailgrant-check-*")
	if err != nil {
		return &InputError{Field: field, Problem: "cannot write in " + dir, Hint: "give a path in a directory you can write to", Err: err}
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return nil
}

// WriteNewFile writes data to path as a new file (store.WriteNewFile), and
// explains a refusal as CheckNewFile does.
func WriteNewFile(field, path string, data []byte, perm fs.FileMode, force bool) error {
	if err := store.WriteNewFile(path, data, perm, force); err != nil {
		return newFileError(field, path, err)
	}
	return nil
}

// WriteCertificate writes the public part of a new certificate (PEM, mode
// 0644) to path for upload, as a new file; its private key goes only to the
// profile's secrets. The command line and the wizard both write it here.
func WriteCertificate(path string, c *Certificate, force bool) error {
	return WriteNewFile("new-certificate", path, c.CertPEM(), 0o644, force)
}

// newFileError explains why a file for the user cannot be written.
func newFileError(field, path string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return &InputError{Field: field, Problem: fmt.Sprintf("%s already exists, and mailgrant does not replace files", path), Hint: "give a path where no file exists yet", Err: err}
	}
	cause := errors.Unwrap(err)
	if cause == nil {
		cause = err
	}
	return &InputError{Field: field, Problem: fmt.Sprintf("cannot write %s: %v", path, cause), Hint: "give a writable path", Err: err}
}
