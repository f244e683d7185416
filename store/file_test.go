package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
)

// testPassphrase is the passphrase of every test file; testWorkFactor keeps
// scrypt fast (age's default takes about a second per call).
const (
	testPassphrase = "correct horse battery staple"
	testWorkFactor = 2
)

// newTestFile returns the path of a secrets file in a fresh directory and a
// File opened on it.
func newTestFile(t *testing.T) (*File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), SecretsFile)
	return openTestFile(t, path), path
}

func openTestFile(t *testing.T, path string) *File {
	t.Helper()
	f, err := OpenFile(path, testPassphrase, WithScryptWorkFactor(testWorkFactor))
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	return f
}

// writeAge writes plain to path, encrypted to passphrase, mode 0600.
func writeAge(t *testing.T, path, passphrase string, plain []byte) {
	t.Helper()
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(testWorkFactor)
	var b bytes.Buffer
	w, err := age.Encrypt(&b, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantFileError checks that err is a *FileStoreError of category want whose
// text names the file and shows neither the passphrase nor any of secrets.
func wantFileError(t *testing.T, err, want error, path string, secrets ...string) *FileStoreError {
	t.Helper()
	var fe *FileStoreError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want a *FileStoreError", err, err)
	}
	if !errors.Is(err, want) {
		t.Errorf("err = %v, want category %v", err, want)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("err = %q, does not name %s", err, path)
	}
	if fe.Hint == "" {
		t.Errorf("err = %q has no hint", err)
	}
	for _, s := range append(secrets, testPassphrase) {
		if strings.Contains(err.Error(), s) || strings.Contains(fe.Hint, s) {
			t.Errorf("err = %q, hint = %q: shows %q", err, fe.Hint, s)
		}
	}
	return fe
}

func TestFileRoundTrip(t *testing.T) {
	// Given a file written by one File
	a, path := newTestFile(t)
	values := map[Kind]string{
		KindRefreshToken:   "0.AXoA-refresh-token." + strings.Repeat("x", 1500),
		KindClientSecret:   "abc~DEF_123.secret",
		KindCertificateKey: "-----BEGIN PRIVATE KEY-----\nMIIE…\n-----END PRIVATE KEY-----\n",
		KindAccessToken:    `eyJ0eXAiOiJKV1Qi."quoted" <html> & \ backslash`,
	}
	for kind, v := range values {
		if err := a.Set("wordpress", kind, v); err != nil {
			t.Fatalf("Set %s: %v", kind, err)
		}
	}

	// When a second File (as another process would) opens it
	b := openTestFile(t, path)

	// Then it reads every secret back, and both agree
	for kind, want := range values {
		for name, f := range map[string]*File{"first": a, "second": b} {
			if got, err := f.Get("wordpress", kind); err != nil || got != want {
				t.Errorf("%s File: Get %s = %q, %v; want %q", name, kind, got, err, want)
			}
		}
	}

	// And a change made by one is seen by the other
	if err := b.Set("other", KindRefreshToken, "from-b"); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Get("other", KindRefreshToken); err != nil || got != "from-b" {
		t.Errorf("Get after the other File's Set = %q, %v", got, err)
	}
}

func TestFileOverwriteAndDelete(t *testing.T) {
	f, path := newTestFile(t)

	// Given a stored secret, when it is overwritten, then Get returns the new one
	for _, v := range []string{"one", "two", "two"} {
		if err := f.Set("p", KindRefreshToken, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Set("p", KindClientSecret, "kept"); err != nil {
		t.Fatal(err)
	}
	if got, err := openTestFile(t, path).Get("p", KindRefreshToken); err != nil || got != "two" {
		t.Errorf("Get after overwrite = %q, %v; want two", got, err)
	}

	// When it is deleted, then Get reports ErrNotFound and the other kind stays
	if err := f.Delete("p", KindRefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := openTestFile(t, path).Get("p", KindRefreshToken); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if got, err := f.Get("p", KindClientSecret); err != nil || got != "kept" {
		t.Errorf("Get of the other kind = %q, %v; want kept", got, err)
	}

	// And deleting it again is not an error and does not rewrite the file
	before, _ := os.Stat(path)
	if err := f.Delete("p", KindRefreshToken); err != nil {
		t.Errorf("Delete missing: %v", err)
	}
	if after, _ := os.Stat(path); !os.SameFile(before, after) {
		t.Error("Delete of a missing secret rewrote the file")
	}
}

func TestFileMissing(t *testing.T) {
	// Given a path in a directory that does not exist yet
	dir := filepath.Join(t.TempDir(), "config", "mailgrant")
	path := filepath.Join(dir, SecretsFile)
	f := openTestFile(t, path)

	// Get reports ErrNotFound, naming the item but nothing else of note
	_, err := f.Get("p", KindRefreshToken)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on a missing file: err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "p/refresh-token") {
		t.Errorf("err = %q, does not name the item", err)
	}

	// Delete is a no-op that creates nothing
	if err := f.Delete("p", KindRefreshToken); err != nil {
		t.Errorf("Delete on a missing file: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Delete created %s (stat: %v)", dir, err)
	}

	// Set creates the directory and the file
	if err := f.Set("p", KindRefreshToken, "v"); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get("p", KindRefreshToken); err != nil || got != "v" {
		t.Errorf("Get = %q, %v", got, err)
	}
	// A missing kind of an existing profile is ErrNotFound too
	if _, err := f.Get("p", KindClientSecret); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of another kind: err = %v, want ErrNotFound", err)
	}
}

func TestFileEmptyPassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), SecretsFile)
	_, err := OpenFile(path, "")
	fe := wantFileError(t, err, ErrNoPassphrase, path)
	if !strings.Contains(fe.Hint, PassphraseEnv) {
		t.Errorf("hint = %q, does not mention %s", fe.Hint, PassphraseEnv)
	}
}

