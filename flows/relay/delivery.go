package relay

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailgrant/mailgrant/flows"
)

// Sender sends spooled messages through Graph for a profile. GraphSender is
// the production one; tests may fake it.
type Sender interface {
	// Deliver sends one message (size bytes in msg) for profile to exactly
	// the envelope's recipients, as flows.Deliver does.
	Deliver(ctx context.Context, profile string, msg io.ReaderAt, size int64, e flows.Envelope, o flows.DeliverOptions) (*flows.DeliverResult, error)
	// DraftExists reports whether a draft recorded before a crash is still
	// a draft (not sent) in mailbox.
	DraftExists(ctx context.Context, profile, mailbox, draftID string) (bool, error)
	// SendDraft sends a recorded draft.
	SendDraft(ctx context.Context, profile, mailbox, draftID string) error
}

// Clock is the time source of the queue; tests use a fake one.
type Clock interface {
	Now() time.Time
	// After is time.After.
	After(d time.Duration) <-chan time.Time
}

// Options configure a Delivery. Zero values are the defaults named.
type Options struct {
	// Spool is the spool directory (required).
	Spool string
	// Sender sends through Graph (required).
	Sender Sender
	// PerMailboxRate is the number of messages a sending mailbox may send a
	// minute; 0 means 30 (Exchange Online's limit).
	PerMailboxRate int
	// PerMailboxConcurrency is the number of Graph requests in flight per
	// mailbox; 0 means 4.
	PerMailboxConcurrency int
	// Concurrency is the number of deliveries in flight overall; 0 means 16.
	Concurrency int
	// MaxQueueAge is how long a message is retried before it fails for
	// good; 0 means 3 days.
	MaxQueueAge time.Duration
	// BounceTo, when set, also receives every bounce.
	BounceTo string
	// ExactlyOnce delivers through a draft whose id is spooled before the
	// send, so no crash sends a message twice (needs Mail.ReadWrite).
	ExactlyOnce bool
	// MaxMessageSize is passed to flows.Deliver; 0 means its default.
	MaxMessageSize int64
	// Hostname names this relay in bounces (Reporting-MTA); "" means
	// os.Hostname.
	Hostname string
	// Clock is the time source; nil means the system clock.
	Clock Clock
	// Logger gets one line per message event; nil discards.
	Logger *slog.Logger
	// Registerer registers the metrics; nil registers none.
	Registerer prometheus.Registerer
}

// errClosed is returned by Submit after Close.
var errClosed = errors.New("the relay queue is shutting down")
