package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/mailgrant/mailgrant/store/envsecret"
)

// SecretsFile is the usual name of the encrypted secrets file inside the
// config directory, used with --store file.
const SecretsFile = "secrets.age"

// PassphraseEnv is the environment variable PassphraseFromEnv reads.
const PassphraseEnv = "MAILGRANT_PASSPHRASE"

// FileFormatVersion is the version of the secrets file this build writes. A
// file with a newer version is refused rather than rewritten, so an older
// mailgrant never drops what a newer one stored.
const FileFormatVersion = 1

// The age header every file File writes starts with.
const ageMagic = "age-encryption.org/v1\n"

// staleTemp is how old a leftover temporary file must be before a writer
// removes it. Writers only create temporary files while holding the lock, so
// any leftover is from a writer that crashed; the age is a second safeguard.
const staleTemp = 10 * time.Minute

// Categories of secrets-file failure. A *FileStoreError matches one of them
// with errors.Is, so callers can branch without reading its text:
//
//	if errors.Is(err, store.ErrWrongPassphrase) { … }
var (
	// ErrNoPassphrase means the passphrase given to OpenFile is empty.
	ErrNoPassphrase = errors.New("no passphrase")
	// ErrWrongPassphrase means the passphrase does not decrypt the file.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrFileDamaged means the file is not a secrets file, or is truncated or
	// corrupt; it is left as it is.
	ErrFileDamaged = errors.New("the secrets file is damaged")
	// ErrFileTooNew means the file was written by a newer mailgrant.
	ErrFileTooNew = errors.New("the secrets file is from a newer mailgrant")
	// ErrFileInsecure means other users may read or change the file.
	ErrFileInsecure = errors.New("the secrets file is open to other users")
	// ErrFileStoreFailed covers every other failure, such as a directory
	// that cannot be written.
	ErrFileStoreFailed = errors.New("the secrets file failed")
)

// FileStoreError is a failure of the secrets file translated into what the
// user can do. It never contains a secret value or the passphrase.
type FileStoreError struct {
	// Op is what was attempted: open, get, set or delete.
	Op string
	// Item is the secret concerned, "<profile>/<kind>", or empty for open.
	Item string
	// Path is the secrets file.
	Path string
	// Cause says what went wrong, in words for the user; it names the file.
	Cause string
	// Hint is one line saying what to do about it.
	Hint string
	// Err is the underlying error, if any.
	Err error

	category error
}

// Error returns the operation, the item and the cause; the hint is kept apart
// for the caller to print on its own line.
func (e *FileStoreError) Error() string {
	if e.Item == "" {
		return fmt.Sprintf("secrets file %s: %s", e.Op, e.Cause)
	}
	return fmt.Sprintf("secrets file %s %s: %s", e.Op, e.Item, e.Cause)
}

// Unwrap returns the underlying error.
func (e *FileStoreError) Unwrap() error { return e.Err }

// Is reports whether target is the category of the failure, such as
// ErrWrongPassphrase or ErrFileDamaged.
func (e *FileStoreError) Is(target error) bool { return e.category != nil && target == e.category }

// fileNotFoundError is a secret missing from the file; it matches ErrNotFound.
type fileNotFoundError struct{ item, path string }

func (e *fileNotFoundError) Error() string {
	return fmt.Sprintf("no %s secret in %s", e.item, e.path)
}
func (e *fileNotFoundError) Is(target error) bool { return target == ErrNotFound }

// File keeps secrets in one age-encrypted file protected by a passphrase, for
// machines with no OS keyring (--store file). It is opt-in: nothing falls
// back to it silently.
//
// The file holds the JSON document {"version":1,"items":{"<profile>/<kind>":
// "value"}} encrypted with age to an scrypt passphrase recipient, mode 0600.
// Every Set and Delete takes an exclusive lock on "<path>.lock", reads the
// file again (another process may have written it), and replaces it
// atomically: a temporary file in the same directory is written and synced,
// then renamed over the file, then the directory is synced, so a crash leaves
// either the old or the new file, never a torn one. Get takes no lock: a
// rename is atomic, so readers see one whole version.
//
// Cost: the passphrase goes through scrypt, which is deliberately slow (age's
// default work factor 2^18 takes about a second and 256 MiB of memory). Each
// write draws a fresh salt, so every Set or Delete that changes the file
// costs one scrypt. To spare reads, File remembers the file key of the last
// version it read or wrote: reading that version again costs no scrypt, and
// reading a version another process wrote costs one. The decrypted secrets
// themselves are never kept between calls.
//
// A File is safe for concurrent use, and several processes may share the
// file.
type File struct {
	path       string
	workFactor int // 0: age's default

	// The passphrase lives only inside these two (String and GoString keep
	// fmt from printing them).
	recipient *age.ScryptRecipient
	identity  *age.ScryptIdentity

	mu      sync.Mutex // guards stanza and fileKey
	stanza  []byte     // the header stanza of the version last read or written
	fileKey []byte     // its file key
}

