package spool

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// servesFile is the marker a relay writes into its spool: the profiles it
// delivers for. sendmail reads it to decide whether it may hand a message
// that failed transiently to the spool instead of exiting 75.
const servesFile = "relay.json"

// relayMarker is the content of servesFile.
type relayMarker struct {
	Profiles []string  `json:"profiles"`
	Written  time.Time `json:"written"`
}

// WriteServes records that a relay using this spool delivers for profiles.
// The marker stays when the relay stops: messages handed over meanwhile are
// delivered when it starts again (or by `mailgrant queue run`).
func WriteServes(dir string, profiles []string) error {
	if _, err := Open(dir); err != nil {
		return err
	}
	b, err := json.MarshalIndent(relayMarker{Profiles: profiles, Written: time.Now().UTC()}, "", "  ")
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

// Serves reports whether the relay marker in dir names profile.
func Serves(dir, profile string) bool {
	b, err := os.ReadFile(filepath.Join(dir, servesFile))
	if err != nil {
		return false
	}
	var m relayMarker
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	return slices.Contains(m.Profiles, profile)
}
