// Package sandboxtest helps tests run mailgrant against the sandbox: Start
// serves a sandbox tenant and points MAILGRANT_LOGIN_HOST and
// MAILGRANT_GRAPH_HOST at it, and InstallFakeBrowser makes the browser that
// github.com/pkg/browser opens a program that signs in on its own.
//
//	srv := sandboxtest.Start(t, sandbox.Options{})
//	logPath := sandboxtest.InstallFakeBrowser(t)
package sandboxtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/mailgrant/mailgrant/flows/sandbox"
)

// fakeBrowserPkg is the import path of the fake browser command.
const fakeBrowserPkg = "github.com/mailgrant/mailgrant/flows/sandbox/fakebrowser"

var (
	buildOnce sync.Once
	buildBin  []byte
	buildErr  error
)

// buildFakeBrowser builds the fake browser once per test binary and returns
// the executable's bytes. The build directory is removed at once: tests
// leave nothing behind in the temporary directory (each InstallFakeBrowser
// writes its own copy into t.TempDir).
func buildFakeBrowser() ([]byte, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mailgrant-fakebrowser-")
		if err != nil {
			buildErr = fmt.Errorf("build fake browser: %w", err)
			return
		}
		defer os.RemoveAll(dir)
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("build fake browser: the go command is not on PATH: %w", err)
			return
		}
		bin := filepath.Join(dir, "xdg-open")
		out, err := exec.Command(goTool, "build", "-o", bin, fakeBrowserPkg).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build fake browser: %w\n%s", err, out)
			return
		}
		buildBin, buildErr = os.ReadFile(bin)
	})
	return buildBin, buildErr
}

// InstallFakeBrowser builds the fake browser (once per test binary), puts
// it first on PATH as xdg-open (and open) for the rest of the test, sets
// MAILGRANT_FAKE_BROWSER_LOG to a new file in t's temporary directory and
// returns that file's path: it gets one line per URL the browser visits.
// Tests choose the account and the button with MAILGRANT_FAKE_BROWSER_USER
// and MAILGRANT_FAKE_BROWSER_ACTION (via t.Setenv). It skips the test on
// Windows, where pkg/browser does not look on PATH. Everything it writes is
// under t.TempDir, so it is removed when the test ends.
func InstallFakeBrowser(t testing.TB) (logPath string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake browser replaces xdg-open/open, which Windows does not use")
	}
	bin, err := buildFakeBrowser()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bin")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// macOS's pkg/browser runs "open"; the same program serves.
	for _, name := range []string{"xdg-open", "open"} {
		if err := os.WriteFile(filepath.Join(dir, name), bin, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	logPath = filepath.Join(t.TempDir(), "fakebrowser.log")
	t.Setenv("MAILGRANT_FAKE_BROWSER_LOG", logPath)
	return logPath
}

// Start serves a sandbox tenant for opts on a loopback port, points
// MAILGRANT_LOGIN_HOST and MAILGRANT_GRAPH_HOST at it for the rest of the
// test, and closes it when the test ends.
func Start(t testing.TB, opts sandbox.Options) *sandbox.Server {
	t.Helper()
	srv, err := sandbox.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	t.Setenv("MAILGRANT_LOGIN_HOST", srv.URL())
	t.Setenv("MAILGRANT_GRAPH_HOST", srv.URL())
	return srv
}