func TestFileBadWorkFactor(t *testing.T) {
	path := filepath.Join(t.TempDir(), SecretsFile)
	for _, n := range []int{-1, 31} {
		if _, err := OpenFile(path, testPassphrase, WithScryptWorkFactor(n)); !errors.Is(err, ErrFileStoreFailed) {
			t.Errorf("WithScryptWorkFactor(%d): err = %v, want ErrFileStoreFailed", n, err)
		}
	}
}

func TestFileWrongPassphrase(t *testing.T) {
	// Given a file with a secret
	f, path := newTestFile(t)
	if err := f.Set("p", KindRefreshToken, "the-secret"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	// When it is opened with another passphrase
	_, err := OpenFile(path, "not the passphrase", WithScryptWorkFactor(testWorkFactor))

	// Then OpenFile says so, with the hint, and shows neither passphrase
	fe := wantFileError(t, err, ErrWrongPassphrase, path, "the-secret", "not the passphrase")
	if want := "the passphrase does not decrypt " + path; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to say %q", err, want)
	}
	if want := "check the passphrase given (systemd credential mailgrant-passphrase, MAILGRANT_PASSPHRASE_FILE, MAILGRANT_PASSPHRASE or the prompt, in that order), or move the file aside to start over (its profiles must then be re-authorized)"; fe.Hint != want {
		t.Errorf("hint = %q, want %q", fe.Hint, want)
	}
	if errors.Is(err, ErrFileDamaged) || errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v matches another category", err)
	}

	// And a File opened before the passphrase changed under it cannot write:
	// another process re-encrypts the file with a new passphrase
	other, err := OpenFile(filepath.Join(filepath.Dir(path), "x.age"), "new passphrase", WithScryptWorkFactor(testWorkFactor))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Set("q", KindRefreshToken, "v"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other.Path(), path); err != nil {
		t.Fatal(err)
	}
	err = f.Set("p", KindRefreshToken, "overwrite")
	wantFileError(t, err, ErrWrongPassphrase, path, "overwrite")
	if _, err := f.Get("p", KindRefreshToken); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("Get: err = %v, want ErrWrongPassphrase", err)
	}
	if after, _ := os.ReadFile(path); bytes.Equal(before, after) {
		t.Error("the test did not replace the file")
	}
}

