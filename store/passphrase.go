package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/mailgrant/mailgrant/store/envsecret"
)

// Where the encrypted file's passphrase may come from without a prompt, in
// the order LookupPassphrase tries them.
const (
	// CredentialsDirEnv is set by systemd for a service with LoadCredential=
	// or LoadCredentialEncrypted=; CredentialName is read from it.
	CredentialsDirEnv = "CREDENTIALS_DIRECTORY"
	// CredentialName is the systemd credential holding the passphrase.
	CredentialName = "mailgrant-passphrase"
	// PassphraseFileEnv names a file holding the passphrase. The file must
	// be a regular file owned by the user, readable by nobody else.
	PassphraseFileEnv = "MAILGRANT_PASSPHRASE_FILE"
)

// ErrPassphraseFileRefused means MAILGRANT_PASSPHRASE_FILE names a file that
// is not a regular file owned by the user with no group or other permission
// bits; the passphrase in it is not used.
var ErrPassphraseFileRefused = errors.New("the passphrase file is refused")

// maxPassphraseFile bounds what is read from a passphrase file.
const maxPassphraseFile = 64 << 10

// PassphraseSource says where a passphrase came from.
type PassphraseSource string

// The sources, in the order LookupPassphrase tries them (the prompt is the
// caller's).
const (
	// FromCredential is the systemd credential mailgrant-passphrase.
	FromCredential PassphraseSource = "systemd credential"
	// FromFile is the file MAILGRANT_PASSPHRASE_FILE names.
	FromFile PassphraseSource = PassphraseFileEnv
	// FromEnv is the variable MAILGRANT_PASSPHRASE.
	FromEnv PassphraseSource = PassphraseEnv
	// FromPrompt is a passphrase typed at a terminal.
	FromPrompt PassphraseSource = "prompt"
)

// Passphrase is the key of the encrypted file and where it came from. Its
// String and GoString never show the value.
type Passphrase struct {
	// Value is the passphrase itself.
	Value string
	// Source is where it came from.
	Source PassphraseSource
	// Path is the file it was read from (credential or passphrase file).
	Path string
}

// String names where the passphrase came from, never its value.
func (p Passphrase) String() string {
	if p.Path != "" {
		return string(p.Source) + " " + p.Path
	}
	return string(p.Source)
}

// GoString is String, so that %#v cannot show the passphrase either.
func (p Passphrase) GoString() string { return p.String() }

// LookupPassphrase finds the encrypted file's passphrase without a prompt:
// the systemd credential $CREDENTIALS_DIRECTORY/mailgrant-passphrase, then
// the file MAILGRANT_PASSPHRASE_FILE names, then MAILGRANT_PASSPHRASE. A
// trailing newline of a file is dropped. ok is false when none is set (the
// caller may then prompt). A passphrase file that is not safe to use is an
// error matching ErrPassphraseFileRefused, never silently skipped: the admin
// set it, and falling through would hide the problem.
func LookupPassphrase() (p Passphrase, ok bool, err error) {
	if dir := os.Getenv(CredentialsDirEnv); dir != "" {
		path := filepath.Join(dir, CredentialName)
		v, err := readPassphraseFile(path)
		switch {
		case err == nil:
			return Passphrase{Value: v, Source: FromCredential, Path: path}, true, nil
		case !errors.Is(err, fs.ErrNotExist):
			return Passphrase{}, false, &FileStoreError{
				Op: "passphrase", Path: path,
				Cause:    "cannot read the systemd credential " + path + ": " + err.Error(),
				Hint:     "check LoadCredential=" + CredentialName + ":… in the service unit",
				Err:      err,
				category: ErrFileStoreFailed,
			}
		}
		// Another credential set for the service: not ours.
	}
	if path, set := os.LookupEnv(PassphraseFileEnv); set {
		v, err := readOwnerOnlyFile(path)
		if err != nil {
			return Passphrase{}, false, err
		}
		return Passphrase{Value: v, Source: FromFile, Path: path}, true, nil
	}
	if v, set := envsecret.Lookup(PassphraseEnv); set { // taken from the environment at start
		return Passphrase{Value: v, Source: FromEnv}, true, nil
	}
	return Passphrase{}, false, nil
}

// readOwnerOnlyFile reads the passphrase file after checking that it is a
// regular file owned by the user that nobody else may read or write.
func readOwnerOnlyFile(path string) (string, error) {
	refuse := func(cause, hint string, err error) error {
		return &FileStoreError{
			Op: "passphrase", Path: path,
			Cause:    PassphraseFileEnv + "=" + path + ": " + cause,
			Hint:     hint,
			Err:      err,
			category: ErrPassphraseFileRefused,
		}
	}
	if path == "" {
		return "", refuse("the variable is set but empty", "set it to the passphrase file's path, or unset it", nil)
	}
	if !filepath.IsAbs(path) {
		return "", refuse("the path is relative, so it depends on the directory a job starts in", "give an absolute path, e.g. "+PassphraseFileEnv+"=$HOME/.config/mailgrant/passphrase", nil)
	}
	// Open without following a final symlink, then check the open file, so
	// what is checked is what is read.
	f, err := openNoFollow(path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", refuse("no such file", "create it, readable by you alone: (umask 077; printf '%s\\n' 'PASSPHRASE' > "+path+")", err)
		case isSymlinkError(err):
			return "", refuse("it is a symbolic link; the passphrase must be in a regular file", "point "+PassphraseFileEnv+" at the file itself", err)
		}
		return "", refuse("cannot open it: "+err.Error(), "check that you may read "+path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", refuse("cannot read it: "+err.Error(), "check that you may read "+path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", refuse("it is not a regular file", "put the passphrase in a regular file", nil)
	}
	if runtime.GOOS != "windows" {
		if uid, ok := fileOwner(fi); ok && uid != os.Getuid() {
			return "", refuse(fmt.Sprintf("it is owned by uid %d, not by you (uid %d), so someone else controls the key", uid, os.Getuid()),
				fmt.Sprintf("chown %d %s && chmod 600 %s (as root), or use a file of your own", os.Getuid(), path, path), nil)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			return "", refuse(fmt.Sprintf("other users may read or change it (mode %04o)", perm), "chmod 600 "+path, nil)
		}
	}
	v, err := readTrimmed(f)
	if err != nil {
		return "", refuse("cannot read it: "+err.Error(), "check that you may read "+path, err)
	}
	return v, nil
}

// readPassphraseFile reads a file holding a passphrase (the systemd
// credential, which systemd makes readable by the service alone).
func readPassphraseFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return readTrimmed(f)
}

// readTrimmed reads a passphrase and drops one trailing newline (LF or
// CRLF), as editors and echo add one.
func readTrimmed(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPassphraseFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxPassphraseFile {
		return "", fmt.Errorf("longer than %d bytes: not a passphrase file", maxPassphraseFile)
	}
	s := string(b)
	if strings.HasSuffix(s, "\n") {
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	}
	return s, nil
}

// NoPassphraseError is the error for an encrypted file at path whose
// passphrase is in none of the sources and cannot be asked for (no
// terminal). It matches ErrNoPassphrase.
func NoPassphraseError(path string) error {
	return &FileStoreError{
		Op: "open", Path: path,
		Cause:    "the encrypted file " + path + " needs its passphrase and there is no terminal to ask for it",
		Hint:     "put the passphrase in a file only you can read and set " + PassphraseFileEnv + "=/path/to/it (or, in a systemd service, LoadCredential=" + CredentialName + ":/path/to/it; or set " + PassphraseEnv + ")",
		category: ErrNoPassphrase,
	}
}
