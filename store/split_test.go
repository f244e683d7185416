package store

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// These tests run Keyring over fakeBackend, an in-memory keyring that can cap
// item sizes, crash after a number of writes, or block. The same behaviour is
// checked against the real Secret Service in keyring_test.go.

var errCrash = errors.New("simulated crash")

type fakeBackend struct {
	mu      sync.Mutex
	items   map[string]string // user -> value (one service per fake)
	max     int               // largest item; 0 = unlimited
	writes  int               // successful writes (set and delete)
	crashAt int               // the write with this index fails and the fake dies; -1 = never
	dead    bool
	block   chan struct{} // when set, every call waits until it is closed
	onGet   func(user string)
}

func newFake(max int) *fakeBackend {
	return &fakeBackend{items: map[string]string{}, max: max, crashAt: -1}
}

func (f *fakeBackend) wait() {
	if f.block != nil {
		<-f.block
	}
}

func (f *fakeBackend) get(_, user string) (string, error) {
	f.wait()
	f.mu.Lock()
	hook := f.onGet
	if f.dead {
		f.mu.Unlock()
		return "", errCrash
	}
	v, ok := f.items[user]
	f.mu.Unlock()
	if hook != nil {
		hook(user)
	}
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

// write applies one change unless the fake is dead or crashes now.
func (f *fakeBackend) write(apply func() error) error {
	f.wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead || f.writes == f.crashAt {
		f.dead = true
		return errCrash
	}
	if err := apply(); err != nil {
		return err
	}
	f.writes++
	return nil
}

func (f *fakeBackend) set(_, user, value string) error {
	return f.write(func() error {
		if f.max > 0 && len(value) > f.max {
			return keyring.ErrSetDataTooBig
		}
		f.items[user] = value
		return nil
	})
}

func (f *fakeBackend) delete(_, user string) error {
	return f.write(func() error {
		if _, ok := f.items[user]; !ok {
			return keyring.ErrNotFound
		}
		delete(f.items, user)
		return nil
	})
}

// crashAfter makes the fake die on the n-th write from now.
func (f *fakeBackend) crashAfter(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.crashAt = f.writes + n
}

// restart brings a crashed fake back with what it had stored.
func (f *fakeBackend) restart() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead = false
	f.crashAt = -1
}

func (f *fakeBackend) users() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var us []string
	for u := range f.items {
		us = append(us, u)
	}
	sort.Strings(us)
	return us
}

// secretOf returns a deterministic value of n bytes.
func secretOf(n int, seed byte) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'A' + (byte(i)+seed)%26
	}
	return string(b)
}

func TestSplitRoundTrip(t *testing.T) {
	const max = 300
	tests := []struct {
		name  string
		value string
		items int // keyring items the secret occupies
	}{
		{"empty", "", 1},
		{"one byte", "x", 1},
		{"exactly the cap", secretOf(max, 1), 1},
		{"one byte over", secretOf(max+1, 2), 3},
		{"64 KiB", secretOf(64<<10, 3), 1 + (64<<10+max-1)/max},
		{"multi-byte runes", strings.Repeat("é€😀", 200), 1 + len(chunks(strings.Repeat("é€😀", 200), max))},
		{"looks like a manifest", manifestPrefix + "0123456789abcdef:1:" + strings.Repeat("0", 64), 1},
		{"looks like an escape", escapePrefix + "hello", 1},
		{"bare split prefix", splitPrefix, 1},
		{"manifest-like and over the cap once escaped", splitPrefix + secretOf(max-len(splitPrefix), 4), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given a keyring whose items hold at most 300 bytes
			f := newFake(max)
			k := NewKeyring("svc", withBackend(f), WithMaxItem(max))

			// When the secret is stored and read back
			if err := k.Set("p", KindCertificateKey, tt.value); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := k.Get("p", KindCertificateKey)

			// Then it is the same, in the expected number of items
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got != tt.value {
				t.Fatalf("Get returned %d bytes, want the %d stored", len(got), len(tt.value))
			}
			if us := f.users(); len(us) != tt.items {
				t.Errorf("items = %d %q, want %d", len(us), us, tt.items)
			}

			// And deleting it leaves nothing behind
			if err := k.Delete("p", KindCertificateKey); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if us := f.users(); len(us) != 0 {
				t.Errorf("items left after Delete: %q", us)
			}
		})
	}
}

