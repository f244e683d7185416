// Package spool is the relay's durable queue on disk. Each message is a
// directory holding the message as received ("message") and its envelope
// and delivery state ("meta.json"):
//
//	DIR/tmp/ID/     being written; removed by Open once nobody writes it
//	DIR/queue/ID/   accepted, waiting for delivery (or being delivered)
//	DIR/failed/ID/  failed for good; kept until retried or dropped
//
// A message enters the queue by one rename of a complete, fsynced directory
// (and the queue directory is fsynced after it), so a crash at any moment
// leaves either no message or a complete one. meta.json is replaced by
// rename too, never written in place.
package spool

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The directories and files of a spool.
const (
	tmpDir    = "tmp"
	queueDir  = "queue"
	failedDir = "failed"
	msgFile   = "message"
	metaFile  = "meta.json"
	lockFile  = "lock"
)

// Meta is a spooled message's envelope and delivery state.
type Meta struct {
	// ID names the message in the spool, logs and `mailgrant queue`.
	ID string `json:"id"`
	// Profile is the profile that sends it.
	Profile string `json:"profile"`
	// From is the envelope sender; "" is the null sender <>.
	From string `json:"from"`
	// Recipients are the envelope recipients.
	Recipients []string `json:"recipients"`
	// Mailbox is the mailbox Graph sends as (pacing is per mailbox); ""
	// means the profile's own.
	Mailbox string `json:"mailbox,omitempty"`
	// Size is the message's size in bytes.
	Size int64 `json:"size"`
	// Client and AuthUser say who handed it in, for logs.
	Client   string `json:"client,omitempty"`
	AuthUser string `json:"auth_user,omitempty"`
	// Received is when it was accepted.
	Received time.Time `json:"received"`
	// Queued is when its current retry window started: Received, or the
	// time of a `mailgrant queue retry`. The maximum queue age counts
	// from it.
	Queued time.Time `json:"queued"`
	// Attempts counts delivery attempts so far.
	Attempts int `json:"attempts"`
	// NextAttempt is when it is due.
	NextAttempt time.Time `json:"next_attempt"`
	// LastError and LastCode describe the last failed attempt.
	LastError string `json:"last_error,omitempty"`
	LastCode  string `json:"last_code,omitempty"`
	// DraftID is the Graph draft recorded before an exactly-once send, in
	// DraftMailbox ("" for the profile's own).
	DraftID      string `json:"draft_id,omitempty"`
	DraftMailbox string `json:"draft_mailbox,omitempty"`
	// NoBounce is set for messages that must never be bounced: bounces
	// this relay made, null-sender and auto-submitted messages.
	NoBounce bool `json:"no_bounce,omitempty"`
	// Bounce is set for the delivery status notifications this relay made.
	Bounce bool `json:"bounce,omitempty"`
	// FailedAt and Reason say when and why it failed for good.
	FailedAt time.Time `json:"failed_at,omitzero"`
	Reason   string    `json:"reason,omitempty"`
	// Outcome names how it failed for good (flows.Outcome's String), for
	// a bounce made after a crash.
	Outcome string `json:"outcome,omitempty"`
	// BounceQueued is set once the bounce of a failed message is in the
	// queue; a failed message without it (and without NoBounce) still owes
	// its bounce.
	BounceQueued bool `json:"bounce_queued,omitempty"`
}

// Spool is a spool directory. Several processes may use one spool at once
// (a relay, `mailgrant queue run`, sendmail handing over a message): each
// delivery attempt holds the message's lock (Lock).
type Spool struct {
	dir string
	// hook, when set, is called after each step of Add (crash tests).
	hook func(step string)
}

// Open opens (creating) the spool in dir and removes what a crash left half
// written.
func Open(dir string) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("spool: no directory given")
	}
	for _, d := range []string{dir, filepath.Join(dir, tmpDir), filepath.Join(dir, queueDir), filepath.Join(dir, failedDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("spool: create %s: %w (check the directory's owner and permissions, or give another --spool)", d, err)
		}
	}
	s := &Spool{dir: dir}
	s.cleanTmp()
	return s, nil
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// cleanTmp removes what a crash left in tmp/: entries no Add holds (it
// locks its directory while it writes, however slowly the client sends)
// and nobody wrote to for a minute (the newest time of the directory and
// the files in it, where locks are not available).
func (s *Spool) cleanTmp() {
	entries, _ := os.ReadDir(filepath.Join(s.dir, tmpDir))
	for _, e := range entries {
		path := filepath.Join(s.dir, tmpDir, e.Name())
		if time.Since(newestModTime(path)) < time.Minute || heldByOther(path) {
			continue
		}
		_ = os.RemoveAll(path)
	}
}