func TestFileDamaged(t *testing.T) {
	// Given a good file to damage in various ways
	good, path := newTestFile(t)
	if err := good.Set("p", KindRefreshToken, "the-secret"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header := bytes.Index(data, []byte("\n---"))
	if header < 0 {
		t.Fatal("no header end in the file")
	}
	flip := func(i int) []byte {
		d := bytes.Clone(data)
		d[i] ^= 0x01
		return d
	}
	ageKey, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var toKey bytes.Buffer
	w, _ := age.Encrypt(&toKey, ageKey.Recipient())
	w.Write([]byte(`{"version":1,"items":{}}`))
	w.Close()

	tests := []struct {
		name  string
		data  []byte // nil: written by writeAge from plain
		plain string
		cause string
	}{
		{name: "empty", data: []byte{}, cause: "is empty"},
		{name: "truncated in the magic", data: data[:10], cause: "is truncated"},
		{name: "truncated in the header", data: data[:header-5], cause: "header is damaged or truncated"},
		{name: "truncated after the header", data: data[:header+50], cause: "damaged or truncated"},
		{name: "truncated by one byte", data: data[:len(data)-1], cause: "damaged or truncated"},
		{name: "truncated to half", data: data[:len(data)/2], cause: "damaged or truncated"},
		{name: "payload byte flipped", data: flip(len(data) - 3), cause: "damaged or truncated"},
		{name: "header MAC flipped", data: flip(header + 6), cause: "header is damaged"},
		{name: "not age", data: []byte("refresh-token=plain\n"), cause: "is not an age-encrypted file"},
		{name: "encrypted to a key", data: toKey.Bytes(), cause: "encrypted to an age key, not a passphrase"},
		{name: "not JSON", plain: "refresh-token=plain", cause: "invalid JSON"},
		{name: "wrong JSON", plain: `{"version":1,"items":["x"]}`, cause: "not to a mailgrant secrets document"},
		{name: "no version", plain: `{"items":{}}`, cause: "no format version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.data != nil {
				if err := os.WriteFile(path, tt.data, 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				writeAge(t, path, testPassphrase, []byte(tt.plain))
			}
			stored, _ := os.ReadFile(path)

			// OpenFile, Get, Set and Delete all refuse it, leaving it as it is
			_, err := OpenFile(path, testPassphrase, WithScryptWorkFactor(testWorkFactor))
			fe := wantFileError(t, err, ErrFileDamaged, path, "the-secret")
			if !strings.Contains(fe.Cause, tt.cause) {
				t.Errorf("cause = %q, want it to say %q", fe.Cause, tt.cause)
			}
			if errors.Is(err, ErrWrongPassphrase) {
				t.Errorf("err = %v also matches ErrWrongPassphrase", err)
			}
			if _, err := good.Get("p", KindRefreshToken); !errors.Is(err, ErrFileDamaged) {
				t.Errorf("Get: err = %v, want ErrFileDamaged", err)
			}
			if err := good.Set("p", KindRefreshToken, "new"); !errors.Is(err, ErrFileDamaged) {
				t.Errorf("Set: err = %v, want ErrFileDamaged", err)
			}
			if err := good.Delete("p", KindRefreshToken); !errors.Is(err, ErrFileDamaged) {
				t.Errorf("Delete: err = %v, want ErrFileDamaged", err)
			}
			if now, _ := os.ReadFile(path); !bytes.Equal(now, stored) {
				t.Error("the damaged file was rewritten")
			}
		})
	}
}