func TestSplitOverwriteLeavesNoStaleParts(t *testing.T) {
	// Given a split secret
	f := newFake(256)
	k := NewKeyring("svc", withBackend(f), WithMaxItem(256))
	big1, big2, small := secretOf(5000, 1), secretOf(3000, 2), "small"
	if err := k.Set("p", KindRefreshToken, big1); err != nil {
		t.Fatal(err)
	}
	first := f.users()

	// When it is overwritten by another split secret
	if err := k.Set("p", KindRefreshToken, big2); err != nil {
		t.Fatal(err)
	}

	// Then only the new generation's parts remain
	second := f.users()
	if want := 1 + (3000+255)/256; len(second) != want {
		t.Errorf("items = %d, want %d", len(second), want)
	}
	for _, u := range second {
		if u != "p/refresh-token" && contains(first, u) {
			t.Errorf("part %q of the old generation survived", u)
		}
	}
	if got, _ := k.Get("p", KindRefreshToken); got != big2 {
		t.Error("Get did not return the new secret")
	}

	// When it is overwritten by a small secret
	if err := k.Set("p", KindRefreshToken, small); err != nil {
		t.Fatal(err)
	}

	// Then only the head item remains
	if us := f.users(); len(us) != 1 {
		t.Errorf("items = %q, want only the head", us)
	}
	if got, _ := k.Get("p", KindRefreshToken); got != small {
		t.Errorf("Get = %q, want %q", got, small)
	}
}

func TestSplitFallsBackWhenKeyringRefusesBigItem(t *testing.T) {
	// Given a keyring that refuses items over 2000 bytes although no cap was set
	f := newFake(2000)
	k := NewKeyring("svc", withBackend(f), WithMaxItem(0))
	value := secretOf(10000, 5)

	// When a larger secret is stored
	if err := k.Set("p", KindCertificateKey, value); err != nil {
		t.Fatalf("Set: %v", err)
	}

	// Then it was split and reads back whole
	if got, err := k.Get("p", KindCertificateKey); err != nil || got != value {
		t.Fatalf("Get = %d bytes, %v; want the %d stored", len(got), err, len(value))
	}
	if us := f.users(); len(us) < 2 {
		t.Errorf("items = %q, want a head and parts", us)
	}
}

func TestSplitTooBigEvenForParts(t *testing.T) {
	// Given a keyring that refuses anything over 1000 bytes, with no cap set
	f := newFake(1000)
	k := NewKeyring("svc", withBackend(f))
	k.maxItem = 0

	// When a secret is stored whose fallback parts are still too big
	err := k.Set("p", KindCertificateKey, secretOf(5000, 1))

	// Then the error says so, and nothing is left behind
	var ke *KeyringError
	if !errors.As(err, &ke) || !errors.Is(err, ErrKeyringFailed) || !errors.Is(err, keyring.ErrSetDataTooBig) {
		t.Fatalf("err = %v, want a *KeyringError wrapping ErrSetDataTooBig", err)
	}
	if us := f.users(); len(us) != 0 {
		t.Errorf("items left: %q", us)
	}
}

