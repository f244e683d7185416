package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// Categories of keyring failure. A *KeyringError matches one of them with
// errors.Is, so callers can branch without reading its text:
//
//	if errors.Is(err, store.ErrKeyringLocked) { … }
var (
	// ErrKeyringTimeout means the keyring did not answer in time, usually
	// because it waits on an unlock prompt nobody can see.
	ErrKeyringTimeout = errors.New("the keyring did not answer in time")
	// ErrNoSessionBus means there is no D-Bus session bus to reach the
	// Secret Service through (typical over SSH and in containers).
	ErrNoSessionBus = errors.New("no D-Bus session bus")
	// ErrNoSecretService means the session bus has no Secret Service
	// (org.freedesktop.secrets): no gnome-keyring, KeePassXC or similar runs.
	ErrNoSecretService = errors.New("no Secret Service")
	// ErrKeyringLocked means the keyring is locked, or its unlock prompt was
	// dismissed.
	ErrKeyringLocked = errors.New("the keyring is locked")
	// ErrSecretDamaged means a split secret cannot be reassembled: a part is
	// missing or the parts do not match the stored checksum.
	ErrSecretDamaged = errors.New("the stored secret is damaged")
	// ErrKeyringFailed covers every other keyring failure.
	ErrKeyringFailed = errors.New("the keyring failed")
)

// The hints, one line each, naming what the user can do.
const (
	hintTimeout       = "unlock your keyring (e.g. log in to the desktop session) or use --store file"
	hintNoBus         = "run it as the user whose desktop session is logged in (its bus is /run/user/UID/bus), set DBUS_SESSION_BUS_ADDRESS, or use --store file (the encrypted file; mailgrant move moves an existing profile's secrets there)"
	hintNoService     = "install and start gnome-keyring or KeePassXC's Secret Service, or use --store file"
	hintLocked        = "unlock the login keyring (e.g. log in to the desktop session, or open Passwords and Keys), or use --store file"
	hintNoCollection  = "create a default (login) keyring, e.g. with Passwords and Keys (seahorse), or use --store file"
	hintTooBig        = "the secret is too large for this keyring; use --store file"
	hintDamaged       = "store the secret again (mailgrant reauth PROFILE), or delete the profile"
	hintOther         = "check that your keyring works (on Linux: secret-tool search --all service mailgrant) or use --store file"
	hintWSLNoKeyring  = "WSL has no Secret Service by default: "
	dbusServiceName   = "org.freedesktop.DBus.Error.ServiceUnknown"
	dbusNameNoOwner   = "org.freedesktop.DBus.Error.NameHasNoOwner"
	dbusSpawnPrefix   = "org.freedesktop.DBus.Error.Spawn."
	dbusNoReply       = "org.freedesktop.DBus.Error.NoReply"
	dbusUnknownObject = "org.freedesktop.DBus.Error.UnknownObject"
	dbusUnknownMethod = "org.freedesktop.DBus.Error.UnknownMethod"
	secretIsLocked    = "org.freedesktop.Secret.Error.IsLocked"
	secretNoSuchObj   = "org.freedesktop.Secret.Error.NoSuchObject"
	secretNoSession   = "org.freedesktop.Secret.Error.NoSession"
	goKeyringUnlock   = "failed to unlock correct collection"
)

// KeyringError is a keyring failure translated into what the user can do. It
// never contains a secret value.
type KeyringError struct {
	// Op is what was attempted: get, set, delete or probe.
	Op string
	// Item is the keyring item, "<profile>/<kind>"; it names no secret.
	Item string
	// Cause says what went wrong, in words for the user.
	Cause string
	// Hint is one line saying what to do about it.
	Hint string
	// Err is the underlying error, if any.
	Err error

	category error
}

// Error returns the operation, the item and the cause; the hint is kept apart
// for the caller to print on its own line.
func (e *KeyringError) Error() string {
	if e.Item == "" {
		return fmt.Sprintf("keyring %s: %s", e.Op, e.Cause)
	}
	return fmt.Sprintf("keyring %s %s: %s", e.Op, e.Item, e.Cause)
}

