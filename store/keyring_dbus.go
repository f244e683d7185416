//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/godbus/dbus/v5"
)

// sessionBusCheck reports a *noSessionBusError unless the D-Bus session bus
// that go-keyring's Secret Service client uses can be reached. Without an
// address godbus would run dbus-launch and start a private bus no keyring
// listens on, so that case is refused before godbus sees it.
//
// Cron jobs, SSH sessions and systemd services get no
// DBUS_SESSION_BUS_ADDRESS even when the user's desktop session (and its
// unlocked keyring) runs. With the variable unset, the user's bus is looked
// for where systemd puts it, $XDG_RUNTIME_DIR/bus, then /run/user/UID/bus;
// the first that is a socket owned by this user is exported as
// DBUS_SESSION_BUS_ADDRESS for godbus, which reads it on its first call.
func sessionBusCheck() error {
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" || addr == "autolaunch:" {
		path, tried := findSessionBus(os.Getenv("XDG_RUNTIME_DIR"), os.Getuid())
		if path == "" {
			return &noSessionBusError{reason: "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set; tried " + tried}
		}
		addr = "unix:path=" + dbusEscape(path)
		// godbus reads the variable when it first connects.
		if err := os.Setenv("DBUS_SESSION_BUS_ADDRESS", addr); err != nil {
			return &noSessionBusError{reason: "cannot use the D-Bus session bus at " + addr, err: err}
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

// findSessionBus returns the first usable session bus socket among
// $XDG_RUNTIME_DIR/bus and /run/user/UID/bus, or "" and a list of what was
// tried and why each was refused, for the error.
func findSessionBus(runtimeDir string, uid int) (string, string) {
	var paths, tried []string
	if runtimeDir == "" {
		tried = append(tried, "$XDG_RUNTIME_DIR/bus (XDG_RUNTIME_DIR is not set)")
	} else {
		paths = append(paths, filepath.Join(runtimeDir, "bus"))
	}
	if run := filepath.Join("/run/user", strconv.Itoa(uid), "bus"); len(paths) == 0 || paths[0] != run {
		paths = append(paths, run)
	}
	for _, p := range paths {
		err := checkBusSocket(p, uid)
		if err == nil {
			return p, ""
		}
		tried = append(tried, p+" ("+err.Error()+")")
	}
	return "", strings.Join(tried, ", ")
}

// checkBusSocket accepts path when it is a socket (not a link to one) owned
// by uid: another user's socket could be a bus that collects our secrets.
func checkBusSocket(path string, uid int) error {
	fi, err := os.Lstat(path)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("does not exist")
	case err != nil:
		return fmt.Errorf("cannot be read: %v", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("is a symbolic link, not a socket")
	case fi.Mode()&fs.ModeSocket == 0:
		return fmt.Errorf("is not a socket")
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("its owner cannot be read")
	}
	if int(st.Uid) != uid {
		return fmt.Errorf("is owned by uid %d, not by this user (uid %d)", st.Uid, uid)
	}
	return nil
}

// dbusEscape escapes a value of a D-Bus address: bytes other than
// [-0-9A-Za-z_/.\*] become %XX (D-Bus specification, "Server Addresses").
func dbusEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_/.\\*", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02x", c)
	}
	return b.String()
}

// WarmKeyring starts connecting to the D-Bus session bus in the background,
// so that the first keyring call finds the connection made: `mailgrant
// token` overlaps the bus handshake with reading its profile. It checks the
// bus as every keyring call does (no dbus-launch); a failure is left for
// that call to report.
func WarmKeyring() {
	go func() { _ = sessionBusCheck() }()
}