// newestModTime is the latest modification time of path and, for a
// directory, of the entries in it; the zero time when none can be read.
func newestModTime(path string) time.Time {
	var newest time.Time
	info, err := os.Lstat(path)
	if err != nil {
		return newest
	}
	newest = info.ModTime()
	if !info.IsDir() {
		return newest
	}
	entries, _ := os.ReadDir(path)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return newest
}

// NewID returns a new message id: time-ordered, unique.
func NewID(now time.Time) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%011x%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

// validID reports whether id can name a spool entry (no path tricks).
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Add writes the message read from r with envelope m to the queue and
// returns m completed (ID when empty, Size, Received, Queued, NextAttempt
// when zero). When Add returns nil the message and its directory entry are
// on disk (fsynced).
func (s *Spool) Add(m Meta, r io.Reader, now time.Time) (Meta, error) {
	if m.ID == "" {
		m.ID = NewID(now)
	}
	if !validID(m.ID) {
		return m, fmt.Errorf("spool: %q is not a valid message id", m.ID)
	}
	if m.Received.IsZero() {
		m.Received = now
	}
	if m.Queued.IsZero() {
		m.Queued = m.Received
	}
	if m.NextAttempt.IsZero() {
		m.NextAttempt = now
	}
	tmp := filepath.Join(s.dir, tmpDir, m.ID)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return m, fmt.Errorf("spool: %w", err)
	}
	// Held while the message arrives, so that cleanTmp in another process
	// leaves it alone.
	if release, err := holdShared(tmp); err == nil {
		defer release()
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	s.step("mkdir")
	n, err := writeFile(filepath.Join(tmp, msgFile), func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
	if err != nil {
		return m, fmt.Errorf("spool: write the message: %w", err)
	}
	m.Size = n
	s.step("message")
	if err := writeMeta(filepath.Join(tmp, metaFile), m); err != nil {
		return m, err
	}
	s.step("meta")
	if err := syncDir(tmp); err != nil {
		return m, err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, queueDir, m.ID)); err != nil {
		return m, fmt.Errorf("spool: %w", err)
	}
	ok = true
	s.step("rename")
	if err := syncDir(filepath.Join(s.dir, queueDir)); err != nil {
		return m, err
	}
	s.step("done")
	return m, nil
}

func (s *Spool) step(name string) {
	if s.hook != nil {
		s.hook(name)
	}
}

// writeFile creates path, fills it with fill, fsyncs and closes it, and
// returns the number of bytes written.
func writeFile(path string, fill func(io.Writer) error) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	cw := &countWriter{w: f}
	err = fill(cw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeMeta writes m to path (which must not exist), fsynced.
func writeMeta(path string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := writeFile(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err }); err != nil {
		return fmt.Errorf("spool: write %s: %w", path, err)
	}
	return nil
}

// syncDir fsyncs a directory, so the entries made or renamed in it last.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("spool: sync %s: %w", dir, err)
	}
	return nil
}

// ErrNotFound is returned for an id that is neither queued nor failed.
var ErrNotFound = errors.New("no such message in the spool")

// where returns the directory holding id: queue or failed.
func (s *Spool) where(id string) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("%q: %w", id, ErrNotFound)
	}
	for _, d := range []string{queueDir, failedDir} {
		if _, err := os.Stat(filepath.Join(s.dir, d, id, metaFile)); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("%q: %w", id, ErrNotFound)
}

// Update replaces a queued or failed message's meta.json with m.
func (s *Spool) Update(m Meta) error {
	d, err := s.where(m.ID)
	if err != nil {
		return err
	}
	return s.replaceMeta(filepath.Join(s.dir, d, m.ID), m)
}

func (s *Spool) replaceMeta(dir string, m Meta) error {
	tmp := filepath.Join(dir, metaFile+".new")
	_ = os.Remove(tmp)
	if err := writeMeta(tmp, m); err != nil {
		return err
	}
	s.step("update")
	if err := os.Rename(tmp, filepath.Join(dir, metaFile)); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return syncDir(dir)
}