func TestSplitCrashSafety(t *testing.T) {
	const max = 200
	values := map[string]string{
		"plain":       "plain-old-secret",
		"split 3":     secretOf(550, 1),
		"split 5":     secretOf(1000, 2),
		"split 3 too": secretOf(450, 3),
	}
	for oldName, old := range values {
		for newName, nu := range values {
			if oldName == newName {
				continue
			}
			t.Run(oldName+" to "+newName, func(t *testing.T) {
				for crash := 0; ; crash++ {
					// Given the old secret stored
					f := newFake(max)
					k := NewKeyring("svc", withBackend(f), WithMaxItem(max))
					if err := k.Set("p", KindRefreshToken, old); err != nil {
						t.Fatal(err)
					}

					// When the process dies at the crash-th write of an overwrite
					f.crashAfter(crash)
					setErr := k.Set("p", KindRefreshToken, nu)
					crashed := f.dead
					f.restart()

					// Then a fresh Keyring reads exactly the old or the new secret
					got, err := NewKeyring("svc", withBackend(f), WithMaxItem(max)).Get("p", KindRefreshToken)
					if err != nil {
						t.Fatalf("crash at write %d: Get: %v", crash, err)
					}
					if got != old && got != nu {
						t.Fatalf("crash at write %d: Get returned a mix (%d bytes)", crash, len(got))
					}
					if setErr == nil && got != nu {
						t.Fatalf("crash at write %d: Set succeeded but Get returned the old secret", crash)
					}
					if !crashed {
						// The crash point is past the overwrite's last write.
						if setErr != nil {
							t.Fatalf("Set: %v", setErr)
						}
						if us := f.users(); len(us) != len(chunksOrOne(nu, max)) {
							t.Errorf("items after a clean overwrite: %q", us)
						}
						return
					}
					if crash > 100 {
						t.Fatal("Set never finished")
					}
				}
			})
		}
	}
}

// chunksOrOne returns the items a value occupies: the head plus its parts.
func chunksOrOne(v string, max int) []string {
	if len(v) <= max {
		return []string{v}
	}
	return append([]string{"head"}, chunks(v, max)...)
}

func TestSplitCrashDuringDelete(t *testing.T) {
	const max = 200
	for crash := 0; crash < 10; crash++ {
		// Given a split secret
		f := newFake(max)
		k := NewKeyring("svc", withBackend(f), WithMaxItem(max))
		old := secretOf(900, 7)
		if err := k.Set("p", KindRefreshToken, old); err != nil {
			t.Fatal(err)
		}

		// When Delete dies part-way
		f.crashAfter(crash)
		_ = k.Delete("p", KindRefreshToken)
		f.restart()

		// Then the secret is either whole or missing, never damaged
		got, err := k.Get("p", KindRefreshToken)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			t.Fatalf("crash at write %d: Get: %v", crash, err)
		case got != old:
			t.Fatalf("crash at write %d: Get returned a different value", crash)
		}
	}
}

func TestSplitGetRetriesWhenSetRacesIt(t *testing.T) {
	// Given a split secret, and a second writer that replaces it right after
	// a reader has read the head
	f := newFake(200)
	k := NewKeyring("svc", withBackend(f), WithMaxItem(200))
	old, nu := secretOf(900, 1), secretOf(700, 2)
	if err := k.Set("p", KindRefreshToken, old); err != nil {
		t.Fatal(err)
	}
	var raced atomic.Bool
	f.onGet = func(user string) {
		if user == "p/refresh-token" && raced.CompareAndSwap(false, true) {
			w := NewKeyring("svc", withBackend(f), WithMaxItem(200))
			if err := w.Set("p", KindRefreshToken, nu); err != nil {
				t.Errorf("racing Set: %v", err)
			}
		}
	}

	// When the reader goes on to read the parts its head named
	got, err := k.Get("p", KindRefreshToken)

	// Then it notices the head moved and returns the new secret
	if err != nil || got != nu {
		t.Fatalf("Get = %d bytes, %v; want the new secret", len(got), err)
	}
}