// Unwrap returns the underlying error.
func (e *KeyringError) Unwrap() error { return e.Err }

// Is reports whether target is the category of the failure, such as
// ErrKeyringTimeout or ErrNoSessionBus.
func (e *KeyringError) Is(target error) bool { return e.category != nil && target == e.category }

// notFoundError is a missing secret: it matches both store.ErrNotFound and
// go-keyring's keyring.ErrNotFound.
type notFoundError struct {
	item string
	err  error
}

func (e *notFoundError) Error() string        { return fmt.Sprintf("no %s secret in the keyring", e.item) }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }
func (e *notFoundError) Unwrap() error        { return e.err }

// noSessionBusError is returned by the real backend when it cannot reach a
// D-Bus session bus.
type noSessionBusError struct {
	reason string
	err    error
}

func (e *noSessionBusError) Error() string {
	if e.err == nil {
		return e.reason
	}
	return e.reason + ": " + e.err.Error()
}

func (e *noSessionBusError) Unwrap() error { return e.err }

func damaged(op, item, cause string) *KeyringError {
	return &KeyringError{
		Op: op, Item: item,
		Cause:    "the stored secret is damaged: " + cause,
		Hint:     hintDamaged,
		category: ErrSecretDamaged,
	}
}

// isWSL reports whether this is the Windows Subsystem for Linux.
var isWSL = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/version")
	return err == nil && strings.Contains(strings.ToLower(string(b)), "microsoft")
})

// translate turns a backend error into ErrNotFound or a *KeyringError.
func (k *Keyring) translate(op, item string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, keyring.ErrNotFound) {
		return &notFoundError{item: item, err: err}
	}
	e := &KeyringError{Op: op, Item: item, Err: err}
	var (
		dbe   dbus.Error
		dbep  *dbus.Error
		nobus *noSessionBusError
		name  string
	)
	switch {
	case errors.As(err, &dbe):
		name = dbe.Name
	case errors.As(err, &dbep):
		name = dbep.Name
	}
	switch {
	case errors.Is(err, errTimeout) || name == dbusNoReply:
		e.Cause = fmt.Sprintf("the keyring did not answer within %s", k.timeout)
		e.Hint = hintTimeout
		e.category = ErrKeyringTimeout
	case errors.As(err, &nobus):
		e.Cause = nobus.reason
		e.Hint = wsl(hintNoBus)
		e.category = ErrNoSessionBus
	case name == dbusServiceName || name == dbusNameNoOwner || strings.HasPrefix(name, dbusSpawnPrefix):
		e.Cause = "no Secret Service (org.freedesktop.secrets) on the D-Bus session bus"
		e.Hint = wsl(hintNoService)
		e.category = ErrNoSecretService
	case name == secretIsLocked,
		// go-keyring reports a failed or dismissed unlock only in words.
		name == "" && strings.Contains(err.Error(), goKeyringUnlock):
		e.Cause = "the keyring is locked (or its unlock prompt was dismissed)"
		e.Hint = hintLocked
		e.category = ErrKeyringLocked
	case name == secretNoSuchObj || name == dbusUnknownObject || name == dbusUnknownMethod || name == secretNoSession:
		e.Cause = "the Secret Service has no default keyring to keep secrets in"
		e.Hint = hintNoCollection
		e.category = ErrKeyringFailed
	case errors.Is(err, keyring.ErrSetDataTooBig):
		e.Cause = "the secret is larger than the keyring accepts"
		e.Hint = hintTooBig
		e.category = ErrKeyringFailed
	default:
		e.Cause = "the keyring failed: " + err.Error()
		e.Hint = hintOther
		e.category = ErrKeyringFailed
	}
	return e
}

// wsl prefixes a hint with the WSL explanation when running under WSL.
func wsl(hint string) string {
	if isWSL() {
		return hintWSLNoKeyring + hint
	}
	return hint
}
