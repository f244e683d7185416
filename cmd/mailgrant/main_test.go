package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
	"github.com/mailgrant/mailgrant/store"
)

// TestMain lets the test binary stand in for the mailgrant binary: with
// MAILGRANT_TEST_AS_MAIN=1 it runs main, so tests can start real processes
// (concurrency across processes, kill -9) without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("MAILGRANT_TEST_AS_MAIN") == "1" {
		if path := os.Getenv(peakRSSEnv); path != "" {
			code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			writePeakRSS(path)
			os.Exit(code)
		}
		main()
		return
	}
	os.Exit(m.Run())
}

// result is what one mailgrant run printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// mailgrant runs the command line in process, with stdin not a terminal.
func mailgrant(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	t.Logf("mailgrant %s → %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// mailgrantProcess runs the command line as a separate process.
func mailgrantProcess(ctx context.Context, t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MAILGRANT_TEST_AS_MAIN=1")
	return cmd
}

// requireKeyring skips the test when no Secret Service answers, unless
// MAILGRANT_REQUIRE_KEYRING=1 (CI), where that is a failure.
func requireKeyring(t testing.TB) {
	t.Helper()
	err := store.NewKeyring("mailgrant-test-probe", store.WithTimeout(5*time.Second)).Probe()
	if err == nil {
		return
	}
	if os.Getenv("MAILGRANT_REQUIRE_KEYRING") == "1" {
		t.Fatalf("MAILGRANT_REQUIRE_KEYRING=1 but the keyring does not work: %v", err)
	}
	t.Skipf("no usable keyring (%v); run under .ci/with-keyring", err)
}

// env prepares a test: a keyring, a config dir, the stand-in browser, and
// cleanup of every keyring item the test's profiles may have left.
func env(t *testing.T, service string, profiles ...string) string {
	t.Helper()
	requireKeyring(t)
	dir := testEnv(t)
	t.Cleanup(func() {
		k := store.NewKeyring(service)
		for _, p := range profiles {
			for _, kind := range store.Kinds {
				_ = k.Delete(p, kind)
			}
		}
	})
	return dir
}

// testEnv prepares a test that needs no keyring: a config dir, the
// stand-in browser, and none of mailgrant's variables from the caller.
func testEnv(t *testing.T) string {
	t.Helper()
	sandboxtest.InstallFakeBrowser(t)
	dir := t.TempDir()
	t.Setenv("MAILGRANT_CONFIG_DIR", dir)
	t.Setenv("MAILGRANT_CLIENT_SECRET", "")
	t.Setenv("MAILGRANT_SANDBOX", "")
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", "")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", "")
	t.Setenv("MAILGRANT_FAKE_BROWSER_ACTION", "")
	t.Setenv("MAILGRANT_STORE", "")
	t.Setenv("MAILGRANT_CERTIFICATE_PASSWORD", "")
	t.Setenv("HTTPS_PROXY", "")
	t.Setenv("MAILGRANT_PASSPHRASE", "")
	os.Unsetenv("MAILGRANT_PASSPHRASE") // set but empty would be refused; t.Setenv restores it
	return dir
}
