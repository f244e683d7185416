package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// passphraseEnv clears every passphrase source for one test.
func passphraseEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{CredentialsDirEnv, PassphraseFileEnv, PassphraseEnv} {
		t.Setenv(k, "")
		os.Unsetenv(k) // t.Setenv restores it
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

func TestLookupPassphraseOrder(t *testing.T) {
	dir := t.TempDir()
	creds := t.TempDir()
	writeFile(t, filepath.Join(creds, CredentialName), "from-credential\n", 0o400)
	file := writeFile(t, filepath.Join(dir, "passphrase"), "from-file\r\n", 0o600)

	// Given nothing set, there is no passphrase (the caller may prompt)
	passphraseEnv(t)
	if p, ok, err := LookupPassphrase(); ok || err != nil {
		t.Fatalf("nothing set: %v %v %v", p, ok, err)
	}
	// Each source wins over the ones after it; a file's newline is dropped
	t.Setenv(PassphraseEnv, "from-env")
	check(t, "env", "from-env", FromEnv)
	t.Setenv(PassphraseFileEnv, file)
	check(t, "file", "from-file", FromFile)
	t.Setenv(CredentialsDirEnv, creds)
	check(t, "credential", "from-credential", FromCredential)
	// A credentials directory without our credential is another service's
	t.Setenv(CredentialsDirEnv, t.TempDir())
	check(t, "other credentials", "from-file", FromFile)
}

func check(t *testing.T, name, value string, source PassphraseSource) {
	t.Helper()
	p, ok, err := LookupPassphrase()
	if !ok || err != nil || p.Value != value || p.Source != source {
		t.Errorf("%s: got %q from %q (%v, %v); want %q from %q", name, p.Value, p.Source, ok, err, value, source)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v %s", p, p, p, p), value) {
		t.Errorf("%s: formatting a Passphrase shows its value", name)
	}
}

func TestPassphraseFileRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good"), "pass\n", 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, cause, hint string
	}{
		{"group readable", writeFile(t, filepath.Join(dir, "g"), "pass", 0o640), "mode 0640", "chmod 600"},
		{"world readable", writeFile(t, filepath.Join(dir, "o"), "pass", 0o604), "mode 0604", "chmod 600"},
		{"missing", filepath.Join(dir, "none"), "no such file", "umask 077"},
		{"directory", dir, "not a regular file", "regular file"},
		{"symbolic link", link, "symbolic link", "file itself"},
		{"relative", "passphrase", "relative", "absolute path"},
		{"empty variable", "", "set but empty", "unset it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given MAILGRANT_PASSPHRASE_FILE naming an unsafe file, and
			// MAILGRANT_PASSPHRASE set as well
			passphraseEnv(t)
			t.Setenv(PassphraseFileEnv, tt.path)
			t.Setenv(PassphraseEnv, "from-env")
			// When the passphrase is looked up
			p, ok, err := LookupPassphrase()
			// Then it is refused, saying why and how to fix it, and the
			// variable after it is not used instead
			var fe *FileStoreError
			if ok || !errors.As(err, &fe) || !errors.Is(err, ErrPassphraseFileRefused) {
				t.Fatalf("got %v %v %v; want ErrPassphraseFileRefused", p, ok, err)
			}
			if !strings.Contains(fe.Error(), tt.cause) || !strings.Contains(fe.Error(), PassphraseFileEnv) || !strings.Contains(fe.Hint, tt.hint) {
				t.Errorf("error %q hint %q; want %q and %q", fe.Error(), fe.Hint, tt.cause, tt.hint)
			}
			if strings.Contains(fe.Error()+fe.Hint, "pass\n") {
				t.Error("the error shows the file's content")
			}
		})
	}
}

func TestPassphraseFileOwnedByAnother(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	// Given an owner-only file that belongs to another user
	path := writeFile(t, filepath.Join(t.TempDir(), "theirs"), "pass", 0o600)
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Skip(err)
	}
	passphraseEnv(t)
	t.Setenv(PassphraseFileEnv, path)
	// Then it is refused with the chown fix
	_, _, err := LookupPassphrase()
	var fe *FileStoreError
	if !errors.As(err, &fe) || !strings.Contains(fe.Error(), "owned by uid 65534") || !strings.Contains(fe.Hint, "chown") {
		t.Fatalf("err = %v (%+v)", err, fe)
	}
}

// FuzzReadTrimmed: a passphrase file's content is kept byte for byte but
// for one trailing newline (LF or CRLF).
func FuzzReadTrimmed(f *testing.F) {
	for _, s := range []string{"", "pass", "pass\n", "pass\r\n", "pass\n\n", "\r", "a\rb\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := readTrimmed(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		want := s
		if strings.HasSuffix(want, "\n") {
			want = strings.TrimSuffix(strings.TrimSuffix(want, "\n"), "\r")
		}
		if got != want {
			t.Fatalf("readTrimmed(%q) = %q, want %q", s, got, want)
		}
	})
}
