package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/zalando/go-keyring"
)

// DefaultKeyringTimeout bounds every call into the OS keyring unless
// WithTimeout says otherwise. A locked collection can wait forever on an
// unlock prompt nobody sees (over SSH, in a container), so calls never wait
// unbounded.
const DefaultKeyringTimeout = 5 * time.Second

// windowsMaxItem is the largest password go-keyring stores on Windows (bytes).
const windowsMaxItem = 2560

// minMaxItem is the smallest item cap Keyring accepts: the head of a split
// secret (its manifest) must fit in one item.
const minMaxItem = 128

// fallbackChunk is the part size used when the keyring refuses an item as too
// big although no cap was configured (macOS limits the whole command line of
// security(1), of which a base64 copy of the secret is part).
const fallbackChunk = 1536

// How secrets are laid out in keyring items. A head item holds either the
// value itself, the value behind escapePrefix (when the value starts with one
// of these prefixes), or a manifest naming the parts of a split value.
const (
	splitPrefix    = "mailgrant-split:"
	manifestPrefix = splitPrefix + "v1:"
	escapePrefix   = "mailgrant-plain:"
	probeItem      = "mailgrant-probe"
)

// Keyring keeps secrets in the OS keyring (Secret Service on Linux and BSD,
// Keychain on macOS, Credential Manager on Windows) through go-keyring. Each
// secret is one item with the service name as service and "<profile>/<kind>"
// as user. Secrets larger than the keyring allows are split into parts
// transparently and safely (see Set). Every keyring call is bounded by a
// timeout, and failures come back as *KeyringError with a hint.
type Keyring struct {
	service string
	timeout time.Duration
	maxItem int
	b       backend
	gaveUp  *atomic.Bool // set once a call timed out: later calls fail at once
}

var _ Secrets = (*Keyring)(nil)

// KeyringOption changes how NewKeyring builds a Keyring.
type KeyringOption func(*Keyring)

// WithTimeout bounds every call into the keyring by d (default
// DefaultKeyringTimeout). A call that takes longer fails with a *KeyringError
// that matches ErrKeyringTimeout; the abandoned call finishes in the
// background.
func WithTimeout(d time.Duration) KeyringOption {
	return func(k *Keyring) {
		if d > 0 {
			k.timeout = d
		}
	}
}

// WithMaxItem sets the largest single keyring item in bytes; longer secrets
// are split into parts of at most n bytes. Zero means no limit. The default is
// 2560 on Windows (Credential Manager's limit) and zero elsewhere. Values
// below 128 are raised to 128 so that the manifest of a split secret fits.
func WithMaxItem(n int) KeyringOption {
	return func(k *Keyring) {
		switch {
		case n <= 0:
			k.maxItem = 0
		case n < minMaxItem:
			k.maxItem = minMaxItem
		default:
			k.maxItem = n
		}
	}
}

// withBackend replaces go-keyring, for tests.
func withBackend(b backend) KeyringOption {
	return func(k *Keyring) { k.b, k.gaveUp = b, new(atomic.Bool) }
}

// NewKeyring returns the secrets kept in the OS keyring under service,
// usually ServiceName(sandbox).
func NewKeyring(service string, opts ...KeyringOption) *Keyring {
	k := &Keyring{service: service, timeout: DefaultKeyringTimeout, b: osBackend{}, gaveUp: &osKeyringGaveUp}
	if runtime.GOOS == "windows" {
		k.maxItem = windowsMaxItem
	}
	for _, o := range opts {
		o(k)
	}
	return k
}

// backend reads and writes raw keyring items. Missing items are reported as
// go-keyring's keyring.ErrNotFound.
type backend interface {
	get(service, user string) (string, error)
	set(service, user, value string) error
	delete(service, user string) error
}

// errTimeout marks a backend call that did not return in time.
var errTimeout = errors.New("keyring call timed out")

// osKeyringGaveUp is set, for the whole process, once a call into the OS
// keyring has timed out: the keyring is then waiting on something (an
// unlock prompt nobody sees), and every further call would wait as long
// again — `token` used to take three timeouts in a row.
var osKeyringGaveUp atomic.Bool

