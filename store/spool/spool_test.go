package spool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)

func addMessage(t *testing.T, s *Spool, profile, body string) Meta {
	t.Helper()
	m, err := s.Add(Meta{Profile: profile, From: "a@contoso.com", Recipients: []string{"b@contoso.com"}}, strings.NewReader(body), t0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readMessage(t *testing.T, s *Spool, id string) string {
	t.Helper()
	f, err := s.Message(id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAddListUpdateFailRetryRemove(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := addMessage(t, s, "printer", "Subject: hi\r\n\r\nbody\r\n")
	if m.Size != int64(len("Subject: hi\r\n\r\nbody\r\n")) || m.ID == "" || !m.NextAttempt.Equal(t0) || !m.Queued.Equal(t0) {
		t.Fatalf("Add returned %+v", m)
	}
	if got := readMessage(t, s, m.ID); got != "Subject: hi\r\n\r\nbody\r\n" {
		t.Fatalf("message = %q", got)
	}
	q, err := s.Queued()
	if err != nil || len(q) != 1 || q[0].ID != m.ID {
		t.Fatalf("Queued = %v, %v", q, err)
	}
	m.Attempts, m.LastError = 2, "http-503: down"
	if err := s.Update(m); err != nil {
		t.Fatal(err)
	}
	got, failed, err := s.Get(m.ID)
	if err != nil || failed || got.Attempts != 2 || got.LastError != "http-503: down" {
		t.Fatalf("Get = %+v %v %v", got, failed, err)
	}
	m.FailedAt, m.Reason = t0.Add(time.Hour), "gave up"
	if err := s.Fail(m); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.Queued(); len(q) != 0 {
		t.Fatalf("still queued after Fail: %v", q)
	}
	f, _ := s.Failed()
	if len(f) != 1 || f[0].Reason != "gave up" {
		t.Fatalf("Failed = %+v", f)
	}
	c, err := Counts(s.Dir())
	if err != nil || c["printer"] != (Count{Queued: 0, Failed: 1}) {
		t.Fatalf("Counts = %v, %v", c, err)
	}
	r, err := s.Retry(m.ID, t0.Add(2*time.Hour))
	if err != nil || !r.NextAttempt.Equal(t0.Add(2*time.Hour)) || !r.FailedAt.IsZero() || r.Reason != "" {
		t.Fatalf("Retry = %+v, %v", r, err)
	}
	if q, _ := s.Queued(); len(q) != 1 {
		t.Fatalf("not queued after Retry: %v", q)
	}
	if got := readMessage(t, s, m.ID); got != "Subject: hi\r\n\r\nbody\r\n" {
		t.Fatalf("message after retry = %q", got)
	}
	if err := s.Remove(m.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(m.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Remove: %v", err)
	}
	if err := s.Remove("../../etc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove of a path: %v", err)
	}
}

func TestCountsOfMissingSpool(t *testing.T) {
	c, err := Counts(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(c) != 0 {
		t.Fatalf("Counts = %v, %v", c, err)
	}
}

func TestLockIsExclusive(t *testing.T) {
	s, _ := Open(t.TempDir())
	m := addMessage(t, s, "p", "x\r\n")
	unlock, ok, err := s.TryLock(m.ID)
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, _ := s.TryLock(m.ID); ok {
		t.Fatal("a second lock was granted while the first is held")
	}
	unlock()
	unlock2, ok, _ := s.TryLock(m.ID)
	if !ok {
		t.Fatal("lock not granted after unlock")
	}
	unlock2()
}

func TestServes(t *testing.T) {
	dir := t.TempDir()
	if Serves(dir, "printer") {
		t.Fatal("serves without a marker")
	}
	if err := WriteServes(dir, []string{"printer", "wp"}); err != nil {
		t.Fatal(err)
	}
	if !Serves(dir, "wp") || Serves(dir, "other") {
		t.Fatal("marker not read right")
	}
}

// TestServesNeedsALiveRelayOrHeartbeat: a marker counts while a relay holds
// the spool or within HeartbeatValid of the last heartbeat, not forever.
func TestServesNeedsALiveRelayOrHeartbeat(t *testing.T) {
	// Given a marker left by a relay that stopped an hour ago.
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if err := Heartbeat(dir); err != nil {
		t.Fatalf("heartbeat without a marker: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, servesFile)); err == nil {
		t.Fatal("a heartbeat made a marker naming no profile")
	}
	if err := writeMarker(dir, relayMarker{Profiles: []string{"wp"}, Written: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if Serves(dir, "wp") {
		t.Fatal("an hour-old marker without a running relay still serves")
	}

	// When a relay runs on the spool, it serves, however old the marker.
	release, err := HoldServes(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !Serves(dir, "wp") || Serves(dir, "other") {
		t.Fatal("a running relay does not serve its profiles")
	}
	release()
	if Serves(dir, "wp") {
		t.Fatal("still serves after the relay stopped")
	}

	// When `queue run` beats, it serves for HeartbeatValid.
	if err := Heartbeat(dir); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if !servesAt(dir, "wp", now) || servesAt(dir, "wp", now.Add(HeartbeatValid+time.Second)) {
		t.Fatal("a heartbeat does not count for HeartbeatValid, or counts longer")
	}
	if err := WriteServes(dir, []string{"wp"}); err != nil || !servesAt(dir, "wp", now.Add(HeartbeatValid-time.Second)) {
		t.Fatalf("WriteServes is not a fresh heartbeat: %v", err)
	}
}

// crashBody is the message the crash helper writes.
var crashBody = strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB

// TestCrashHelper is the child process of TestCrashAtEveryStep; it does
// nothing unless run by it.
func TestCrashHelper(t *testing.T) {
	step := os.Getenv("SPOOL_CRASH_AT")
	if step == "" {
		t.Skip("run by TestCrashAtEveryStep")
	}
	s, err := Open(os.Getenv("SPOOL_CRASH_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	kill := func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }
	s.hook = func(name string) {
		if name == step {
			kill()
		}
	}
	var r io.Reader = strings.NewReader(crashBody)
	if step == "mid-message" {
		r = io.MultiReader(strings.NewReader(crashBody[:len(crashBody)/2]), readerFunc(func([]byte) (int, error) { kill(); return 0, nil }))
	}
	m, err := s.Add(Meta{ID: "crashtest", Profile: "p", From: "a@contoso.com", Recipients: []string{"b@contoso.com"}}, r, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if step == "update" {
		m.Attempts = 7
		_ = s.Update(m)
	}
	t.Fatal("not killed")
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestCrashAtEveryStep kills a process (SIGKILL) at each step of writing a
// message to the spool, and checks that the spool then holds either no
// message or a complete one, never a damaged one.
func TestCrashAtEveryStep(t *testing.T) {
	cases := []struct {
		step string
		want bool // the message is in the queue afterwards
	}{
		{"mkdir", false},
		{"mid-message", false},
		{"message", false},
		{"meta", false},
		{"rename", true},
		{"done", true},
		{"update", true},
	}
	for _, c := range cases {
		t.Run(c.step, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SPOOL_CRASH_AT="+c.step, "SPOOL_CRASH_DIR="+dir)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the child was not killed: %v\n%s", err, out)
			}
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			q, err := s.Queued()
			if err != nil {
				t.Fatalf("the spool is damaged: %v", err)
			}
			if !c.want {
				if len(q) != 0 {
					t.Fatalf("a half-written message is queued: %+v", q)
				}
				return
			}
			if len(q) != 1 {
				t.Fatalf("queued = %+v, want the one message", q)
			}
			if q[0].Size != int64(len(crashBody)) || q[0].Recipients[0] != "b@contoso.com" {
				t.Fatalf("meta = %+v", q[0])
			}
			if c.step == "update" && q[0].Attempts != 0 {
				t.Fatalf("an update killed before its rename shows: %+v", q[0])
			}
			if got := readMessage(t, s, q[0].ID); !bytes.Equal([]byte(got), []byte(crashBody)) {
				t.Fatalf("the message is not complete: %d bytes", len(got))
			}
		})
	}
}

// slowReader gives a first chunk, says so, and blocks until released: an
// SMTP client pausing in the middle of DATA.
type slowReader struct {
	first            bool
	started, release chan struct{}
}

func (r *slowReader) Read(p []byte) (int, error) {
	if !r.first {
		r.first = true
		return copy(p, "Subject: slow\r\n"), nil
	}
	close(r.started)
	<-r.release
	return 0, io.EOF
}

// TestOpenLeavesAMessageBeingReceived: opening the spool (another relay,
// sendmail, `queue run`) does not delete a message still being received,
// however long since its last byte; it does delete what a crash left.
func TestOpenLeavesAMessageBeingReceived(t *testing.T) {
	// Given a message whose client paused two minutes ago, and an entry a
	// crash left as long ago.
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &slowReader{started: make(chan struct{}), release: make(chan struct{})}
	added := make(chan error, 1)
	go func() {
		_, err := s.Add(Meta{ID: "slow", Profile: "p", Recipients: []string{"b@contoso.com"}}, r, time.Now())
		added <- err
	}()
	<-r.started
	past := time.Now().Add(-2 * time.Minute)
	left := filepath.Join(dir, tmpDir, "crashed")
	if err := os.MkdirAll(left, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(left, msgFile), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, tmpDir, "slow", msgFile), filepath.Join(dir, tmpDir, "slow"), filepath.Join(left, msgFile), left} {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
	}

	// When another process opens the spool.
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}

	// Then the crash's leftover is gone and the message arrives whole.
	if _, err := os.Stat(left); err == nil {
		t.Error("a crash's leftover in tmp/ was kept")
	}
	close(r.release)
	if err := <-added; err != nil {
		t.Fatalf("the message being received was cleaned away: %v", err)
	}
	if m, failed, err := s.Get("slow"); err != nil || failed || m.Size == 0 {
		t.Fatalf("queued %+v %v %v", m, failed, err)
	}
}