// Get returns a message's meta and whether it has failed.
func (s *Spool) Get(id string) (Meta, bool, error) {
	d, err := s.where(id)
	if err != nil {
		return Meta{}, false, err
	}
	m, err := readMeta(filepath.Join(s.dir, d, id))
	return m, d == failedDir, err
}

func readMeta(dir string) (Meta, error) {
	var m Meta
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return m, fmt.Errorf("spool: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("spool: %s is damaged: %w (move the directory away to skip it)", filepath.Join(dir, metaFile), err)
	}
	return m, nil
}

// Message opens a message's content. The file stays readable after the
// message moves to failed/ or is removed, until it is closed.
func (s *Spool) Message(id string) (*os.File, error) {
	d, err := s.where(id)
	if err != nil {
		return nil, err
	}
	return os.Open(filepath.Join(s.dir, d, id, msgFile))
}

// Fail records why m failed for good (m.FailedAt and m.Reason set by the
// caller) and moves it to failed/.
func (s *Spool) Fail(m Meta) error {
	d, err := s.where(m.ID)
	if err != nil {
		return err
	}
	if err := s.replaceMeta(filepath.Join(s.dir, d, m.ID), m); err != nil {
		return err
	}
	if d == failedDir {
		return nil
	}
	return s.move(m.ID, queueDir, failedDir)
}

func (s *Spool) move(id, from, to string) error {
	if err := os.Rename(filepath.Join(s.dir, from, id), filepath.Join(s.dir, to, id)); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := syncDir(filepath.Join(s.dir, to)); err != nil {
		return err
	}
	return syncDir(filepath.Join(s.dir, from))
}

// Retry makes a failed or deferred message due at now, with a new retry
// window, and returns its meta.
func (s *Spool) Retry(id string, now time.Time) (Meta, error) {
	d, err := s.where(id)
	if err != nil {
		return Meta{}, err
	}
	m, err := readMeta(filepath.Join(s.dir, d, id))
	if err != nil {
		return m, err
	}
	m.NextAttempt, m.Queued = now, now
	m.FailedAt, m.Reason, m.Outcome, m.BounceQueued = time.Time{}, "", "", false
	if err := s.replaceMeta(filepath.Join(s.dir, d, id), m); err != nil {
		return m, err
	}
	if d == failedDir {
		return m, s.move(id, failedDir, queueDir)
	}
	return m, nil
}

// Remove deletes a message, queued or failed.
func (s *Spool) Remove(id string) error {
	d, err := s.where(id)
	if err != nil {
		return err
	}
	// Rename first, so that a crash in RemoveAll leaves nothing that looks
	// like a message.
	gone := filepath.Join(s.dir, tmpDir, id+".removed")
	if err := os.Rename(filepath.Join(s.dir, d, id), gone); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := syncDir(filepath.Join(s.dir, d)); err != nil {
		return err
	}
	return os.RemoveAll(gone)
}

// Queued returns the queued messages, oldest first. Damaged entries are
// skipped and reported in the error (which is non-nil only for them when
// the list could be read).
func (s *Spool) Queued() ([]Meta, error) { return s.list(queueDir) }

// Failed returns the failed messages, oldest first.
func (s *Spool) Failed() ([]Meta, error) { return s.list(failedDir) }

func (s *Spool) list(d string) ([]Meta, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, d))
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []Meta
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !validID(e.Name()) {
			continue
		}
		m, err := readMeta(filepath.Join(s.dir, d, e.Name()))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Meta) int { return strings.Compare(a.ID, b.ID) })
	return out, errors.Join(errs...)
}

// Count is a profile's number of queued and failed messages.
type Count struct {
	Queued int `json:"queued"`
	Failed int `json:"failed"`
}

// Counts returns each profile's queued and failed counts in the spool in
// dir; a spool that does not exist has none.
func Counts(dir string) (map[string]Count, error) {
	out := map[string]Count{}
	s := &Spool{dir: dir}
	for _, d := range []string{queueDir, failedDir} {
		ms, err := s.list(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil && ms == nil {
			return nil, err
		}
		for _, m := range ms {
			c := out[m.Profile]
			if d == queueDir {
				c.Queued++
			} else {
				c.Failed++
			}
			out[m.Profile] = c
		}
	}
	return out, nil
}