var _ Secrets = (*File)(nil)

// FileOption changes how OpenFile builds a File.
type FileOption func(*File)

// WithScryptWorkFactor makes File encrypt with an scrypt work factor of 2^n
// instead of age's default (2^18, about a second). n must be between 1 and
// 30, or OpenFile fails. Reading accepts whatever factor the file was written
// with, up to 2^22 or 2^n if that is larger. Tests use a small n for speed;
// real use should keep the default.
func WithScryptWorkFactor(n int) FileOption {
	return func(f *File) { f.workFactor = n }
}

// PassphraseFromEnv returns the value of MAILGRANT_PASSPHRASE and whether the
// variable is set. A variable that is set but empty is returned as such, so
// that OpenFile refuses it with a hint rather than a prompt appearing where
// none was expected.
func PassphraseFromEnv() (string, bool) {
	return envsecret.Lookup(PassphraseEnv) // taken from the environment at start
}

// OpenFile returns the secrets kept in the age-encrypted file at path
// (usually filepath.Join(dir, SecretsFile)), protected by passphrase. A
// missing file is an empty store; it and its directory are created by the
// first Set. An existing file is read and decrypted at once, so a wrong
// passphrase, a damaged file or unsafe permissions are reported here, as a
// *FileStoreError with a hint. An empty passphrase is refused.
func OpenFile(path string, passphrase string, opts ...FileOption) (*File, error) {
	f := &File{path: path}
	for _, o := range opts {
		o(f)
	}
	if passphrase == "" {
		return nil, &FileStoreError{
			Op: "open", Path: path,
			Cause:    "the passphrase for " + path + " is empty",
			Hint:     "give a non-empty passphrase: at the prompt, in the file " + PassphraseFileEnv + " names, or in " + PassphraseEnv + " (unset it to be asked)",
			category: ErrNoPassphrase,
		}
	}
	if f.workFactor != 0 && (f.workFactor < 1 || f.workFactor > 30) {
		return nil, &FileStoreError{
			Op: "open", Path: path,
			Cause:    fmt.Sprintf("scrypt work factor %d is out of range (1 to 30)", f.workFactor),
			category: ErrFileStoreFailed,
		}
	}
	var err error
	if f.recipient, err = age.NewScryptRecipient(passphrase); err != nil {
		return nil, &FileStoreError{Op: "open", Path: path, Cause: "the passphrase was refused", Err: err, category: ErrNoPassphrase}
	}
	if f.identity, err = age.NewScryptIdentity(passphrase); err != nil {
		return nil, &FileStoreError{Op: "open", Path: path, Cause: "the passphrase was refused", Err: err, category: ErrNoPassphrase}
	}
	if f.workFactor != 0 {
		f.recipient.SetWorkFactor(f.workFactor)
		if f.workFactor > 22 { // age's default limit for reading
			f.identity.SetMaxWorkFactor(f.workFactor)
		}
	}
	if _, err := f.load("open", ""); err != nil {
		return nil, err
	}
	return f, nil
}

// String names the file; it never shows the passphrase.
func (f *File) String() string { return "secrets file " + f.path }

// GoString is String, so that %#v cannot show the passphrase either.
func (f *File) GoString() string { return f.String() }

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Get returns the secret, or an error wrapping ErrNotFound when there is none.
// It reads and decrypts the file afresh.
func (f *File) Get(profile string, kind Kind) (string, error) {
	item := itemName(profile, kind)
	items, err := f.load("get", item)
	if err != nil {
		return "", err
	}
	v, ok := items[item]
	if !ok {
		return "", &fileNotFoundError{item: item, path: f.path}
	}
	return v, nil
}

// Set stores the secret, replacing any earlier one, and creates the file and
// its directory if needed. The profile, kind and value must be valid UTF-8
// (JSON cannot hold anything else faithfully).
func (f *File) Set(profile string, kind Kind, value string) error {
	item := itemName(profile, kind)
	if !utf8.ValidString(item) || !utf8.ValidString(value) {
		return &FileStoreError{
			Op: "set", Item: strings.ToValidUTF8(item, "\uFFFD"), Path: f.path,
			Cause:    "the profile, kind or secret is not valid UTF-8 text",
			Hint:     "store the secret as text (for example base64-encoded)",
			category: ErrFileStoreFailed,
		}
	}
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f.ioError("set", item, "cannot create the directory "+dir, "check that you may write to "+dir, err)
	}
	return f.update("set", item, func(items map[string]string) bool {
		if old, ok := items[item]; ok && old == value {
			return false
		}
		items[item] = value
		return true
	})
}