func TestFileVersionTooNew(t *testing.T) {
	// Given a File opened earlier, and then a newer mailgrant writing the file
	path := filepath.Join(t.TempDir(), SecretsFile)
	f := openTestFile(t, path)
	writeAge(t, path, testPassphrase, []byte(`{"version":2,"items":{"p/refresh-token":"v"},"more":true}`))
	stored, _ := os.ReadFile(path)

	// OpenFile refuses it, saying to upgrade
	_, err := OpenFile(path, testPassphrase, WithScryptWorkFactor(testWorkFactor))
	fe := wantFileError(t, err, ErrFileTooNew, path)
	if !strings.Contains(fe.Cause, "newer mailgrant") || !strings.Contains(fe.Hint, "upgrade") {
		t.Errorf("err = %q, hint %q", err, fe.Hint)
	}

	// And the File opened earlier neither reads nor rewrites it
	if _, err := f.Get("p", KindRefreshToken); !errors.Is(err, ErrFileTooNew) {
		t.Errorf("Get: err = %v, want ErrFileTooNew", err)
	}
	if err := f.Set("p", KindRefreshToken, "older"); !errors.Is(err, ErrFileTooNew) {
		t.Errorf("Set: err = %v, want ErrFileTooNew", err)
	}
	if err := f.Delete("p", KindRefreshToken); !errors.Is(err, ErrFileTooNew) {
		t.Errorf("Delete: err = %v, want ErrFileTooNew", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, stored) {
		t.Error("a newer file was rewritten")
	}
}

func TestFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	// Given a stored secret
	f, path := newTestFile(t)
	if err := f.Set("p", KindRefreshToken, "v"); err != nil {
		t.Fatal(err)
	}

	// Then the file is readable by its owner alone
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode = %04o, want 0600", perm)
	}

	// And when others may read it, every operation refuses with chmod as hint
	for _, mode := range []fs.FileMode{0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := OpenFile(path, testPassphrase, WithScryptWorkFactor(testWorkFactor))
		fe := wantFileError(t, err, ErrFileInsecure, path)
		if want := "chmod 600 " + path; fe.Hint != want {
			t.Errorf("mode %04o: hint = %q, want %q", mode, fe.Hint, want)
		}
		if _, err := f.Get("p", KindRefreshToken); !errors.Is(err, ErrFileInsecure) {
			t.Errorf("mode %04o: Get: err = %v, want ErrFileInsecure", mode, err)
		}
		if err := f.Set("p", KindRefreshToken, "w"); !errors.Is(err, ErrFileInsecure) {
			t.Errorf("mode %04o: Set: err = %v, want ErrFileInsecure", mode, err)
		}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get("p", KindRefreshToken); err != nil || got != "v" {
		t.Errorf("Get after chmod 600 = %q, %v", got, err)
	}
}

// tempFiles lists the temporary files a File has left in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var tmps []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			tmps = append(tmps, e.Name())
		}
	}
	return tmps
}

func TestFileAtomicWrite(t *testing.T) {
	f, path := newTestFile(t)
	dir := filepath.Dir(path)
	if err := f.Set("p", KindRefreshToken, "v1"); err != nil {
		t.Fatal(err)
	}

	// Writes leave no temporary files behind
	if tmps := tempFiles(t, dir); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}

	// Given a writer that crashed, leaving a half-written temporary file
	stale := filepath.Join(dir, "."+SecretsFile+"-123456.tmp")
	if err := os.WriteFile(stale, []byte("age-encryption.org/v1\n-> scr"), 0o600); err != nil {
		t.Fatal(err)
	}
	// and one from a writer that may still be running
	fresh := filepath.Join(dir, "."+SecretsFile+"-654321.tmp")
	if err := os.WriteFile(fresh, []byte("age-encryption.org/v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	// Then reads ignore them, and the next write succeeds and removes the
	// stale one only
	if got, err := openTestFile(t, path).Get("p", KindRefreshToken); err != nil || got != "v1" {
		t.Errorf("Get with a stale temporary file = %q, %v", got, err)
	}
	if err := f.Set("p", KindRefreshToken, "v2"); err != nil {
		t.Fatal(err)
	}
	if got, err := openTestFile(t, path).Get("p", KindRefreshToken); err != nil || got != "v2" {
		t.Errorf("Get after the write = %q, %v", got, err)
	}
	if tmps := tempFiles(t, dir); len(tmps) != 1 || tmps[0] != filepath.Base(fresh) {
		t.Errorf("temporary files = %v, want only %s", tmps, filepath.Base(fresh))
	}

	// The directory holds the file and its lock, nothing else of ours
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		switch e.Name() {
		case SecretsFile, SecretsFile + ".lock", filepath.Base(fresh):
		default:
			t.Errorf("unexpected file %s", e.Name())
		}
	}
}

