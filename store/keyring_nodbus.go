//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package store

// sessionBusCheck has nothing to check where the keyring is not reached over
// D-Bus (macOS, Windows).
func sessionBusCheck() error { return nil }

// WarmKeyring does nothing where the keyring is not reached over D-Bus.
func WarmKeyring() {}
