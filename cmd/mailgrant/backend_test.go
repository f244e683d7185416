package main

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// backend is where an in-process command test keeps the secrets the
// commands would put in the OS keyring: "memory", a store.Memory per keyring
// service given to the commands through their factory (and the encrypted
// file at a small scrypt cost), runs everywhere; "keyring", the real OS
// keyring (and the file at age's cost), runs under .ci/with-keyring and is
// required by CI (MAILGRANT_REQUIRE_KEYRING=1). Tests that start mailgrant
// as a child process cannot share a Memory and stay on the real keyring
// (env).
type backend struct {
	name string
	deps *factory

	mu       sync.Mutex
	memories map[string]*store.Memory // by keyring service, memory only
}

// backendNames are the backends forEachBackend runs a test on.
var backendNames = []string{"memory", "keyring"}

// forEachBackend runs test once per backend, as subtests named after them.
func forEachBackend(t *testing.T, test func(t *testing.T, b *backend)) {
	t.Helper()
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			test(t, newBackend(name))
		})
	}
}

// newBackend returns the named backend, empty.
func newBackend(name string) *backend {
	b := &backend{name: name}
	if name == "keyring" {
		b.deps = realFactory()
		return b
	}
	b.memories = map[string]*store.Memory{}
	b.deps = &factory{
		Keyring: func(service string, _ time.Duration) keyring {
			return memoryKeyring{b.memory(service)}
		},
		// The file is real, at a small scrypt cost: under -race each
		// command opening it at age's cost takes seconds.
		File: func(path, passphrase string) (*store.File, error) {
			return store.OpenFile(path, passphrase, store.WithScryptWorkFactor(10))
		},
	}
	return b
}

// memory is the Memory standing in for the keyring's service.
func (b *backend) memory(service string) *store.Memory {
	b.mu.Lock()
	defer b.mu.Unlock()
	m, ok := b.memories[service]
	if !ok {
		m = store.NewMemory()
		b.memories[service] = m
	}
	return m
}

// memoryKeyring is a Memory whose probe always succeeds.
type memoryKeyring struct{ *store.Memory }

func (memoryKeyring) Probe() error { return nil }

// env is env for this backend: the real keyring is required (and cleaned of
// the profiles' items afterwards) only by the keyring backend.
func (b *backend) env(t *testing.T, service string, profiles ...string) string {
	t.Helper()
	if b.name == "keyring" {
		return env(t, service, profiles...)
	}
	dir := testEnv(t)
	t.Cleanup(func() { assertNotInKeyring(t, service, profiles) })
	return dir
}

// assertNotInKeyring fails if the OS keyring has an item of the profiles:
// a memory run must keep everything in its Memory. Without a keyring
// there is nothing to look at.
func assertNotInKeyring(t *testing.T, service string, profiles []string) {
	t.Helper()
	if len(profiles) == 0 || !keyringWorks() {
		return
	}
	k := store.NewKeyring(service)
	for _, p := range profiles {
		for _, kind := range store.Kinds {
			if _, err := k.Get(p, kind); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a memory run reached the OS keyring: %s/%s under %s (%v)", p, kind, service, err)
			}
		}
	}
}

// keyringWorks reports, once per test binary, whether the OS keyring answers.
var keyringWorks = sync.OnceValue(func() bool {
	return store.NewKeyring("mailgrant-test-probe", store.WithTimeout(5*time.Second)).Probe() == nil
})

// keyring is what the commands keep under the keyring service, for the
// test to read.
func (b *backend) keyring(service string) store.Secrets {
	if b.name == "keyring" {
		return store.NewKeyring(service)
	}
	return b.memory(service)
}

// mailgrant runs the command line in process on this backend, with stdin
// not a terminal.
func (b *backend) mailgrant(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := runWith(b.deps, args, strings.NewReader(stdin), &out, &errb)
	t.Logf("mailgrant %s (%s) → %d\n%s%s", strings.Join(args, " "), b.name, code, out.String(), errb.String())
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// require is requireKeyring for the keyring backend; memory needs nothing.
func (b *backend) require(t *testing.T) {
	t.Helper()
	if b.name == "keyring" {
		requireKeyring(t)
	}
}
