package relay

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/clock"
)

// fakeClock is the relay tests' clock: it moves only when the test says so.
type fakeClock = clock.Fake

func newFakeClock() *fakeClock {
	return clock.NewFake(time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC))
}

// call is one Deliver (or SendDraft) the fake sender saw.
type call struct {
	profile  string
	subject  string
	envelope flows.Envelope
	at       time.Time
	body     string
	draft    string
}

// fakeSender records deliveries; result decides each one's fate.
type fakeSender struct {
	clock  clock.Clock
	result func(c call, o flows.DeliverOptions) error
	calls  chan call

	mu     sync.Mutex
	drafts map[string]bool // draft id → still a draft
	// sendDraftErr, when set, is SendDraft's answer; onDelete, when set,
	// is called by DeleteDraft first.
	sendDraftErr error
	onDelete     func(draftID string)
}

func newFakeSender(clock clock.Clock) *fakeSender {
	return &fakeSender{clock: clock, calls: make(chan call, 1000), drafts: map[string]bool{}}
}

func (f *fakeSender) Deliver(ctx context.Context, profile string, msg io.ReaderAt, size int64, e flows.Envelope, o flows.DeliverOptions) (*flows.DeliverResult, error) {
	b, _ := io.ReadAll(io.NewSectionReader(msg, 0, size))
	c := call{profile: profile, subject: subjectOf(string(b)), envelope: e, at: f.clock.Now(), body: string(b)}
	var err error
	if f.result != nil {
		err = f.result(c, o)
	}
	f.calls <- c
	if err != nil {
		return nil, err
	}
	return &flows.DeliverResult{Path: "sendMail", RequestID: "req-1"}, nil
}

func (f *fakeSender) DraftExists(ctx context.Context, profile, mailbox, draftID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drafts[draftID], nil
}

func (f *fakeSender) SendDraft(ctx context.Context, profile, mailbox, draftID string) error {
	if f.sendDraftErr != nil {
		return f.sendDraftErr
	}
	f.mu.Lock()
	f.drafts[draftID] = false
	f.mu.Unlock()
	f.calls <- call{profile: profile, draft: draftID, at: f.clock.Now()}
	return nil
}

func (f *fakeSender) DeleteDraft(ctx context.Context, profile, mailbox, draftID string) error {
	if f.onDelete != nil {
		f.onDelete(draftID)
	}
	f.mu.Lock()
	delete(f.drafts, draftID)
	f.mu.Unlock()
	return nil
}

func subjectOf(msg string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if v, ok := strings.CutPrefix(l, "Subject: "); ok {
			return v
		}
		if l == "" {
			break
		}
	}
	return ""
}

// next waits for the sender's next call.
func (f *fakeSender) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery attempt came")
	}
	return call{}
}

// message is a small message with a subject to tell it by.
func message(from, to, subject string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", "-") + "@test>\r\n\r\nHello.\r\n"
}

func submission(profile, from, to, subject string) Submission {
	return Submission{Profile: profile, From: from, Recipients: []string{to}, Data: strings.NewReader(message(from, to, subject)), Client: "127.0.0.1:5000"}
}

// runDelivery runs d until the test ends.
func runDelivery(t *testing.T, d *Delivery) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitAttempt waits until an attempt has finished (spool updated).
func waitAttempt(t *testing.T, d *Delivery) string {
	t.Helper()
	select {
	case id := <-d.attempted:
		return id
	case <-time.After(20 * time.Second):
		t.Fatal("no attempt finished")
	}
	return ""
}
