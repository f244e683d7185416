package sandboxtest

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// TestInstallFakeBrowserLeavesNothing: building and installing the stand-in
// browser leaves no mailgrant-fakebrowser-* folder in the temporary
// directory (each run used to leave 35 MB behind).
func TestInstallFakeBrowserLeavesNothing(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	buildOnce, buildBin, buildErr = sync.Once{}, nil, nil // build again, under this TMPDIR
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "mailgrant-fakebrowser-*"))
	t.Run("install", func(t *testing.T) {
		log := InstallFakeBrowser(t)
		if log == "" {
			t.Fatal("no log path")
		}
	})
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "mailgrant-fakebrowser-*"))
	for _, d := range after {
		if !slices.Contains(before, d) {
			t.Errorf("left behind: %s", d)
		}
	}
}