// Delete removes the secret; deleting a missing secret is not an error and
// leaves the file untouched.
func (f *File) Delete(profile string, kind Kind) error {
	item := itemName(profile, kind)
	if _, err := os.Stat(f.path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return f.update("delete", item, func(items map[string]string) bool {
		if _, ok := items[item]; !ok {
			return false
		}
		delete(items, item)
		return true
	})
}

// update runs a read-modify-write of the file under the lock. change edits
// the items and reports whether anything changed; if not, nothing is written.
func (f *File) update(op, item string, change func(map[string]string) bool) error {
	lock := f.path + ".lock"
	unlock, err := lockFile(lock)
	if err != nil {
		return f.ioError(op, item, "cannot lock "+lock, "check that you may write to "+filepath.Dir(f.path), err)
	}
	defer unlock()
	items, err := f.load(op, item)
	if err != nil {
		return err
	}
	if !change(items) {
		return nil
	}
	f.removeStaleTemps()
	return f.write(op, item, items)
}

// load reads, decrypts and decodes the file; a missing file has no items.
func (f *File) load(op, item string) (map[string]string, error) {
	fh, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, f.ioError(op, item, "cannot read "+f.path, "check the permissions of "+f.path, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, f.ioError(op, item, "cannot read "+f.path, "check the permissions of "+f.path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, f.fail(op, item, ErrFileDamaged, f.path+" is not a regular file",
			"move it aside, or choose another file", nil)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, f.fail(op, item, ErrFileInsecure,
			fmt.Sprintf("%s is open to other users (mode %04o); it must be readable by you alone", f.path, perm),
			"chmod 600 "+f.path, nil)
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		return nil, f.ioError(op, item, "cannot read "+f.path, "check the permissions of "+f.path, err)
	}
	plain, err := f.decrypt(op, item, data)
	if err != nil {
		return nil, err
	}
	items, err := decodeItems(f.path, plain)
	if err != nil {
		var fe *FileStoreError
		if errors.As(err, &fe) {
			fe.Op, fe.Item = op, item
		}
		return nil, err
	}
	return items, nil
}

// decrypt opens the age envelope, translating failures for the user.
func (f *File) decrypt(op, item string, data []byte) ([]byte, error) {
	damaged := func(cause string, err error) error {
		return f.fail(op, item, ErrFileDamaged, cause,
			"restore "+f.path+" from a backup, or move it aside to start over (its profiles must then be re-authorized)", err)
	}
	switch {
	case len(data) == 0:
		return nil, damaged(f.path+" is empty", nil)
	case len(data) < len(ageMagic) && strings.HasPrefix(ageMagic, string(data)):
		return nil, damaged(f.path+" is truncated", nil)
	case !bytes.HasPrefix(data, []byte(ageMagic)):
		return nil, damaged(f.path+" is not an age-encrypted file", nil)
	}
	r, err := age.Decrypt(bytes.NewReader(data), &cachingIdentity{f: f, id: f.identity})
	var nomatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &nomatch):
		for _, t := range nomatch.StanzaTypes {
			if t == "scrypt" {
				return nil, f.fail(op, item, ErrWrongPassphrase, "the passphrase does not decrypt "+f.path,
					"check the passphrase given (systemd credential "+CredentialName+", "+PassphraseFileEnv+", "+PassphraseEnv+" or the prompt, in that order), or move the file aside to start over (its profiles must then be re-authorized)", err)
			}
		}
		return nil, damaged(f.path+" is encrypted to an age key, not a passphrase", err)
	case err != nil:
		return nil, damaged(f.path+" cannot be decrypted: its header is damaged or truncated", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, damaged(f.path+" cannot be decrypted: it is damaged or truncated", err)
	}
	return plain, nil
}

// write encrypts items and replaces the file atomically.
func (f *File) write(op, item string, items map[string]string) error {
	dir := filepath.Dir(f.path)
	fail := func(err error) error {
		return f.ioError(op, item, "cannot write "+f.path, "check that you may write to "+dir+" and that the disk is not full", err)
	}
	plain, err := encodeItems(items)
	if err != nil {
		return fail(err)
	}
	tmp, err := os.CreateTemp(dir, tempPrefix(f.path)+"*.tmp")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	defer tmp.Close()           // a no-op once closed
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err)
	}
	w, err := age.Encrypt(tmp, &cachingRecipient{f: f, r: f.recipient})
	if err != nil {
		return fail(err)
	}
	if _, err := w.Write(plain); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fail(err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; best effort (fails on Windows)
		d.Close()
	}
	return nil
}

// tempPrefix is how the temporary files of path begin: hidden, in the same
// directory, named after the file.
func tempPrefix(path string) string { return "." + filepath.Base(path) + "-" }