// call runs fn in a goroutine and waits at most k.timeout for it. Once one
// call has timed out, it fails at once with errTimeout.
func (k *Keyring) call(fn func() error) error {
	if k.gaveUp.Load() {
		return errTimeout
	}
	done := make(chan error, 1) // buffered: an abandoned call must not leak blocked
	go func() { done <- fn() }()
	t := time.NewTimer(k.timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		k.gaveUp.Store(true)
		return errTimeout
	}
}

func (k *Keyring) rawGet(user string) (string, error) {
	var v string
	err := k.call(func() error {
		var err error
		v, err = k.b.get(k.service, user)
		return err
	})
	if err != nil {
		return "", err
	}
	return v, nil
}

func (k *Keyring) rawSet(user, value string) error {
	return k.call(func() error { return k.b.set(k.service, user, value) })
}

// rawDelete deletes an item; a missing item is not an error.
func (k *Keyring) rawDelete(user string) error {
	err := k.call(func() error { return k.b.delete(k.service, user) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

func itemName(profile string, kind Kind) string { return profile + "/" + string(kind) }

func partName(item, gen string, i int) string { return item + "#" + gen + "." + strconv.Itoa(i) }

// manifest describes a split secret: n parts written under generation gen,
// whose concatenation has the SHA-256 sum.
type manifest struct {
	gen string
	n   int
	sum string
}

func (m manifest) String() string {
	return fmt.Sprintf("%s%s:%d:%s", manifestPrefix, m.gen, m.n, m.sum)
}

// parseManifest decodes a head item that starts with splitPrefix.
func parseManifest(head string) (manifest, error) {
	if !strings.HasPrefix(head, manifestPrefix) {
		return manifest{}, errors.New("split by a newer mailgrant (unknown layout)")
	}
	f := strings.Split(head[len(manifestPrefix):], ":")
	if len(f) != 3 {
		return manifest{}, errors.New("damaged list of parts")
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 1 || n > 1<<16 || f[0] == "" || strings.ContainsAny(f[0], "#./") {
		return manifest{}, errors.New("damaged list of parts")
	}
	if _, err := hex.DecodeString(f[2]); err != nil || len(f[2]) != 2*sha256.Size {
		return manifest{}, errors.New("damaged list of parts")
	}
	return manifest{gen: f[0], n: n, sum: f[2]}, nil
}

// oldManifest returns the manifest in a previous head item, if it is one.
func oldManifest(head string) (manifest, bool) {
	if !strings.HasPrefix(head, splitPrefix) {
		return manifest{}, false
	}
	m, err := parseManifest(head)
	return m, err == nil
}

func sum(value string) string {
	s := sha256.Sum256([]byte(value))
	return hex.EncodeToString(s[:])
}

func newGeneration() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// chunks splits value into pieces of at most size bytes, never inside a UTF-8
// sequence (some keyrings store text).
func chunks(value string, size int) []string {
	var out []string
	for len(value) > size {
		end := size
		for end > 0 && !utf8.RuneStart(value[end]) {
			end--
		}
		if end == 0 {
			end = size
		}
		out = append(out, value[:end])
		value = value[end:]
	}
	return append(out, value)
}

// Get returns the secret, or an error wrapping ErrNotFound when there is none.
// A split secret is reassembled from its parts and checked against the
// SHA-256 sum in its manifest.
func (k *Keyring) Get(profile string, kind Kind) (string, error) {
	item := itemName(profile, kind)
	for attempt := 0; ; attempt++ {
		head, err := k.rawGet(item)
		if err != nil {
			return "", k.translate("get", item, err)
		}
		switch {
		case strings.HasPrefix(head, escapePrefix):
			return head[len(escapePrefix):], nil
		case !strings.HasPrefix(head, splitPrefix):
			return head, nil
		}
		m, err := parseManifest(head)
		if err != nil {
			return "", damaged("get", item, err.Error())
		}
		value, perr := k.readParts(item, m)
		if perr == nil {
			return value, nil
		}
		// A concurrent Set may have replaced the secret and removed the
		// parts this head named: read the head again and retry if it moved.
		if attempt < 3 {
			if now, err := k.rawGet(item); err == nil && now != head {
				continue
			}
		}
		return "", perr
	}
}

// readParts reassembles a split secret.
func (k *Keyring) readParts(item string, m manifest) (string, error) {
	var b strings.Builder
	for i := 0; i < m.n; i++ {
		p, err := k.rawGet(partName(item, m.gen, i))
		if errors.Is(err, keyring.ErrNotFound) {
			e := damaged("get", item, fmt.Sprintf("part %d of %d is missing", i+1, m.n))
			e.Err = &notFoundError{item: item, err: err}
			return "", e
		}
		if err != nil {
			return "", k.translate("get", item, err)
		}
		b.WriteString(p)
	}
	if sum(b.String()) != m.sum {
		return "", damaged("get", item, "its parts do not add up to what was stored")
	}
	return b.String(), nil
}

// Set stores the secret, replacing any earlier one. A secret larger than the
// item cap is split: the parts are written under a fresh generation id, then
// the head item is switched to a manifest naming them, then the previous
// generation's parts are deleted. Until the head is written it still names
// the old, complete parts, so a crash at any point leaves either the old or
// the new secret readable, never a mix.
func (k *Keyring) Set(profile string, kind Kind, value string) error {
	item := itemName(profile, kind)
	old, err := k.rawGet(item)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return k.translate("set", item, err)
	}
	head := value
	if strings.HasPrefix(value, splitPrefix) || strings.HasPrefix(value, escapePrefix) {
		head = escapePrefix + value
	}
	switch {
	case k.maxItem > 0 && len(head) > k.maxItem:
		err = k.setSplit(item, value, k.maxItem)
	default:
		err = k.rawSet(item, head)
		if errors.Is(err, keyring.ErrSetDataTooBig) {
			err = k.setSplit(item, value, fallbackChunk)
		}
	}
	if err != nil {
		return k.translate("set", item, err)
	}
	if m, ok := oldManifest(old); ok {
		// Best effort: the new secret is stored; leftovers are only clutter.
		k.deleteParts(item, m)
	}
	return nil
}

// setSplit writes value as parts of at most size bytes, then the manifest.
func (k *Keyring) setSplit(item, value string, size int) error {
	parts := chunks(value, size)
	m := manifest{gen: newGeneration(), n: len(parts), sum: sum(value)}
	for i, p := range parts {
		if err := k.rawSet(partName(item, m.gen, i), p); err != nil {
			m.n = i
			k.deleteParts(item, m)
			return err
		}
	}
	if err := k.rawSet(item, m.String()); err != nil {
		// After a timeout the head may still be written in the background,
		// naming these parts: keep them. Otherwise the old head stands.
		if !errors.Is(err, errTimeout) {
			k.deleteParts(item, m)
		}
		return err
	}
	return nil
}

// deleteParts removes the parts a manifest names and returns the first error.
func (k *Keyring) deleteParts(item string, m manifest) error {
	var first error
	for i := 0; i < m.n; i++ {
		if err := k.rawDelete(partName(item, m.gen, i)); err != nil && first == nil {
			first = err
			if errors.Is(err, errTimeout) {
				break // the keyring stopped answering; do not wait n times
			}
		}
	}
	return first
}

// Delete removes the secret and, for a split secret, all of its parts.
// Deleting a missing secret is not an error. The head goes first, so an
// interrupted Delete leaves unreferenced parts behind, never a head that
// names missing parts.
func (k *Keyring) Delete(profile string, kind Kind) error {
	item := itemName(profile, kind)
	head, err := k.rawGet(item)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	if err != nil {
		return k.translate("delete", item, err)
	}
	if err := k.rawDelete(item); err != nil {
		return k.translate("delete", item, err)
	}
	if m, ok := oldManifest(head); ok {
		if err := k.deleteParts(item, m); err != nil {
			return k.translate("delete", item, err)
		}
	}
	return nil
}

// Probe checks that the keyring works by storing, reading back and deleting a
// throwaway item. The wizard calls it to decide whether to offer --store file;
// a failure is a *KeyringError whose Hint says what to do.
func (k *Keyring) Probe() error {
	want := "probe-" + newGeneration()
	if err := k.rawSet(probeItem, want); err != nil {
		return k.translate("probe", probeItem, err)
	}
	got, err := k.rawGet(probeItem)
	if err != nil {
		return k.translate("probe", probeItem, err)
	}
	if err := k.rawDelete(probeItem); err != nil {
		return k.translate("probe", probeItem, err)
	}
	if got != want {
		return &KeyringError{
			Op: "probe", Item: probeItem,
			Cause: "the keyring returned something other than what was stored",
			Hint:  "check your keyring (on Linux: secret-tool) or use --store file",
		}
	}
	return nil
}