func TestSplitDamaged(t *testing.T) {
	secret := secretOf(900, 9)
	tests := []struct {
		name     string
		damage   func(f *fakeBackend, parts []string)
		notFound bool
	}{
		{"missing part", func(f *fakeBackend, parts []string) { delete(f.items, parts[1]) }, true},
		{"altered part", func(f *fakeBackend, parts []string) { f.items[parts[0]] = "tampered" }, false},
		{"garbled manifest", func(f *fakeBackend, _ []string) { f.items["p/refresh-token"] = manifestPrefix + "zz" }, false},
		{"newer layout", func(f *fakeBackend, _ []string) { f.items["p/refresh-token"] = splitPrefix + "v9:whatever" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given a split secret whose items were damaged behind our back
			f := newFake(200)
			k := NewKeyring("svc", withBackend(f), WithMaxItem(200))
			if err := k.Set("p", KindRefreshToken, secret); err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, u := range f.users() {
				if strings.Contains(u, "#") {
					parts = append(parts, u)
				}
			}
			tt.damage(f, parts)

			// When it is read
			_, err := k.Get("p", KindRefreshToken)

			// Then the error says it is damaged, with a hint, and shows no secret
			var ke *KeyringError
			if !errors.As(err, &ke) || !errors.Is(err, ErrSecretDamaged) || ke.Hint == "" {
				t.Fatalf("err = %#v, want a damaged *KeyringError with a hint", err)
			}
			if got := errors.Is(err, ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", got, tt.notFound)
			}
			if strings.Contains(err.Error(), secret[:50]) {
				t.Error("the error contains the secret")
			}

			// And Delete still clears it
			if err := k.Delete("p", KindRefreshToken); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		})
	}
}

func TestKeyringTimeout(t *testing.T) {
	// Given a keyring that never answers (as when it waits on an unlock prompt)
	f := newFake(0)
	f.block = make(chan struct{})
	t.Cleanup(func() { close(f.block) })
	k := NewKeyring("svc", withBackend(f), WithTimeout(50*time.Millisecond))

	calls := map[string]func() error{
		"get":    func() error { _, err := k.Get("p", KindRefreshToken); return err },
		"set":    func() error { return k.Set("p", KindRefreshToken, "s3cret-value") },
		"delete": func() error { return k.Delete("p", KindRefreshToken) },
		"probe":  k.Probe,
	}
	for op, call := range calls {
		t.Run(op, func(t *testing.T) {
			// When it is called
			start := time.Now()
			err := call()

			// Then the call gives up after the timeout with a hint
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s took %s", op, d)
			}
			var ke *KeyringError
			if !errors.As(err, &ke) || !errors.Is(err, ErrKeyringTimeout) {
				t.Fatalf("err = %v, want a timeout *KeyringError", err)
			}
			if ke.Op != op || ke.Cause != "the keyring did not answer within 50ms" || ke.Hint != hintTimeout {
				t.Errorf("got Op %q, Cause %q, Hint %q", ke.Op, ke.Cause, ke.Hint)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Error("the error contains the secret")
			}
		})
	}
}

func TestKeyringDefaults(t *testing.T) {
	k := NewKeyring("mailgrant")
	if k.timeout != DefaultKeyringTimeout {
		t.Errorf("timeout = %s, want %s", k.timeout, DefaultKeyringTimeout)
	}
	if got := NewKeyring("x", WithMaxItem(10)).maxItem; got != minMaxItem {
		t.Errorf("WithMaxItem(10) gave %d, want it raised to %d", got, minMaxItem)
	}
	if got := NewKeyring("x", WithTimeout(0)).timeout; got != DefaultKeyringTimeout {
		t.Errorf("WithTimeout(0) gave %s, want the default", got)
	}
}