// removeStaleTemps deletes temporary files left by a writer that crashed.
// It runs under the lock; failures only leave clutter (encrypted, and never
// read).
func (f *File) removeStaleTemps() {
	dir := filepath.Dir(f.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := tempPrefix(f.path)
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".tmp") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
}

func (f *File) fail(op, item string, category error, cause, hint string, err error) *FileStoreError {
	return &FileStoreError{Op: op, Item: item, Path: f.path, Cause: cause, Hint: hint, Err: err, category: category}
}

func (f *File) ioError(op, item, cause, hint string, err error) *FileStoreError {
	if err != nil {
		cause += ": " + describeIOError(err)
	}
	return f.fail(op, item, ErrFileStoreFailed, cause, hint, err)
}

// describeIOError returns the reason of an *fs.PathError without repeating
// its path, or the error's own text.
func describeIOError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// The file key cache. age derives the key that wraps a file key from the
// passphrase and a salt in the header stanza, and a fresh salt is drawn for
// every write, so the derived key itself cannot be reused. What can be reused
// is the result: the file key a given stanza unwraps to under this File's
// passphrase. A File remembers it for the last stanza it read or wrote, and
// age still checks the header MAC and every payload chunk against it.

// cachingIdentity unwraps with the passphrase, or from the cache when the
// stanza is the one last seen.
type cachingIdentity struct {
	f  *File
	id *age.ScryptIdentity
}

// Unwrap returns the file key for stanzas.
func (c *cachingIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if len(stanzas) == 1 {
		if key, ok := c.f.cached(stanzas[0]); ok {
			return key, nil
		}
	}
	key, err := c.id.Unwrap(stanzas)
	if err == nil && len(stanzas) == 1 {
		c.f.remember(stanzas[0], key)
	}
	return key, err
}

// cachingRecipient wraps with the passphrase and remembers the result.
type cachingRecipient struct {
	f *File
	r *age.ScryptRecipient
}

// Wrap wraps fileKey to the passphrase.
func (c *cachingRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	s, _, err := c.WrapWithLabels(fileKey)
	return s, err
}

// WrapWithLabels wraps fileKey to the passphrase, with age's label that keeps
// a passphrase recipient alone in its file.
func (c *cachingRecipient) WrapWithLabels(fileKey []byte) ([]*age.Stanza, []string, error) {
	s, labels, err := c.r.WrapWithLabels(fileKey)
	if err == nil && len(s) == 1 {
		c.f.remember(s[0], fileKey)
	}
	return s, labels, err
}

func stanzaBytes(s *age.Stanza) []byte {
	var b bytes.Buffer
	b.WriteString(s.Type)
	for _, a := range s.Args {
		b.WriteByte(0)
		b.WriteString(a)
	}
	b.WriteByte(0)
	b.Write(s.Body)
	return b.Bytes()
}

func (f *File) cached(s *age.Stanza) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fileKey == nil || !bytes.Equal(f.stanza, stanzaBytes(s)) {
		return nil, false
	}
	return bytes.Clone(f.fileKey), true
}

func (f *File) remember(s *age.Stanza, fileKey []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stanza = stanzaBytes(s)
	f.fileKey = bytes.Clone(fileKey)
}

// fileContent is the decrypted JSON document.
type fileContent struct {
	Version int               `json:"version"`
	Items   map[string]string `json:"items"`
}

// decodeItems parses the decrypted content of the secrets file at path (used
// only in errors). Its errors are *FileStoreError matching ErrFileDamaged or
// ErrFileTooNew, and quote nothing of the content.
func decodeItems(path string, plain []byte) (map[string]string, error) {
	damaged := func(cause string) error {
		return &FileStoreError{
			Path: path, Cause: cause,
			Hint:     "restore " + path + " from a backup, or move it aside to start over (its profiles must then be re-authorized)",
			category: ErrFileDamaged,
		}
	}
	var c fileContent
	if err := json.Unmarshal(plain, &c); err != nil {
		// json's messages may quote a character of the input: say only where.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, damaged(fmt.Sprintf("%s decrypts, but to invalid JSON (at byte %d)", path, se.Offset))
		}
		return nil, damaged(path + " decrypts, but not to a mailgrant secrets document")
	}
	switch {
	case c.Version > FileFormatVersion:
		return nil, &FileStoreError{
			Path:     path,
			Cause:    fmt.Sprintf("%s was written by a newer mailgrant (format %d; this one reads %d)", path, c.Version, FileFormatVersion),
			Hint:     "upgrade mailgrant",
			category: ErrFileTooNew,
		}
	case c.Version < 1:
		return nil, damaged(path + " decrypts, but has no format version")
	}
	if c.Items == nil {
		c.Items = map[string]string{}
	}
	return c.Items, nil
}

// encodeItems is the inverse of decodeItems.
func encodeItems(items map[string]string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fileContent{Version: FileFormatVersion, Items: items}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
