package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// The passphrase the file-store tests use.
const testPassphrase = "correct horse battery staple"

// child runs mailgrant as a separate process with no terminal: stdin is
// the given text, the environment is this one without the variables named in
// unset, plus set.
func child(t *testing.T, stdin string, unset []string, set []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := mailgrantProcess(ctx, t, args...)
	cmd.Env = append(environWithout(unset...), append(set, "MAILGRANT_TEST_AS_MAIN=1", "GORACE=atexit_sleep_ms=0")...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var xe *exec.ExitError
	switch {
	case errors.As(err, &xe):
		code = xe.ExitCode()
	case err != nil:
		t.Fatalf("mailgrant %v: %v", args, err)
	}
	t.Logf("child mailgrant %s → %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// environWithout is os.Environ without the named variables.
func environWithout(names ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// passphraseVars are every passphrase source; children start without them.
var passphraseVars = []string{store.CredentialsDirEnv, store.PassphraseFileEnv, store.PassphraseEnv}

// profileStore reads the store profiles.json records for a profile.
func profileStore(t *testing.T, dir, name string) store.Backend {
	t.Helper()
	ps, err := store.LoadProfiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ps.Get(name)
	if !ok {
		t.Fatalf("no profile %s", name)
	}
	return p.Store
}

// ownerOnlyFile writes content to a new file of mode 0600.
func ownerOnlyFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileSecret reads a secret from the encrypted file.
func fileSecret(t *testing.T, dir, profile string, kind store.Kind) (string, error) {
	t.Helper()
	f, err := store.OpenFile(filepath.Join(dir, store.SecretsFile), testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	return f.Get(profile, kind)
}

// setupSandbox authorizes a send-as-user profile in the sandbox, with its
// secrets in the real keyring.
func setupSandbox(t *testing.T, name string, extra ...string) {
	t.Helper()
	newBackend("keyring").setupSandbox(t, name, extra...)
}

// setupSandbox authorizes a send-as-user profile in the sandbox.
func (b *backend) setupSandbox(t *testing.T, name string, extra ...string) {
	t.Helper()
	r := b.mailgrant(t, "", append(append([]string{"--sandbox"}, extra...), "setup", "--non-interactive", "--profile", name)...)
	if r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
}

// TestMoveBothWays: a keyring profile moves to the encrypted file and back;
// each time every secret is in exactly one place, profiles.json, status and
// list say where, and token works from there without --store.
func TestMoveBothWays(t *testing.T) { forEachBackend(t, testMoveBothWays) }

func testMoveBothWays(t *testing.T, b *backend) {
	base := b.env(t, "mailgrant-sandbox", "mover")
	dir := filepath.Join(base, "sandbox")
	b.setupSandbox(t, "mover")
	if got := profileStore(t, dir, "mover"); got != store.BackendKeyring {
		t.Fatalf("a new profile records store %q, want keyring", got)
	}
	k := b.keyring("mailgrant-sandbox")
	if _, err := k.Get("mover", store.KindRefreshToken); err != nil {
		t.Fatal(err)
	}

	// When it moves to the file, with the passphrase in an owner-only file
	pf := ownerOnlyFile(t, filepath.Join(t.TempDir(), "pass"), testPassphrase+"\n")
	t.Setenv(store.PassphraseFileEnv, pf)
	r := b.mailgrant(t, "", "--sandbox", "move", "mover", "--store", "file")
	if r.code != 0 || !strings.Contains(r.stdout, "moved mover to file") {
		t.Fatalf("move to file: %d %s", r.code, r.stderr)
	}
	// Then the refresh token is in the file only, and the profile says file
	if got, err := fileSecret(t, dir, "mover", store.KindRefreshToken); err != nil || got == "" {
		t.Fatalf("refresh token not in the file: %v", err)
	}
	if _, err := k.Get("mover", store.KindRefreshToken); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the keyring still holds the refresh token: %v", err)
	}
	if got := profileStore(t, dir, "mover"); got != store.BackendFile {
		t.Errorf("profiles.json records %q, want file", got)
	}
	// And status, list and token follow it without --store
	r = b.mailgrant(t, "", "--sandbox", "status", "--json")
	var st struct {
		Profiles []struct{ Name, Store, State string } `json:"profiles"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != 0 || st.Profiles[0].Store != "file" || st.Profiles[0].State != "authorized" {
		t.Fatalf("status after the move: %d %+v %v", r.code, st, err)
	}
	r = b.mailgrant(t, "", "--sandbox", "list", "--json")
	if !strings.Contains(r.stdout, `"store": "file"`) {
		t.Errorf("list --json does not show the store:\n%s", r.stdout)
	}
	if r := b.mailgrant(t, "", "--sandbox", "token", "mover"); r.code != 0 || !graphAccepts(t, strings.TrimSpace(r.stdout), "me") {
		t.Fatalf("token from the file: %d %s", r.code, r.stderr)
	}

	// When it moves back to the keyring
	r = b.mailgrant(t, "", "--sandbox", "move", "mover", "--store", "keyring")
	if r.code != 0 {
		t.Fatalf("move to keyring: %d %s", r.code, r.stderr)
	}
	// Then the file no longer holds it, and token works with no passphrase
	if _, err := fileSecret(t, dir, "mover", store.KindRefreshToken); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the file still holds the refresh token: %v", err)
	}
	if got, err := k.Get("mover", store.KindRefreshToken); err != nil || got == "" {
		t.Errorf("the keyring has no refresh token: %v", err)
	}
	os.Unsetenv(store.PassphraseFileEnv)
	if r := b.mailgrant(t, "", "--sandbox", "token", "mover"); r.code != 0 {
		t.Fatalf("token from the keyring: %d %s", r.code, r.stderr)
	}
	// And moving to where it already is changes nothing
	if r := b.mailgrant(t, "", "--sandbox", "move", "mover", "--store", "keyring"); r.code != 0 || !strings.Contains(r.stderr, "nothing to move") {
		t.Errorf("move to the same store: %d %s", r.code, r.stderr)
	}
	if r := b.mailgrant(t, "", "--sandbox", "move", "mover"); r.code != 2 || !strings.Contains(r.stderr, "--store keyring") {
		t.Errorf("move without --store: %d %s", r.code, r.stderr)
	}
}

// TestMoveFailingTarget: when the target cannot take the secrets, the move
// changes nothing and the profile keeps working from where it was.
func TestMoveFailingTarget(t *testing.T) {
	base := env(t, "mailgrant-sandbox", "stay")
	dir := filepath.Join(base, "sandbox")
	setupSandbox(t, "stay")

	// Given an encrypted file that another passphrase protects
	other, err := store.OpenFile(filepath.Join(dir, store.SecretsFile), "another passphrase entirely")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Set("someone-else", store.KindRefreshToken, "theirs"); err != nil {
		t.Fatal(err)
	}
	// When the keyring profile is moved there with our passphrase
	t.Setenv(store.PassphraseEnv, testPassphrase)
	r := mailgrant(t, "", "--sandbox", "move", "stay", "--store", "file")
	// Then it fails, saying why, and the profile still uses the keyring
	if r.code == 0 || !strings.Contains(r.stderr, "passphrase") {
		t.Fatalf("move to an undecryptable file: %d %s", r.code, r.stderr)
	}
	if got := profileStore(t, dir, "stay"); got != store.BackendKeyring {
		t.Fatalf("profiles.json records %q after a failed move", got)
	}
	os.Unsetenv(store.PassphraseEnv)
	if r := mailgrant(t, "", "--sandbox", "token", "stay"); r.code != 0 {
		t.Fatalf("token after a failed move: %s", r.stderr)
	}

	// Given the profile in a file of its own
	if err := os.Remove(filepath.Join(dir, store.SecretsFile)); err != nil {
		t.Fatal(err)
	}
	t.Setenv(store.PassphraseEnv, testPassphrase)
	if r := mailgrant(t, "", "--sandbox", "move", "stay", "--store", "file"); r.code != 0 {
		t.Fatalf("move to file: %s", r.stderr)
	}
	// When it is moved to a keyring that cannot be reached
	r = child(t, "", []string{"DBUS_SESSION_BUS_ADDRESS"}, []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")},
		"--sandbox", "move", "stay", "--store", "keyring")
	// Then it fails naming the keyring, and the profile keeps working from the file
	if r.code == 0 || !strings.Contains(r.stderr, "D-Bus") || !strings.Contains(r.stderr, "still uses the encrypted file") {
		t.Fatalf("move to a dead keyring: %d %s", r.code, r.stderr)
	}
	if got := profileStore(t, dir, "stay"); got != store.BackendFile {
		t.Fatalf("profiles.json records %q after a failed move", got)
	}
	if got, err := fileSecret(t, dir, "stay", store.KindRefreshToken); err != nil || got == "" {
		t.Fatalf("the refresh token left the file: %v", err)
	}
	if r := mailgrant(t, "", "--sandbox", "token", "stay"); r.code != 0 {
		t.Fatalf("token after a failed move: %s", r.stderr)
	}
}

// TestStoreFlagOnlyForNewProfiles: --store file given to a command for a
// keyring profile is ignored (it chooses for new profiles): no passphrase is
// asked for, and the token comes from the keyring.
func TestStoreFlagOnlyForNewProfiles(t *testing.T) {
	env(t, "mailgrant-sandbox", "keyringer")
	setupSandbox(t, "keyringer")
	r := child(t, "", passphraseVars, nil, "--sandbox", "--store", "file", "token", "keyringer")
	if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("token with --store file for a keyring profile: %d %s", r.code, r.stderr)
	}
	r = child(t, "", passphraseVars, []string{"MAILGRANT_STORE=file"}, "--sandbox", "status", "keyringer")
	if r.code != 0 {
		t.Fatalf("status with MAILGRANT_STORE=file for a keyring profile: %d %s", r.code, r.stderr)
	}
}

// TestPassphraseSources: a file profile's passphrase comes, with no
// terminal, from the systemd credential, MAILGRANT_PASSPHRASE_FILE or
// MAILGRANT_PASSPHRASE, in that order; an unsafe passphrase file is refused
// with the fix.
func TestPassphraseSources(t *testing.T) {
	env(t, "mailgrant-sandbox", "filer")
	t.Setenv("MAILGRANT_STORE", "file")
	t.Setenv(store.PassphraseEnv, testPassphrase)
	setupSandbox(t, "filer")
	t.Setenv("MAILGRANT_STORE", "")

	tmp := t.TempDir()
	creds := filepath.Join(tmp, "creds")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	ownerOnlyFile(t, filepath.Join(creds, store.CredentialName), testPassphrase)
	good := ownerOnlyFile(t, filepath.Join(tmp, "good"), testPassphrase+"\n")
	loose := ownerOnlyFile(t, filepath.Join(tmp, "loose"), testPassphrase)
	if err := os.Chmod(loose, 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(tmp, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	wrong := "MAILGRANT_PASSPHRASE=not the passphrase"
	tests := []struct {
		name string
		set  []string
		code int
		want string // in stderr when it fails
	}{
		{"systemd credential", []string{store.CredentialsDirEnv + "=" + creds, wrong}, 0, ""},
		{"passphrase file with a newline", []string{store.PassphraseFileEnv + "=" + good, wrong}, 0, ""},
		{"credential directory without ours", []string{store.CredentialsDirEnv + "=" + t.TempDir(), store.PassphraseFileEnv + "=" + good}, 0, ""},
		{"variable", []string{"MAILGRANT_PASSPHRASE=" + testPassphrase}, 0, ""},
		{"nothing and no terminal", nil, 2, store.PassphraseFileEnv},
		{"group-readable file", []string{store.PassphraseFileEnv + "=" + loose, "MAILGRANT_PASSPHRASE=" + testPassphrase}, 2, "chmod 600 " + loose},
		{"symbolic link", []string{store.PassphraseFileEnv + "=" + link}, 2, "symbolic link"},
		{"missing file", []string{store.PassphraseFileEnv + "=" + filepath.Join(tmp, "none")}, 2, "umask 077"},
		{"wrong passphrase", []string{wrong}, 2, "passphrase"},
	}
	if os.Getuid() == 0 {
		theirs := ownerOnlyFile(t, filepath.Join(tmp, "theirs"), testPassphrase)
		if err := os.Chown(theirs, 65534, 65534); err == nil {
			tests = append(tests, struct {
				name string
				set  []string
				code int
				want string
			}{"another user's file", []string{store.PassphraseFileEnv + "=" + theirs}, 2, "chown"})
		}
	}
	t.Run("status without a passphrase", func(t *testing.T) {
		r := child(t, "", passphraseVars, nil, "--sandbox", "status", "--json")
		s := parseStatus(t, r.stdout)
		if r.code != 1 || len(s.Profiles) != 1 || s.Profiles[0].State != "error" || s.Profiles[0].Error == nil ||
			!strings.Contains(s.Profiles[0].Error.Message+s.Profiles[0].Error.Hint, store.PassphraseFileEnv) || !strings.Contains(r.stdout, `"store": "file"`) {
			t.Fatalf("status: %d %+v", r.code, s)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := child(t, "", passphraseVars, tt.set, "--sandbox", "token", "filer")
			if r.code != tt.code || tt.code == 0 && strings.TrimSpace(r.stdout) == "" || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", r.code, tt.code, tt.want, r.stderr)
			}
			if strings.Contains(r.stderr, testPassphrase) {
				t.Error("the passphrase is in the output")
			}
			if tt.code != 0 && !strings.Contains(r.stderr, "hint:") {
				t.Errorf("no hint:\n%s", r.stderr)
			}
		})
	}
}

// printedCommands returns the commands setup printed for scripts: the
// one-time preparation (if any) and the token command.
func printedCommands(t *testing.T, stderr string) (prepare, token string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(stderr))
	in := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Scripts and cron jobs on this machine"):
			in = true
		case in && strings.HasPrefix(line, "  once, "):
		case in && strings.HasPrefix(line, "    "):
			prepare = strings.TrimSpace(line)
		case in && strings.HasPrefix(line, "  "):
			return prepare, strings.TrimSpace(line)
		}
	}
	t.Fatalf("no script command in:\n%s", stderr)
	return "", ""
}

// runPrinted runs a printed command through sh -c, as a cron job would:
// mailgrant on PATH, no terminal, no MAILGRANT_ variables, no D-Bus address
// unless keepBus.
func runPrinted(t *testing.T, command, stdin string, keepBus bool) result {
	t.Helper()
	bin := t.TempDir()
	if err := os.Symlink(os.Args[0], filepath.Join(bin, "mailgrant")); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MAILGRANT_") || strings.HasPrefix(kv, "PATH=") || !keepBus && strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "MAILGRANT_TEST_AS_MAIN=1", "GORACE=atexit_sleep_ms=0")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		code = xe.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("sh -c %q → %d\n%s%s", command, code, out.String(), errb.String())
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// TestPrintedScriptCommandWorks: the command setup prints for scripts works
// as printed, through sh -c, with nothing of setup's environment: for a
// keyring profile, and for a file profile after the printed one-time step.
func TestPrintedScriptCommandWorks(t *testing.T) {
	base := env(t, "mailgrant-sandbox", "printed-k", "printed-f")

	// A keyring profile, the config directory given by the environment
	r := mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "printed-k")
	if r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	prepare, token := printedCommands(t, r.stderr)
	if prepare != "" || !strings.Contains(token, "--config-dir "+base) || strings.Contains(token, store.PassphraseFileEnv) {
		t.Fatalf("keyring profile: printed %q then %q", prepare, token)
	}
	if r := runPrinted(t, token, "", true); r.code != 0 || !graphAccepts(t, strings.TrimSpace(r.stdout), "me") {
		t.Fatalf("the printed command failed: %d %s", r.code, r.stderr)
	}

	// A file profile set up with the passphrase in the environment
	t.Setenv(store.PassphraseEnv, testPassphrase)
	r = mailgrant(t, "", "--sandbox", "--store", "file", "setup", "--non-interactive", "--profile", "printed-f")
	if r.code != 0 || !strings.Contains(r.stderr, "encrypted file "+filepath.Join(base, "sandbox", store.SecretsFile)) {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	prepare, token = printedCommands(t, r.stderr)
	if prepare == "" || !strings.HasPrefix(token, store.PassphraseFileEnv+"=") {
		t.Fatalf("file profile: printed %q then %q", prepare, token)
	}
	// The one-time step, typed as it says (passphrase, Enter, Ctrl-D)
	if r := runPrinted(t, prepare, testPassphrase+"\n", false); r.code != 0 {
		t.Fatalf("the printed preparation failed: %d %s", r.code, r.stderr)
	}
	// Then the printed command works from cron: no terminal, no D-Bus
	if r := runPrinted(t, token, "", false); r.code != 0 || !graphAccepts(t, strings.TrimSpace(r.stdout), "me") {
		t.Fatalf("the printed command failed: %d %s", r.code, r.stderr)
	}
}

// busProxy serves a socket named bus in a new directory that forwards each
// connection to the session bus at addr (unix:path= or unix:abstract=), as
// systemd's /run/user/UID/bus is the user's bus.
func busProxy(t *testing.T, addr string) string {
	t.Helper()
	var target string
	for _, part := range strings.Split(strings.TrimPrefix(addr, "unix:"), ",") {
		switch {
		case strings.HasPrefix(part, "path="):
			target = strings.TrimPrefix(part, "path=")
		case strings.HasPrefix(part, "abstract="):
			target = "@" + strings.TrimPrefix(part, "abstract=")
		}
	}
	if !strings.HasPrefix(addr, "unix:") || target == "" {
		t.Skipf("the session bus %q is not a unix socket", addr)
	}
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, "bus"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, err := net.Dial("unix", target)
				if err != nil {
					return
				}
				defer b.Close()
				go func() { _, _ = io.Copy(b, c) }()
				_, _ = io.Copy(c, b)
			}()
		}
	}()
	return dir
}

// TestCronReachesTheKeyring: with no DBUS_SESSION_BUS_ADDRESS (cron, a
// service, SSH) and no terminal, token finds the user's session bus at
// $XDG_RUNTIME_DIR/bus and reads the keyring there; with no bus there, the
// error names every address tried.
func TestCronReachesTheKeyring(t *testing.T) {
	env(t, "mailgrant-sandbox", "cron")
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		t.Skip("no session bus")
	}
	setupSandbox(t, "cron")
	runtime := busProxy(t, addr)

	r := child(t, "", []string{"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"}, []string{"XDG_RUNTIME_DIR=" + runtime}, "--sandbox", "token", "cron", "--no-cache")
	if r.code != 0 || !graphAccepts(t, strings.TrimSpace(r.stdout), "me") {
		t.Fatalf("token without DBUS_SESSION_BUS_ADDRESS: %d %s", r.code, r.stderr)
	}

	empty := t.TempDir()
	r = child(t, "", []string{"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"}, []string{"XDG_RUNTIME_DIR=" + empty}, "--sandbox", "token", "cron")
	if r.code == 0 || !strings.Contains(r.stderr, filepath.Join(empty, "bus")+" (does not exist)") || !strings.Contains(r.stderr, "/run/user/") || !strings.Contains(r.stderr, "hint:") {
		t.Fatalf("token with no bus anywhere: %d %s", r.code, r.stderr)
	}
}

// TestSandboxFileStoreKeepsNothingInTheKeyring: setup with the file store
// records it, writes nothing to the keyring, and says where.
func TestSandboxFileStoreKeepsNothingInTheKeyring(t *testing.T) {
	forEachBackend(t, testSandboxFileStoreKeepsNothingInTheKeyring)
}

func testSandboxFileStoreKeepsNothingInTheKeyring(t *testing.T, b *backend) {
	base := b.env(t, "mailgrant", "plainfile")
	sandboxtest.Start(t, sandbox.Options{})
	t.Setenv(store.PassphraseEnv, testPassphrase)
	r := b.mailgrant(t, "", "--store", "file", "setup", "--non-interactive", "--profile", "plainfile", "--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", sandbox.AdeleVance.UPN)
	if r.code != 0 || !strings.Contains(r.stderr, "is in the encrypted file "+filepath.Join(base, store.SecretsFile)+", item plainfile/refresh-token") {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	if got := profileStore(t, base, "plainfile"); got != store.BackendFile {
		t.Errorf("profiles.json records %q", got)
	}
	if _, err := b.keyring("mailgrant").Get("plainfile", store.KindRefreshToken); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the keyring holds the refresh token: %v", err)
	}
}

// TestWizardOpensTheFileOnlyWhenUsed: before the screens start, the wizard
// opens the encrypted file (asking for its passphrase there, not under the
// screens) only when it will use a file profile.
func TestWizardOpensTheFileOnlyWhenUsed(t *testing.T) {
	forEachBackend(t, testWizardOpensTheFileOnlyWhenUsed)
}

func testWizardOpensTheFileOnlyWhenUsed(t *testing.T, b *backend) {
	base := b.env(t, "mailgrant-sandbox")
	dir := filepath.Join(base, "sandbox")
	err := store.UpdateProfiles(dir, func(ps *store.Profiles) error {
		ps.Put(store.Profile{Name: "k", Scenario: store.SendAsUser, Store: store.BackendKeyring})
		ps.Put(store.Profile{Name: "f", Scenario: store.SendAsUser, Store: store.BackendFile})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	newTestApp := func() *app {
		a, err := newApp(context.Background(), &streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}, globalOptions{sandbox: true, deps: b.deps})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.close)
		return a
	}
	// Re-authorizing the keyring profile with no passphrase anywhere: the
	// file is not opened, so nothing fails
	os.Unsetenv(store.PassphraseEnv)
	a := newTestApp()
	if err := a.openFileProfiles(tui.StartReauth, "k"); err != nil || a.stores.file != nil {
		t.Fatalf("reauth of a keyring profile: %v (file opened: %v)", err, a.stores.file != nil)
	}
	// Re-authorizing the file profile with no passphrase and no terminal: it
	// says so before any screen
	a = newTestApp()
	if err := a.openFileProfiles(tui.StartReauth, "f"); !errors.Is(err, store.ErrNoPassphrase) {
		t.Fatalf("reauth of a file profile without a passphrase: %v", err)
	}
	// With a passphrase at hand, re-authorizing the keyring profile opens
	// the file too: Esc leads to the list, which checks the file profile,
	// and nothing may ask for a passphrase under the screens
	t.Setenv(store.PassphraseEnv, testPassphrase)
	a = newTestApp()
	if err := a.openFileProfiles(tui.StartReauth, "k"); err != nil || a.stores.file == nil {
		t.Fatalf("reauth of a keyring profile beside a file profile: %v (file opened: %v)", err, a.stores.file != nil)
	}
	// While the screens run, a file not opened before them is reported
	// as having no passphrase, never prompted for
	os.Unsetenv(store.PassphraseEnv)
	a = newTestApp()
	a.screensOwnTerminal(true)
	if _, err := a.fileStore(); !errors.Is(err, store.ErrNoPassphrase) {
		t.Fatalf("file store under the screens: %v", err)
	}
	// The home screen, which checks every profile, opens it up front
	t.Setenv(store.PassphraseEnv, testPassphrase)
	a = newTestApp()
	if err := a.openFileProfiles(tui.StartHome, ""); err != nil || a.stores.file == nil {
		t.Fatalf("home with a file profile: %v (file opened: %v)", err, a.stores.file != nil)
	}
	// And the wizard's Secrets send each profile to its own store
	sec := a.secrets.(profileSecrets)
	if sec.BackendFor("f") != store.BackendFile || sec.BackendFor("k") != store.BackendKeyring || sec.BackendFor("new") != store.BackendKeyring {
		t.Errorf("routing: f→%s k→%s new→%s", sec.BackendFor("f"), sec.BackendFor("k"), sec.BackendFor("new"))
	}
}