func TestTranslate(t *testing.T) {
	k := NewKeyring("svc")
	tests := []struct {
		name     string
		err      error
		category error
		hint     string
	}{
		{"service unknown", dbus.Error{Name: dbusServiceName, Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"}}, ErrNoSecretService, hintNoService},
		{"service unknown by pointer", &dbus.Error{Name: dbusServiceName}, ErrNoSecretService, hintNoService},
		{"activation failed", dbus.Error{Name: "org.freedesktop.DBus.Error.Spawn.ChildExited"}, ErrNoSecretService, hintNoService},
		{"locked", dbus.Error{Name: secretIsLocked}, ErrKeyringLocked, hintLocked},
		{"prompt dismissed", fmt.Errorf("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"), ErrKeyringLocked, hintLocked},
		{"no default collection", dbus.Error{Name: secretNoSuchObj}, ErrKeyringFailed, hintNoCollection},
		{"no reply", dbus.Error{Name: dbusNoReply}, ErrKeyringTimeout, hintTimeout},
		{"no bus", &noSessionBusError{reason: "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"}, ErrNoSessionBus, hintNoBus},
		{"too big", keyring.ErrSetDataTooBig, ErrKeyringFailed, hintTooBig},
		{"other", errors.New("something odd"), ErrKeyringFailed, hintOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := k.translate("get", "p/refresh-token", tt.err)
			var ke *KeyringError
			if !errors.As(err, &ke) {
				t.Fatalf("got %T, want *KeyringError", err)
			}
			if !errors.Is(err, tt.category) || ke.Hint != tt.hint || ke.Cause == "" {
				t.Errorf("got %v (hint %q), want category %v and hint %q", err, ke.Hint, tt.category, tt.hint)
			}
			if !reflect.DeepEqual(ke.Err, tt.err) {
				t.Errorf("Err = %#v, want the original error", ke.Err)
			}
		})
	}

	t.Run("not found", func(t *testing.T) {
		err := k.translate("get", "p/refresh-token", keyring.ErrNotFound)
		if !errors.Is(err, ErrNotFound) || !errors.Is(err, keyring.ErrNotFound) {
			t.Errorf("got %v, want it to match store.ErrNotFound and keyring.ErrNotFound", err)
		}
	})

	t.Run("WSL", func(t *testing.T) {
		saved := isWSL
		isWSL = func() bool { return true }
		t.Cleanup(func() { isWSL = saved })
		var ke *KeyringError
		errors.As(k.translate("get", "p/x", dbus.Error{Name: dbusServiceName}), &ke)
		if !strings.HasPrefix(ke.Hint, "WSL has no Secret Service by default") {
			t.Errorf("hint = %q, want it to mention WSL", ke.Hint)
		}
	})
}

func TestChunksKeepRunesWhole(t *testing.T) {
	s := strings.Repeat("a€😀", 100)
	for size := 4; size < 20; size++ {
		parts := chunks(s, size)
		if strings.Join(parts, "") != s {
			t.Fatalf("size %d: parts do not join back", size)
		}
		for _, p := range parts {
			if len(p) > size || !utf8.ValidString(p) {
				t.Fatalf("size %d: bad part %q", size, p)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestKeyringGivesUpAfterATimeout: issue 11 item 5. Once one call has timed
// out, later calls fail at once instead of waiting the timeout again; every
// Keyring on the OS keyring shares that verdict, for the whole process.
func TestKeyringGivesUpAfterATimeout(t *testing.T) {
	// Given a keyring that never answers, and one call that timed out
	f := newFake(0)
	f.block = make(chan struct{})
	t.Cleanup(func() { close(f.block) })
	const timeout = 500 * time.Millisecond
	k := NewKeyring("svc", withBackend(f), WithTimeout(timeout))
	if _, err := k.Get("p", KindRefreshToken); !errors.Is(err, ErrKeyringTimeout) {
		t.Fatalf("first call: %v, want a timeout", err)
	}

	// When more calls follow (token reads the secret, then the cache, …)
	start := time.Now()
	for range 3 {
		if _, err := k.Get("p", KindAccessToken); !errors.Is(err, ErrKeyringTimeout) {
			t.Fatalf("later call: %v, want a timeout", err)
		}
		if err := k.Set("p", KindAccessToken, "x"); !errors.Is(err, ErrKeyringTimeout) {
			t.Fatalf("later call: %v, want a timeout", err)
		}
	}

	// Then they fail at once, with the same explanation
	if d := time.Since(start); d >= timeout {
		t.Errorf("six later calls took %s; each waited again", d)
	}
	if NewKeyring("a").gaveUp != NewKeyring("b").gaveUp {
		t.Error("Keyrings on the OS keyring do not share the give-up verdict")
	}
}
