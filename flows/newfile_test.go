package flows_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
)

// TestCheckNewFile: the one check for files mailgrant writes for the user,
// before any work; a file in the way is reported as fs.ErrExist (so a front
// end can say how it replaces one), other problems are not.
func TestCheckNewFile(t *testing.T) {
	dir := t.TempDir()
	taken := filepath.Join(dir, "taken.pem")
	if err := os.WriteFile(taken, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.pem")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		force      bool
		problem    string
		exists     bool
	}{
		{"a new path", filepath.Join(dir, "new.pem"), false, "", false},
		{"a file in the way", taken, false, "already exists", true},
		{"a file in the way, forced", taken, true, "", false},
		{"a dangling link", link, false, "already exists", true},
		{"a directory", dir, true, "is a directory", false},
		{"no such directory", filepath.Join(dir, "no", "x.pem"), false, "does not exist", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := flows.CheckNewFile("new-certificate", tc.path, tc.force)
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("CheckNewFile = %v", err)
				}
				return
			}
			var ie *flows.InputError
			if !errors.As(err, &ie) || ie.Field != "new-certificate" || !strings.Contains(ie.Problem, tc.problem) || ie.Hint == "" {
				t.Fatalf("CheckNewFile = %#v, want %q", err, tc.problem)
			}
			if errors.Is(err, fs.ErrExist) != tc.exists {
				t.Fatalf("errors.Is(fs.ErrExist) = %v, want %v", !tc.exists, tc.exists)
			}
		})
	}

	// WriteNewFile refuses the same file with the same words, and leaves it.
	err := flows.WriteNewFile("output", taken, []byte("y"), 0o644, false)
	var ie *flows.InputError
	if !errors.As(err, &ie) || ie.Field != "output" || !strings.Contains(ie.Problem, "already exists") || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteNewFile over a file = %v", err)
	}
	if data, _ := os.ReadFile(taken); string(data) != "x" {
		t.Fatal("WriteNewFile replaced the file")
	}
}
