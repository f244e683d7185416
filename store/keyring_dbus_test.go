//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// listenUnix binds a real socket at path, as a session bus would.
func listenUnix(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}

func TestCheckBusSocket(t *testing.T) {
	// Given a socket of ours, a regular file, a symbolic link to the socket
	// and a path with nothing there
	dir := t.TempDir()
	sock := filepath.Join(dir, "bus")
	listenUnix(t, sock)
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(sock, link); err != nil {
		t.Fatal(err)
	}
	me := os.Getuid()
	tests := []struct {
		name, path string
		uid        int
		want       string // "" accepted, else part of the refusal
	}{
		{"our socket", sock, me, ""},
		{"another user's socket", sock, me + 1, "owned by uid"},
		{"regular file", file, me, "not a socket"},
		{"symbolic link", link, me, "symbolic link"},
		{"nothing", filepath.Join(dir, "none"), me, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// When it is checked as the bus of user uid
			err := checkBusSocket(tt.path, tt.uid)
			// Then only our own socket is accepted, and a refusal says why
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestFindSessionBus(t *testing.T) {
	// Given XDG_RUNTIME_DIR holding the user's bus socket
	dir := t.TempDir()
	listenUnix(t, filepath.Join(dir, "bus"))
	// When the bus is looked for, it is found there
	if got, _ := findSessionBus(dir, os.Getuid()); got != filepath.Join(dir, "bus") {
		t.Errorf("found %q, want %s/bus", got, dir)
	}

	// Given a runtime directory whose bus is not a socket, and no
	// /run/user/UID/bus (a uid no one uses)
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const uid = 2147480000
	got, tried := findSessionBus(empty, uid)
	// Then nothing is found and every address tried is named with why
	if got != "" {
		t.Fatalf("found %q", got)
	}
	for _, want := range []string{filepath.Join(empty, "bus") + " (is not a socket)", "/run/user/2147480000/bus (does not exist)"} {
		if !strings.Contains(tried, want) {
			t.Errorf("tried = %q, want it to name %q", tried, want)
		}
	}
	// And without XDG_RUNTIME_DIR that is said too
	if _, tried := findSessionBus("", uid); !strings.Contains(tried, "XDG_RUNTIME_DIR is not set") || !strings.Contains(tried, "/run/user/2147480000/bus") {
		t.Errorf("tried = %q", tried)
	}
}

func TestDBusEscape(t *testing.T) {
	if got := dbusEscape("/run/user/1000/bus"); got != "/run/user/1000/bus" {
		t.Errorf("plain path escaped to %q", got)
	}
	if got := dbusEscape("/tmp/a b,c=d;e"); got != "/tmp/a%20b%2cc%3dd%3be" {
		t.Errorf("got %q", got)
	}
}
