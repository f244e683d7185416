package relay

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/store/spool"
)

// slowLog is a log handler that holds up the log line of one message's
// outcome until Drain has returned (or a second has passed), and notes
// whether Drain returned first.
type slowLog struct {
	id      string
	drained chan struct{}
	late    *atomic.Bool
	logged  chan struct{} // closed once that line is through
}

func (h slowLog) Enabled(context.Context, slog.Level) bool { return true }
func (h slowLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h slowLog) WithGroup(string) slog.Handler            { return h }

func (h slowLog) Handle(_ context.Context, r slog.Record) error {
	mine := false
	r.Attrs(func(a slog.Attr) bool {
		mine = mine || (a.Key == "id" && a.Value.String() == h.id)
		return true
	})
	if mine && r.Message == "message sent" {
		select {
		case <-h.drained:
			h.late.Store(true)
		case <-time.After(time.Second): // Drain waits for this line: no need to wait longer
		}
		close(h.logged)
	}
	return nil
}

// TestDrainWaitsForItsAttempts: `mailgrant queue run` prints Drain's
// counts and exits when Drain returns, so Drain returns only once every
// attempt it started has ended: its counts complete and its log lines
// written, not while one is still being logged.
func TestDrainWaitsForItsAttempts(t *testing.T) {
	// Given two messages from two mailboxes, delivered side by side.
	dir := t.TempDir()
	sp, _ := spool.Open(dir)
	var ids []string
	for _, from := range []string{"a@contoso.com", "c@contoso.com"} {
		m, err := sp.Add(spool.Meta{Profile: "p", From: from, Mailbox: from, Recipients: []string{"b@contoso.com"}}, strings.NewReader(message(from, "b@contoso.com", "x")), newFakeClock().Now())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	h := slowLog{id: ids[0], drained: make(chan struct{}), late: new(atomic.Bool), logged: make(chan struct{})}
	d, _, _ := newTestDelivery(t, Options{Spool: dir, Logger: slog.New(h)})

	// When the first message's outcome is slow to be logged.
	st, err := d.Drain(context.Background())
	close(h.drained)

	// Then Drain returned after it, with both counted.
	if err != nil || st.Sent != 2 {
		t.Fatalf("drain %+v %v, want 2 sent", st, err)
	}
	select {
	case <-h.logged:
	case <-time.After(10 * time.Second):
		t.Fatal("the first message's outcome was never logged")
	}
	if h.late.Load() {
		t.Fatal("Drain returned while an attempt it started was still being logged")
	}
}
