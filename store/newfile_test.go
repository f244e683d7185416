package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteNewFileNeverReplaces: without force, an existing file, a symbolic
// link (to a file or dangling) and a directory are refused and left as they
// were; with force a link is replaced, not followed.
func TestWriteNewFileNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "profiles.json")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "cert.pem")
	if err := os.Symlink(victim, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	dangling := filepath.Join(dir, "dangling.pem")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{victim, link, dangling, dir} {
		if err := WriteNewFile(path, []byte("new"), 0o644, false); !errors.Is(err, fs.ErrExist) {
			t.Errorf("%s: err = %v, want one wrapping fs.ErrExist", path, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); !os.IsNotExist(err) {
		t.Error("a dangling link was followed")
	}
	if err := WriteNewFile(link, []byte("new"), 0o644, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("--force wrote through the link: the target now holds %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink != 0 || fi.Mode().Perm() != 0o644 {
		t.Fatalf("--force did not replace the link with a 0644 file: %v %v", fi.Mode(), err)
	}
	if err := WriteNewFile(dir, []byte("x"), 0o644, true); err == nil {
		t.Error("a directory was replaced")
	}
	fresh := filepath.Join(dir, "fresh.ps1")
	if err := WriteNewFile(fresh, []byte("script"), 0o644, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(fresh); string(b) != "script" {
		t.Fatalf("fresh file holds %q", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".tmp" {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}