func TestFileConcurrentProcesses(t *testing.T) {
	// Given 20 writers, each with its own File as separate processes would be
	path := filepath.Join(t.TempDir(), SecretsFile)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := OpenFile(path, testPassphrase, WithScryptWorkFactor(testWorkFactor))
			if err != nil {
				errs <- err
				return
			}
			errs <- f.Set(fmt.Sprintf("profile%02d", i), KindRefreshToken, fmt.Sprintf("token-%d", i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	// Then no write was lost
	f := openTestFile(t, path)
	for i := range n {
		want := fmt.Sprintf("token-%d", i)
		if got, err := f.Get(fmt.Sprintf("profile%02d", i), KindRefreshToken); err != nil || got != want {
			t.Errorf("profile%02d: Get = %q, %v; want %q", i, got, err, want)
		}
	}
	if tmps := tempFiles(t, filepath.Dir(path)); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

func TestFileConcurrentSameFile(t *testing.T) {
	// One File shared by goroutines: writes and reads interleave safely
	f, _ := newTestFile(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("p%d", i)
			if err := f.Set(p, KindAccessToken, p); err != nil {
				t.Error(err)
			}
			if got, err := f.Get(p, KindAccessToken); err != nil || got != p {
				t.Errorf("Get %s = %q, %v", p, got, err)
			}
		}()
	}
	wg.Wait()
}

func TestFileNoClearText(t *testing.T) {
	// Given secrets stored in the file
	f, path := newTestFile(t)
	secrets := []string{"0.AXoA-very-secret-refresh-token", "abc~DEF_123.client-secret"}
	for i, s := range secrets {
		if err := f.Set("p", Kinds[i], s); err != nil {
			t.Fatal(err)
		}
	}

	// Then the bytes on disk contain neither the secrets nor the passphrase,
	// nor the JSON around them
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(secrets, testPassphrase, "refresh-token", `"version"`) {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the file contains %q in clear", s)
		}
	}
	if !bytes.HasPrefix(data, []byte(ageMagic)) {
		t.Errorf("the file does not start with the age header: %q", data[:min(len(data), 30)])
	}

	// And printing the File shows the path, not the passphrase
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(format, f); strings.Contains(s, testPassphrase) || !strings.Contains(s, path) {
			t.Errorf("Sprintf(%q, f) = %q", format, s)
		}
	}
}

func TestFileLargeSecret(t *testing.T) {
	// A 64 KiB secret (more than one age chunk) round trips
	f, path := newTestFile(t)
	var b strings.Builder
	for b.Len() < 64<<10 {
		fmt.Fprintf(&b, "%08x-é-", b.Len())
	}
	big := b.String()[:64<<10-2] + "é" // ends on a multi-byte character
	if err := f.Set("big", KindCertificateKey, big); err != nil {
		t.Fatal(err)
	}
	if got, err := openTestFile(t, path).Get("big", KindCertificateKey); err != nil || got != big {
		t.Errorf("Get of a 64 KiB secret: len %d, err %v; want len %d", len(got), err, len(big))
	}
}

func TestFileInvalidUTF8(t *testing.T) {
	// A value JSON cannot hold faithfully is refused, not mangled
	f, path := newTestFile(t)
	err := f.Set("p", KindRefreshToken, "bad\xffvalue")
	var fe *FileStoreError
	if !errors.As(err, &fe) || strings.Contains(err.Error(), "bad") {
		t.Errorf("Set of invalid UTF-8: err = %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused Set created the file (stat: %v)", err)
	}
}

