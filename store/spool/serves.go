package spool

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// servesFile is the marker a relay writes into its spool: the profiles it
// delivers for, and when someone last delivered from this spool (the
// heartbeat). sendmail reads it to decide whether it may hand a message
// that failed transiently to the spool instead of exiting 75.
const servesFile = "relay.json"

// relayLockFile is held (a shared flock) by every relay running on the
// spool; the kernel drops it when the relay exits, even by kill -9.
const relayLockFile = "relay.lock"

// HeartbeatValid is how long the marker's heartbeat says someone delivers
// from the spool: a relay that stopped, or a `mailgrant queue run` timer,
// is trusted for this long after its last write.
const HeartbeatValid = 10 * time.Minute

// relayMarker is the content of servesFile.
type relayMarker struct {
	Profiles []string `json:"profiles"`
	// Written is the heartbeat: when a relay started or a `mailgrant
	// queue run` last ran.
	Written time.Time `json:"written"`
}

// WriteServes records that a relay using this spool delivers for profiles,
// with a fresh heartbeat. Serves trusts the marker while a relay holds the
// spool (HoldServes) or for HeartbeatValid after the last heartbeat
// (WriteServes or Heartbeat).
func WriteServes(dir string, profiles []string) error {
	if _, err := Open(dir); err != nil {
		return err
	}
	return writeMarker(dir, relayMarker{Profiles: profiles, Written: time.Now().UTC()})
}

func writeMarker(dir string, m relayMarker) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, servesFile)
	tmp := path + ".new"
	_ = os.Remove(tmp)
	if _, err := writeFile(tmp, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err }); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// Heartbeat refreshes the marker's heartbeat, keeping its profiles: `mailgrant
// queue run` calls it, so that sendmail keeps handing messages over to a
// spool a timer drains. Without a marker (no relay ever ran on the spool)
// it does nothing.
func Heartbeat(dir string) error {
	m, err := readMarker(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	m.Written = time.Now().UTC()
	return writeMarker(dir, m)
}

func readMarker(dir string) (relayMarker, error) {
	var m relayMarker
	b, err := os.ReadFile(filepath.Join(dir, servesFile))
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(b, &m)
	return m, err
}

// HoldServes marks a relay as running on the spool in dir until release is
// called or the process ends (a shared lock on relay.lock, so several
// relays may share a spool).
func HoldServes(dir string) (release func(), err error) {
	return holdShared(filepath.Join(dir, relayLockFile))
}

// Serves reports whether the relay marker in dir names profile and someone
// delivers from the spool: a relay holds it (HoldServes) or the heartbeat
// is younger than HeartbeatValid. A marker left by a relay that stopped
// long ago no longer counts, so sendmail does not queue into a spool that
// nobody drains.
func Serves(dir, profile string) bool { return servesAt(dir, profile, time.Now()) }

func servesAt(dir, profile string, now time.Time) bool {
	m, err := readMarker(dir)
	if err != nil || !slices.Contains(m.Profiles, profile) {
		return false
	}
	if now.Sub(m.Written) < HeartbeatValid && !m.Written.After(now.Add(time.Minute)) {
		return true
	}
	return heldByOther(filepath.Join(dir, relayLockFile))
}
