//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"os"
	"path/filepath"

	"github.com/godbus/dbus/v5"
)

// sessionBusCheck reports a *noSessionBusError unless the D-Bus session bus
// that go-keyring's Secret Service client uses can be reached. Without an
// address godbus would run dbus-launch and start a private bus no keyring
// listens on, so that case is refused before godbus sees it.
func sessionBusCheck() error {
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" || addr == "autolaunch:" {
		fi, err := os.Stat(filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "bus"))
		if os.Getenv("XDG_RUNTIME_DIR") == "" || err != nil || fi.Mode()&os.ModeSocket == 0 {
			return &noSessionBusError{reason: "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"}
		}
	}
	if _, err := dbus.SessionBus(); err != nil {
		reason := "cannot connect to the D-Bus session bus"
		if addr != "" {
			reason += " at " + addr
		}
		return &noSessionBusError{reason: reason, err: err}
	}
	return nil
}