func TestFileKeyCache(t *testing.T) {
	// Given a file written by one File
	a, path := newTestFile(t)
	if err := a.Set("p", KindRefreshToken, "v"); err != nil {
		t.Fatal(err)
	}
	// When scrypt could no longer derive the key (the identity is swapped
	// for one with another passphrase, to observe the cache), a read of the
	// version it wrote still succeeds from the remembered file key
	a.identity, _ = age.NewScryptIdentity("not the passphrase")
	if got, err := a.Get("p", KindRefreshToken); err != nil || got != "v" {
		t.Fatalf("Get from the cached key = %q, %v", got, err)
	}
	// But a version written by another File needs scrypt again
	if err := openTestFile(t, path).Set("p", KindRefreshToken, "w"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get("p", KindRefreshToken); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("Get of a new version: err = %v, want ErrWrongPassphrase", err)
	}
}

func TestFileFixture(t *testing.T) {
	// A file written by this version stays readable by later ones.
	// testdata/secrets-v1.age: passphrase testPassphrase, work factor 2.
	data, err := os.ReadFile(filepath.Join("testdata", "secrets-v1.age"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), SecretsFile)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f := openTestFile(t, path)
	for kind, want := range map[Kind]string{
		KindRefreshToken: "fixture-refresh-token",
		KindClientSecret: "fixture~client.secret",
	} {
		if got, err := f.Get("fixture", kind); err != nil || got != want {
			t.Errorf("Get %s = %q, %v; want %q", kind, got, err, want)
		}
	}
}

func TestPassphraseFromEnv(t *testing.T) {
	t.Setenv(PassphraseEnv, "from the environment")
	if p, ok := PassphraseFromEnv(); !ok || p != "from the environment" {
		t.Errorf("PassphraseFromEnv = %q, %v", p, ok)
	}
	t.Setenv(PassphraseEnv, "")
	if p, ok := PassphraseFromEnv(); !ok || p != "" {
		t.Errorf("set but empty: PassphraseFromEnv = %q, %v; want \"\", true", p, ok)
	}
	os.Unsetenv(PassphraseEnv) // t.Setenv restores it afterwards
	if _, ok := PassphraseFromEnv(); ok {
		t.Error("unset: PassphraseFromEnv reports it set")
	}
}

func FuzzFileDecode(f *testing.F) {
	for _, seed := range []string{
		`{"version":1,"items":{"p/refresh-token":"v","q/client-secret":"é\u0000"}}`,
		`{"version":1,"items":{}}`,
		`{"version":1,"items":null}`,
		`{"version":1}`,
		`{"version":2,"items":{}}`,
		`{"version":-1}`,
		`{"items":{"p/refresh-token":"v"}}`,
		`{"version":1,"items":{"p/refresh-token":1}}`,
		`{"version":"1"}`,
		`[]`,
		`null`,
		``,
		"{\"version\":1,\"items\":{\"a\":\"\xff\"}}",
		`{"version":1,"items":{"a":"b"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, plain []byte) {
		items, err := decodeItems("secrets.age", plain)
		if err != nil {
			var fe *FileStoreError
			if !errors.As(err, &fe) || !(errors.Is(err, ErrFileDamaged) || errors.Is(err, ErrFileTooNew)) {
				t.Fatalf("err = %v (%T), want a damaged or too-new *FileStoreError", err, err)
			}
			if fe.Hint == "" || !strings.Contains(fe.Cause, "secrets.age") {
				t.Fatalf("err = %q, hint %q", err, fe.Hint)
			}
			return
		}
		if items == nil {
			t.Fatal("nil items without an error")
		}
		// What decodes encodes back to the same items, at version 1
		enc, err := encodeItems(items)
		if err != nil {
			t.Fatal(err)
		}
		var c fileContent
		if err := json.Unmarshal(enc, &c); err != nil || c.Version != FileFormatVersion {
			t.Fatalf("encoded %q: version %d, %v", enc, c.Version, err)
		}
		again, err := decodeItems("secrets.age", enc)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(items, again) {
			t.Fatalf("round trip changed the items: %q then %q", items, again)
		}
	})
}
