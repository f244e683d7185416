package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
	ss "github.com/zalando/go-keyring/secret_service"
)

// These tests use the real Secret Service. Run them in a private, unlocked
// keyring with:
//
//	.ci/with-keyring env MAILGRANT_REQUIRE_KEYRING=1 go test -race ./store/...
//
// Without a reachable keyring they skip, unless MAILGRANT_REQUIRE_KEYRING=1.

var (
	keyringOnce sync.Once
	keyringErr  error
)

// requireKeyring skips the test when no working Secret Service is reachable,
// or fails it when MAILGRANT_REQUIRE_KEYRING=1, naming what is missing.
func requireKeyring(t *testing.T) {
	t.Helper()
	keyringOnce.Do(func() {
		k := NewKeyring("mailgrant-test-probe-"+randomID(), WithTimeout(5*time.Second))
		keyringErr = k.Probe()
	})
	if keyringErr == nil {
		return
	}
	msg := "no working OS keyring: " + keyringErr.Error()
	var ke *KeyringError
	if errors.As(keyringErr, &ke) {
		msg += " (" + ke.Hint + ")"
	}
	msg += "; run the tests under .ci/with-keyring"
	if os.Getenv("MAILGRANT_REQUIRE_KEYRING") == "1" {
		t.Fatal("MAILGRANT_REQUIRE_KEYRING=1 but " + msg)
	}
	t.Skip(msg)
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newTestKeyring returns a Keyring on a service of its own, removed with
// everything in it when the test ends.
func newTestKeyring(t *testing.T, opts ...KeyringOption) (*Keyring, string) {
	t.Helper()
	requireKeyring(t)
	service := "mailgrant-test-" + randomID()
	t.Cleanup(func() {
		if err := keyring.DeleteAll(service); err != nil {
			t.Errorf("clean up service %s: %v", service, err)
		}
	})
	return NewKeyring(service, opts...), service
}

// keyringUsers lists the user names of every item of service in the default
// collection, straight from the Secret Service.
func keyringUsers(t *testing.T, service string) []string {
	t.Helper()
	svc, err := ss.NewSecretService()
	if err != nil {
		t.Fatal(err)
	}
	items, err := svc.SearchItems(svc.GetLoginCollection(), map[string]string{"service": service})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, item := range items {
		v, err := svc.Object("org.freedesktop.secrets", item).GetProperty("org.freedesktop.Secret.Item.Attributes")
		if err != nil {
			t.Fatal(err)
		}
		attrs, ok := v.Value().(map[string]string)
		if !ok {
			t.Fatalf("attributes of %s are %T", item, v.Value())
		}
		users = append(users, attrs["username"])
	}
	sort.Strings(users)
	return users
}

func TestKeyringRoundTrip(t *testing.T) {
	k, _ := newTestKeyring(t)
	values := map[Kind]string{
		KindRefreshToken:   "0.AXoA-refresh-token." + strings.Repeat("x", 1500),
		KindClientSecret:   "abc~DEF_123.secret",
		KindCertificateKey: "-----BEGIN PRIVATE KEY-----\nMIIE…\n-----END PRIVATE KEY-----\n",
		KindAccessToken:    "ünïcödé 🔑",
	}
	// Given every kind of secret stored for two profiles
	for _, p := range []string{"wordpress", "cron.job-1"} {
		for kind, v := range values {
			if err := k.Set(p, kind, p+":"+v); err != nil {
				t.Fatalf("Set(%s, %s): %v", p, kind, err)
			}
		}
	}
	// Then each reads back as stored, without mixing profiles or kinds
	for _, p := range []string{"wordpress", "cron.job-1"} {
		for kind, v := range values {
			got, err := k.Get(p, kind)
			if err != nil {
				t.Fatalf("Get(%s, %s): %v", p, kind, err)
			}
			if got != p+":"+v {
				t.Errorf("Get(%s, %s) = %q, want %q", p, kind, got, p+":"+v)
			}
		}
	}
}

func TestKeyringOverwrite(t *testing.T) {
	k, service := newTestKeyring(t)
	// Given a stored refresh token
	if err := k.Set("p", KindRefreshToken, "first"); err != nil {
		t.Fatal(err)
	}
	// When a rotated one is stored
	if err := k.Set("p", KindRefreshToken, "second"); err != nil {
		t.Fatal(err)
	}
	// Then Get returns the new one, kept in a single item
	if got, err := k.Get("p", KindRefreshToken); err != nil || got != "second" {
		t.Fatalf("Get = %q, %v; want second", got, err)
	}
	if us := keyringUsers(t, service); len(us) != 1 || us[0] != "p/refresh-token" {
		t.Errorf("items = %q, want [p/refresh-token]", us)
	}
}

func TestKeyringMissing(t *testing.T) {
	k, _ := newTestKeyring(t)

	// Get of a missing secret matches ErrNotFound (and go-keyring's)
	_, err := k.Get("nobody", KindRefreshToken)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Get missing: err = %v, want ErrNotFound", err)
	}

	// Delete of a missing secret is not an error
	if err := k.Delete("nobody", KindRefreshToken); err != nil {
		t.Errorf("Delete missing: %v", err)
	}

	// Delete then Get is missing again
	if err := k.Set("p", KindClientSecret, "s"); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete("p", KindClientSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get("p", KindClientSecret); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
}

func TestKeyringLargeSecretSplit(t *testing.T) {
	// Given the Windows item cap, against the real Secret Service
	k, service := newTestKeyring(t, WithMaxItem(2560))
	big1 := secretOf(64<<10, 1)
	big2 := secretOf(64<<10, 2)
	parts := (64<<10 + 2559) / 2560

	// When a 64 KiB secret is stored
	if err := k.Set("p", KindCertificateKey, big1); err != nil {
		t.Fatalf("Set: %v", err)
	}

	// Then it reads back whole, from a head item and its parts
	if got, err := k.Get("p", KindCertificateKey); err != nil || got != big1 {
		t.Fatalf("Get = %d bytes, %v; want the 64 KiB stored", len(got), err)
	}
	first := keyringUsers(t, service)
	if len(first) != 1+parts {
		t.Fatalf("items = %d, want %d", len(first), 1+parts)
	}

	// When it is overwritten by another 64 KiB secret
	if err := k.Set("p", KindCertificateKey, big2); err != nil {
		t.Fatalf("overwrite: %v", err)
	}

	// Then the new one reads back and no part of the old one is left
	if got, err := k.Get("p", KindCertificateKey); err != nil || got != big2 {
		t.Fatalf("Get after overwrite = %d bytes, %v", len(got), err)
	}
	second := keyringUsers(t, service)
	if len(second) != 1+parts {
		t.Errorf("items after overwrite = %d, want %d", len(second), 1+parts)
	}
	for _, u := range second {
		if u != "p/certificate-key" && contains(first, u) {
			t.Errorf("stale part %q survived the overwrite", u)
		}
	}

	// When it is deleted, nothing is left
	if err := k.Delete("p", KindCertificateKey); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if us := keyringUsers(t, service); len(us) != 0 {
		t.Errorf("items after Delete: %q", us)
	}
}

func TestKeyringManifestLookalikes(t *testing.T) {
	k, service := newTestKeyring(t, WithMaxItem(256))
	values := []string{
		manifestPrefix + "0123456789abcdef:1:" + strings.Repeat("0", 64),
		splitPrefix + "anything",
		escapePrefix + "anything",
		escapePrefix + escapePrefix,
		splitPrefix + secretOf(400, 3), // escaped and split
	}
	for i, v := range values {
		// Given a value that looks like our own bookkeeping
		if err := k.Set("p", KindClientSecret, v); err != nil {
			t.Fatalf("value %d: Set: %v", i, err)
		}
		// Then it still reads back as it was
		if got, err := k.Get("p", KindClientSecret); err != nil || got != v {
			t.Errorf("value %d: Get = %q, %v; want %q", i, got, err, v)
		}
	}
	if err := k.Delete("p", KindClientSecret); err != nil {
		t.Fatal(err)
	}
	if us := keyringUsers(t, service); len(us) != 0 {
		t.Errorf("items after Delete: %q", us)
	}
}

func TestKeyringConcurrent(t *testing.T) {
	k, _ := newTestKeyring(t, WithMaxItem(512))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("p%d", i)
			v := secretOf(1000+i, byte(i))
			if err := k.Set(p, KindRefreshToken, v); err != nil {
				t.Errorf("Set %s: %v", p, err)
				return
			}
			if got, err := k.Get(p, KindRefreshToken); err != nil || got != v {
				t.Errorf("Get %s = %d bytes, %v", p, len(got), err)
			}
		}()
	}
	wg.Wait()
}

func TestKeyringProbe(t *testing.T) {
	k, service := newTestKeyring(t)
	if err := k.Probe(); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if us := keyringUsers(t, service); len(us) != 0 {
		t.Errorf("Probe left items behind: %q", us)
	}
}

// childEnv marks the test binary run as a child by TestKeyringErrorsWithoutKeyring.
const childEnv = "MAILGRANT_TEST_KEYRING_CHILD"

// TestKeyringErrorsWithoutKeyring runs the test binary again in environments
// without a usable keyring: godbus keeps one session bus connection per
// process, so a changed DBUS_SESSION_BUS_ADDRESS only counts in a new process.
func TestKeyringErrorsWithoutKeyring(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("already a child")
	}
	dir := t.TempDir()
	bareConf := filepath.Join(dir, "bare-bus.conf")
	if err := os.WriteFile(bareConf, []byte(bareBusConfig(dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		want    string // the category, as childCategories names it
		env     []string
		wrapper []string // command the child runs under
	}{
		{
			name: "no bus address",
			want: "no-bus",
			env:  []string{"DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR=" + dir},
		},
		{
			name: "dead bus socket",
			want: "no-bus",
			env:  []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(dir, "no-such-socket")},
		},
		{
			name:    "bus without Secret Service",
			want:    "no-service",
			wrapper: []string{"dbus-run-session", "--config-file=" + bareConf, "--"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-test.run=^TestKeyringChild$", "-test.v"}
			cmd := exec.Command(os.Args[0], args...)
			if len(tt.wrapper) > 0 {
				if _, err := exec.LookPath(tt.wrapper[0]); err != nil {
					if os.Getenv("MAILGRANT_REQUIRE_KEYRING") == "1" {
						t.Fatalf("%s is not installed (apt-get install dbus)", tt.wrapper[0])
					}
					t.Skipf("%s is not installed", tt.wrapper[0])
				}
				cmd = exec.Command(tt.wrapper[0], append(append(tt.wrapper[1:], os.Args[0]), args...)...)
			}
			// GORACE: a race-enabled child would otherwise linger 1 s at exit.
			cmd.Env = append(os.Environ(), append(tt.env, childEnv+"="+tt.want, "GORACE=atexit_sleep_ms=0")...)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: TestKeyringChild") {
				t.Fatalf("child failed (%v):\n%s", err, out)
			}
		})
	}
}

// childCategories maps what a child expects to the error category and hint.
var childCategories = map[string]struct {
	category error
	hint     string
}{
	"no-bus":     {ErrNoSessionBus, hintNoBus},
	"no-service": {ErrNoSecretService, hintNoService},
}

// TestKeyringChild runs only as a child of TestKeyringErrorsWithoutKeyring.
func TestKeyringChild(t *testing.T) {
	want, ok := childCategories[os.Getenv(childEnv)]
	if !ok {
		t.Skip("runs only as a child of TestKeyringErrorsWithoutKeyring")
	}
	k := NewKeyring("mailgrant-test-"+randomID(), WithTimeout(5*time.Second))
	calls := map[string]func() error{
		"get":    func() error { _, err := k.Get("p", KindRefreshToken); return err },
		"set":    func() error { return k.Set("p", KindRefreshToken, "s3cret-value") },
		"delete": func() error { return k.Delete("p", KindRefreshToken) },
		"probe":  k.Probe,
	}
	for op, call := range calls {
		err := call()
		var ke *KeyringError
		if !errors.As(err, &ke) || !errors.Is(err, want.category) {
			t.Errorf("%s: err = %v, want a *KeyringError matching %v", op, err, want.category)
			continue
		}
		if !strings.HasSuffix(ke.Hint, want.hint) || ke.Op != op {
			t.Errorf("%s: Op %q, Hint %q; want hint %q", op, ke.Op, ke.Hint, want.hint)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error contains the secret", op)
		}
		if op == "get" && errors.Is(err, ErrNotFound) {
			t.Errorf("get: an unreachable keyring must not look like a missing secret")
		}
		t.Logf("%s: %v (hint: %s)", op, err, ke.Hint)
	}
	var dbe dbus.Error
	if want.category == ErrNoSecretService {
		_, err := k.Get("p", KindRefreshToken)
		if !errors.As(err, &dbe) || dbe.Name != dbusServiceName {
			t.Errorf("the underlying error is %#v, want the D-Bus ServiceUnknown error", errors.Unwrap(err))
		}
	}
}

// bareBusConfig is a session bus configuration that activates no services,
// so org.freedesktop.secrets is unknown on it.
func bareBusConfig(dir string) string {
	return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=` + dir + `</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
}
