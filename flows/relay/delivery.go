package relay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/clock"
	"github.com/mailgrant/mailgrant/store/spool"
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
	// DeleteDraft deletes a recorded draft that will not be sent; one
	// already gone is not an error.
	DeleteDraft(ctx context.Context, profile, mailbox, draftID string) error
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
	// RetryBase is the wait after the first failed attempt; it doubles
	// with each further one (with jitter), up to an hour. 0 means a minute.
	RetryBase time.Duration
	// MaxMessageSize is passed to flows.Deliver; 0 means its default.
	MaxMessageSize int64
	// Hostname names this relay in bounces (Reporting-MTA); "" means
	// os.Hostname.
	Hostname string
	// Clock is the time source of attempts, backoff and queue age; nil
	// means the system clock. The relay command passes its Env's, so the
	// queue and the Graph calls keep one time.
	Clock clock.Clock
	// Logger gets one line per message event; nil discards.
	Logger *slog.Logger
	// Registerer registers the metrics; nil registers none.
	Registerer prometheus.Registerer
}

// errClosed is returned by Submit after Close.
var errClosed = errors.New("the relay queue is shutting down")

// Defaults of Options.
const (
	DefaultPerMailboxRate        = 30
	DefaultPerMailboxConcurrency = 4
	DefaultConcurrency           = 16
	DefaultMaxQueueAge           = 72 * time.Hour
	DefaultRetryBase             = time.Minute
	// maxBackoff caps the wait between two attempts.
	maxBackoff = time.Hour
	// rescanEvery is how often the spool is read again, to pick up what
	// other processes changed (sendmail's hand-overs, `mailgrant queue`).
	rescanEvery = 30 * time.Second
	// shutdownGrace is how long Run waits for deliveries in flight after
	// its context ends; they are then cancelled and stay spooled.
	shutdownGrace = 20 * time.Second
	// attemptTimeout bounds one delivery attempt.
	attemptTimeout = 10 * time.Minute
)

// Delivery is the queue: Submit spools, Run delivers. It implements Queue.
type Delivery struct {
	o     Options
	sp    *spool.Spool
	clock clock.Clock
	log   *slog.Logger
	m     *metrics
	host  string

	mu       sync.Mutex
	pace     *pacer
	items    map[string]*item
	waiters  map[string]*waiter
	closed   bool
	stop     context.CancelFunc // stops Run (Close)
	runDone  chan struct{}
	attempts context.Context
	wake     chan struct{}
	wg       sync.WaitGroup
	// stats count outcomes, for Drain.
	stats Stats
	// attempted, when set (tests), gets each finished attempt's id.
	attempted chan string
	// crashAt, when set (crash tests), is called at "draft-recorded" (the
	// draft id is in the spool, the draft not yet sent) and "sent" (Graph
	// took the message, the spool still holds it).
	crashAt func(step string)
}

// item is a queued message this process knows of.
type item struct {
	meta  spool.Meta
	key   string
	busy  bool
	added time.Time // when this process learnt of it (wall clock)
}

func newItem(m spool.Meta) *item {
	return &item{meta: m, key: paceKey(m.Profile, m.Mailbox), added: time.Now()}
}

// waiter is a Submit waiting for the first attempt.
type waiter struct {
	ch      chan Receipt
	gone    bool // Submit stopped waiting
	claimed bool // an attempt will send a permanent refusal
}

// Stats counts what became of messages delivered by a Delivery.
type Stats struct {
	Sent, Deferred, Failed, Bounced int
}

var _ Queue = (*Delivery)(nil)

// NewDelivery opens the spool and returns a Delivery; call Run to deliver.
func NewDelivery(o Options) (*Delivery, error) {
	if o.Sender == nil {
		return nil, errors.New("relay: Options.Sender is required")
	}
	if o.PerMailboxRate < 0 || o.PerMailboxConcurrency < 0 || o.Concurrency < 0 || o.MaxQueueAge < 0 {
		return nil, errors.New("relay: rates, concurrency and queue age must not be negative")
	}
	if o.PerMailboxRate == 0 {
		o.PerMailboxRate = DefaultPerMailboxRate
	}
	if o.PerMailboxConcurrency == 0 {
		o.PerMailboxConcurrency = DefaultPerMailboxConcurrency
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxQueueAge == 0 {
		o.MaxQueueAge = DefaultMaxQueueAge
	}
	if o.RetryBase == 0 {
		o.RetryBase = DefaultRetryBase
	}
	o.Clock = clock.Or(o.Clock)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
		if o.Hostname == "" {
			o.Hostname = "localhost"
		}
	}
	sp, err := spool.Open(o.Spool)
	if err != nil {
		return nil, err
	}
	d := &Delivery{
		o: o, sp: sp, clock: o.Clock, log: o.Logger, m: newMetrics(o.Registerer), host: o.Hostname,
		pace:     newPacer(o.PerMailboxRate, o.PerMailboxConcurrency, o.Concurrency),
		items:    map[string]*item{},
		waiters:  map[string]*waiter{},
		attempts: context.Background(),
		wake:     make(chan struct{}, 1),
	}
	if gs, ok := o.Sender.(*GraphSender); ok && gs.OnToken == nil {
		gs.OnToken = d.m.tokens.Inc
	}
	if err := d.rescan(); err != nil {
		d.log.Warn("spool entries skipped", "spool", o.Spool, "error", err.Error())
	}
	return d, nil
}

// Spool returns the spool the Delivery uses.
func (d *Delivery) Spool() *spool.Spool { return d.sp }

// Stats returns what became of the messages this Delivery attempted.
func (d *Delivery) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// poke wakes the dispatcher.
func (d *Delivery) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Submit implements Queue.
func (d *Delivery) Submit(ctx context.Context, s Submission, wait time.Duration) (Receipt, error) {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return Receipt{}, errClosed
	}
	meta, err := accept(d.sp, s, d.clock.Now())
	if err != nil {
		return Receipt{}, err
	}
	d.m.accepted.Inc()
	d.logEvent(slog.LevelInfo, "accepted", meta, nil, "client", oneLine(s.Client), "auth_user", oneLine(s.AuthUser))
	w := &waiter{ch: make(chan Receipt, 1)}
	d.mu.Lock()
	d.items[meta.ID] = newItem(meta)
	d.m.queued.Set(float64(len(d.items)))
	if wait > 0 {
		d.waiters[meta.ID] = w
	}
	d.mu.Unlock()
	d.poke()
	queued := Receipt{ID: meta.ID, Outcome: flows.OutcomeTemporary, Queued: true}
	if wait <= 0 {
		return queued, nil
	}
	select {
	case r := <-w.ch:
		return r, nil
	case <-ctx.Done():
	case <-d.clock.After(wait):
	}
	d.mu.Lock()
	if w.claimed {
		d.mu.Unlock()
		return <-w.ch, nil
	}
	w.gone = true
	delete(d.waiters, meta.ID)
	d.mu.Unlock()
	select {
	case r := <-w.ch:
		return r, nil
	default:
	}
	return queued, nil
}

// Enqueue spools a message for a relay (or `mailgrant queue run`) to
// deliver, without delivering it: sendmail hands over a message that failed
// transiently this way when Serves says a relay serves the profile. A
// running relay picks it up within 30 s.
func Enqueue(spoolDir string, s Submission) (string, error) {
	sp, err := spool.Open(spoolDir)
	if err != nil {
		return "", err
	}
	m, err := accept(sp, s, time.Now()) // no queue here: the system clock, as the spool's files
	return m.ID, err
}

// Serves reports whether a relay configured with spoolDir serves profile
// (it wrote the profile into the spool's marker with MarkServes) and
// someone delivers from that spool: a relay runs on it (HoldServes), or the
// marker's heartbeat (MarkServes, Heartbeat) is younger than
// spool.HeartbeatValid.
func Serves(spoolDir, profile string) bool { return spool.Serves(spoolDir, profile) }

// MarkServes records in the spool which profiles the relay serves, so that
// sendmail knows it may hand their messages over; it counts as a fresh
// heartbeat.
func MarkServes(spoolDir string, profiles []string) error {
	return spool.WriteServes(spoolDir, profiles)
}

// HoldServes says, until release or the process's end (kill -9 included),
// that a relay runs on the spool, so that Serves trusts its marker however
// old the heartbeat.
func HoldServes(spoolDir string) (release func(), err error) { return spool.HoldServes(spoolDir) }

// Heartbeat says that messages in the spool are delivered (`mailgrant
// queue run` from a timer): the marker's profiles count for
// spool.HeartbeatValid more.
func Heartbeat(spoolDir string) error { return spool.Heartbeat(spoolDir) }

// accept writes a submission to the spool.
func accept(sp *spool.Spool, s Submission, now time.Time) (spool.Meta, error) {
	if s.Profile == "" {
		return spool.Meta{}, errors.New("relay: the submission names no profile")
	}
	if len(s.Recipients) == 0 {
		return spool.Meta{}, errors.New("relay: the submission has no recipient")
	}
	if s.Data == nil {
		return spool.Meta{}, errors.New("relay: the submission has no message")
	}
	br := bufio.NewReaderSize(s.Data, 64<<10)
	head, _ := br.Peek(maxHeaderBlock)
	_, h := headerBlock(bytes.NewReader(head))
	meta := spool.Meta{
		Profile:    s.Profile,
		From:       strings.Trim(strings.TrimSpace(s.From), "<>"),
		Recipients: slices.Clone(s.Recipients),
		Mailbox:    headerAddress(h.Get("From")),
		Client:     s.Client,
		AuthUser:   s.AuthUser,
	}
	if meta.Mailbox == "" {
		meta.Mailbox = meta.From
	}
	meta.NoBounce = mustNotBounce(meta.From, h)
	return sp.Add(meta, &crlfReader{r: br}, now)
}

// headerAddress returns the address of a From header, or "".
func headerAddress(v string) string {
	if v == "" {
		return ""
	}
	a, err := mail.ParseAddress(v)
	if err != nil {
		return ""
	}
	return a.Address
}

// crlfReader turns bare LF line ends into CRLF, as Graph's MIME parser
// wants.
type crlfReader struct {
	r       io.Reader
	prevCR  bool
	pending bool // a '\n' owed after an inserted '\r'
	buf     []byte
}

func (c *crlfReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	if c.pending {
		p[0] = '\n'
		c.pending, c.prevCR = false, false
		n = 1
	}
	// Read at most half the room, so every byte can grow into two.
	room := (len(p) - n) / 2
	if room == 0 {
		if n > 0 {
			return n, nil
		}
		room = 1
	}
	if cap(c.buf) < room {
		c.buf = make([]byte, room)
	}
	buf := c.buf[:room]
	m, err := c.r.Read(buf)
	for _, b := range buf[:m] {
		if b == '\n' && !c.prevCR {
			if n+1 >= len(p) {
				p[n] = '\r'
				n++
				c.pending = true
				continue
			}
			p[n] = '\r'
			n++
		}
		p[n] = b
		n++
		c.prevCR = b == '\r'
	}
	return n, err
}

// Run delivers queued messages until ctx ends or Close is called; then it
// stops taking work (Submit fails), waits up to 20 s for deliveries in
// flight (then cancels them: they stay spooled) and returns nil.
func (d *Delivery) Run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	attempts, cancelAttempts := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAttempts()
	done := make(chan struct{})
	defer close(done)
	d.mu.Lock()
	if d.closed || d.stop != nil {
		d.mu.Unlock()
		return errors.New("relay: Run called twice or after Close")
	}
	d.stop, d.runDone, d.attempts = stop, done, attempts
	d.mu.Unlock()

	nextRescan := d.clock.Now().Add(rescanEvery)
	for {
		now := d.clock.Now()
		if !now.Before(nextRescan) {
			if err := d.rescan(); err != nil {
				d.log.Warn("spool entries skipped", "spool", d.o.Spool, "error", err.Error())
			}
			nextRescan = now.Add(rescanEvery)
		}
		wakeAt, _ := d.dispatch(now)
		if wakeAt.IsZero() || wakeAt.After(nextRescan) {
			wakeAt = nextRescan
		}
		select {
		case <-ctx.Done():
			d.shutdown(cancelAttempts)
			return nil
		case <-d.wake:
		case <-d.clock.After(wakeAt.Sub(now)):
		}
	}
}

// shutdown refuses new work and waits for deliveries in flight.
func (d *Delivery) shutdown(cancel context.CancelFunc) {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	finished := make(chan struct{})
	go func() { d.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(shutdownGrace):
		cancel()
		<-finished
	}
}

// Health says whether the queue works: nil while it takes messages and its
// spool directory is there; for /healthz (see Handler).
func (d *Delivery) Health() error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return errClosed
	}
	if _, err := os.Stat(filepath.Join(d.sp.Dir(), "queue")); err != nil {
		return fmt.Errorf("the spool is not usable: %w", err)
	}
	return nil
}

// Close stops Run (see Run) and waits for it to return; without Run it just
// refuses further submissions.
func (d *Delivery) Close() error {
	d.mu.Lock()
	d.closed = true
	stop, done := d.stop, d.runDone
	d.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	d.wg.Wait()
	return nil
}

// Drain delivers every message due now, paced as Run paces, and returns
// when none is due any more: for `mailgrant queue run`. Messages deferred
// during the run stay queued for later.
func (d *Delivery) Drain(ctx context.Context) (Stats, error) {
	if err := d.rescan(); err != nil {
		d.log.Warn("spool entries skipped", "spool", d.o.Spool, "error", err.Error())
	}
	d.mu.Lock()
	d.attempts = ctx
	d.mu.Unlock()
	for {
		now := d.clock.Now()
		wakeAt, pending := d.dispatch(now)
		if !pending {
			// An attempt forgets its message before it counts and logs the
			// outcome: wait for it to end, or the counts may miss it and
			// its log line come after `queue run` printed them.
			d.wg.Wait()
			return d.Stats(), nil
		}
		var after <-chan time.Time
		if !wakeAt.IsZero() {
			after = d.clock.After(wakeAt.Sub(now))
		}
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return d.Stats(), ctx.Err()
		case <-d.wake:
		case <-after:
		}
	}
}

// dispatch starts the attempts that are due and allowed by the pacing. It
// returns when the next one could start (zero when only a delivery ending
// can free a slot, or nothing is queued), and whether any message is busy
// or due now (for Drain).
func (d *Delivery) dispatch(now time.Time) (wakeAt time.Time, pending bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return time.Time{}, false
	}
	var due []*item
	for _, it := range d.items {
		switch {
		case it.busy:
			pending = true
		case !it.meta.NextAttempt.After(now):
			due = append(due, it)
			pending = true
		default:
			wakeAt = earliest(wakeAt, it.meta.NextAttempt)
		}
	}
	slices.SortFunc(due, func(a, b *item) int {
		if c := a.meta.NextAttempt.Compare(b.meta.NextAttempt); c != 0 {
			return c
		}
		return strings.Compare(a.meta.ID, b.meta.ID)
	})
	for _, it := range due {
		if d.pace.full() {
			break
		}
		ok, at := d.pace.take(it.key, now)
		if !ok {
			if !at.IsZero() {
				wakeAt = earliest(wakeAt, at)
			}
			continue
		}
		it.busy = true
		d.wg.Add(1)
		go d.attempt(d.attempts, it.meta.ID, it.key)
	}
	return wakeAt, pending
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// rescan reads the queue from disk: messages added by other processes,
// changed by `mailgrant queue retry`, or gone (dropped, or delivered by
// another process). It also finishes what a crash interrupted: moving a
// message to failed/, and its bounce (bounceOwed).
func (d *Delivery) rescan() error {
	listed := time.Now() // ordered against item.added, both wall clock
	metas, err := d.sp.Queued()
	if metas == nil && err != nil {
		return err
	}
	d.mu.Lock()
	seen := make(map[string]bool, len(metas))
	var unfinished []spool.Meta
	for _, m := range metas {
		seen[m.ID] = true
		if !m.FailedAt.IsZero() {
			unfinished = append(unfinished, m) // a crash while failing it
			continue
		}
		if it := d.items[m.ID]; it != nil {
			if !it.busy {
				it.meta = m
			}
			continue
		}
		d.items[m.ID] = newItem(m)
	}
	for id, it := range d.items {
		// An item added after the listing began may be missing from it.
		if !seen[id] && !it.busy && it.added.Before(listed) {
			delete(d.items, id)
		}
	}
	d.m.queued.Set(float64(len(d.items)))
	d.mu.Unlock()
	for _, m := range unfinished {
		unlock, ok, lerr := d.sp.TryLock(m.ID)
		if lerr != nil || !ok {
			continue // gone, or being failed right now
		}
		if ferr := d.sp.Fail(m); ferr != nil {
			err = errors.Join(err, ferr)
		}
		unlock()
	}
	return errors.Join(err, d.bounceOwed())
}

// forget removes a message this process no longer has to deliver.
func (d *Delivery) forget(id string) {
	d.mu.Lock()
	delete(d.items, id)
	d.m.queued.Set(float64(len(d.items)))
	d.mu.Unlock()
}

// notify hands a receipt to a waiting Submit, if any still waits.
func (d *Delivery) notify(r Receipt) {
	d.mu.Lock()
	w := d.waiters[r.ID]
	if w != nil {
		delete(d.waiters, r.ID)
	}
	d.mu.Unlock()
	if w != nil {
		w.ch <- r
	}
}

// claim takes the waiting Submit of id, if one still waits, so that a
// permanent refusal goes to the SMTP client instead of a bounce.
func (d *Delivery) claim(id string) *waiter {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.waiters[id]
	if w == nil || w.gone {
		return nil
	}
	w.claimed = true
	delete(d.waiters, id)
	return w
}

// attempt makes one delivery attempt of a queued message.
func (d *Delivery) attempt(ctx context.Context, id, key string) {
	defer d.wg.Done()
	defer func() {
		d.mu.Lock()
		d.pace.done(key)
		if it := d.items[id]; it != nil {
			it.busy = false
		}
		d.mu.Unlock()
		d.poke()
		if d.attempted != nil {
			d.attempted <- id
		}
	}()
	unlock, ok, err := d.sp.TryLock(id)
	if err != nil {
		d.forget(id) // dropped, or delivered by another process
		return
	}
	if !ok {
		// Another process is delivering it; look again later.
		d.mu.Lock()
		if it := d.items[id]; it != nil {
			it.meta.NextAttempt = d.clock.Now().Add(rescanEvery)
		}
		d.mu.Unlock()
		return
	}
	defer unlock()
	meta, failed, err := d.sp.Get(id)
	if err != nil || failed {
		d.forget(id)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	meta.Attempts++
	start := d.clock.Now()
	t0 := time.Now()
	res, err := d.send(ctx, &meta)
	d.m.latency.Observe(time.Since(t0).Seconds())
	outcome := flows.Classify(err)
	if ctx.Err() != nil && err != nil {
		outcome = flows.OutcomeTemporary // cancelled by shutdown: try again later
	}
	if outcome.Permanent() && meta.DraftID != "" {
		if d.crashAt != nil {
			d.crashAt("refused")
		}
		d.dropDraft(ctx, &meta)
	}
	switch {
	case outcome == flows.OutcomeSent:
		if d.crashAt != nil {
			d.crashAt("sent")
		}
		if rerr := d.sp.Remove(id); rerr != nil {
			d.log.Error("sent, but the spool entry could not be removed: it may be sent again", "id", id, "error", rerr.Error())
		}
		d.forget(id)
		d.count(func(s *Stats) { s.Sent++ })
		d.m.sent.Inc()
		d.logEvent(slog.LevelInfo, "sent", meta, res)
		d.notify(Receipt{ID: id, Outcome: flows.OutcomeSent})
	case outcome == flows.OutcomeTemporary:
		if start.Sub(meta.Queued) >= d.o.MaxQueueAge {
			d.fail(meta, outcome, err, true)
			// Kept in failed/ and bounced: the client need not resend.
			d.notify(Receipt{ID: id, Outcome: flows.OutcomeTemporary, Err: err, Queued: true})
			return
		}
		meta.NextAttempt = d.clock.Now().Add(d.backoff(meta.Attempts, err))
		meta.LastError, meta.LastCode = describe(err), errCode(err)
		if uerr := d.sp.Update(meta); uerr != nil {
			d.log.Error("the spool entry could not be updated", "id", id, "error", uerr.Error())
		}
		d.mu.Lock()
		if it := d.items[id]; it != nil {
			it.meta = meta
		}
		d.mu.Unlock()
		d.count(func(s *Stats) { s.Deferred++ })
		d.m.deferred.Inc()
		d.logEvent(slog.LevelWarn, "deferred", meta, nil, errAttrs(err, "next_attempt", meta.NextAttempt.UTC().Format(time.RFC3339))...)
		d.notify(Receipt{ID: id, Outcome: flows.OutcomeTemporary, Err: err, Queued: true})
	default:
		if w := d.claim(id); w != nil {
			// The SMTP client is still waiting: it is told, nothing is kept.
			if rerr := d.sp.Remove(id); rerr != nil {
				d.log.Error("the refused message could not be removed from the spool", "id", id, "error", rerr.Error())
			}
			d.forget(id)
			d.count(func(s *Stats) { s.Failed++ })
			d.m.failed.Inc()
			d.logEvent(slog.LevelWarn, "refused", meta, nil, errAttrs(err, "outcome", outcome.String())...)
			w.ch <- Receipt{ID: id, Outcome: outcome, Err: err}
			return
		}
		d.fail(meta, outcome, err, false)
	}
}

func (d *Delivery) count(f func(*Stats)) {
	d.mu.Lock()
	f(&d.stats)
	d.mu.Unlock()
}

// dropDraft forgets the draft of a message that failed for good, so that a
// `mailgrant queue retry` delivers it afresh instead of taking the missing
// draft for a sent one, then deletes the draft (flows.Deliver keeps a
// recorded draft whose send failed). The spool forgets it first: a crash
// after that leaves at worst an unsent draft, never a message counted as
// sent. Only a message that expires after temporary errors keeps its draft
// id: whether that draft went out is still open.
func (d *Delivery) dropDraft(ctx context.Context, meta *spool.Meta) {
	mailbox, id := meta.DraftMailbox, meta.DraftID
	meta.DraftID, meta.DraftMailbox = "", ""
	if err := d.sp.Update(*meta); err != nil {
		d.log.Error("the spool entry could not forget the refused draft", "id", meta.ID, "error", err.Error())
		return // the draft stays, so that its id does not name a deleted one
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := d.o.Sender.DeleteDraft(cctx, meta.Profile, mailbox, id); err != nil {
		d.log.Warn("the draft of a failed message could not be deleted", "id", meta.ID, "error", describe(err))
	}
}

// send delivers a message through the Sender, through a draft when
// exactly-once, or sends (or counts as sent) the draft recorded by an
// earlier attempt.
func (d *Delivery) send(ctx context.Context, meta *spool.Meta) (*flows.DeliverResult, error) {
	if meta.DraftID != "" {
		exists, err := d.o.Sender.DraftExists(ctx, meta.Profile, meta.DraftMailbox, meta.DraftID)
		if err != nil {
			return nil, err
		}
		if !exists {
			// Sent before a crash: Graph moves a sent draft out of Drafts.
			return &flows.DeliverResult{Mailbox: meta.DraftMailbox, Path: "draft", DraftID: meta.DraftID}, nil
		}
		if err := d.o.Sender.SendDraft(ctx, meta.Profile, meta.DraftMailbox, meta.DraftID); err != nil && !errors.Is(err, flows.ErrDraftGone) {
			// A draft gone between the check and its send was sent (by an
			// answer lost, or another process): not an unknown mailbox.
			return nil, err
		}
		return &flows.DeliverResult{Mailbox: meta.DraftMailbox, Path: "draft", DraftID: meta.DraftID}, nil
	}
	f, err := d.sp.Message(meta.ID)
	if err != nil {
		return nil, fmt.Errorf("read the spooled message: %w", err)
	}
	defer f.Close()
	o := flows.DeliverOptions{MaxMessageSize: d.o.MaxMessageSize}
	if d.o.ExactlyOnce {
		o.ExactlyOnce = true
		o.OnDraftRef = func(ref flows.DraftRef) error {
			// The draft is ours only once the spool holds its id: if the
			// update fails, flows.Deliver deletes the draft.
			m := *meta
			m.DraftID, m.DraftMailbox = ref.ID, ref.Mailbox
			if err := d.sp.Update(m); err != nil {
				return err
			}
			meta.DraftID, meta.DraftMailbox = m.DraftID, m.DraftMailbox
			if d.crashAt != nil {
				d.crashAt("draft-recorded")
			}
			return nil
		}
	}
	return d.o.Sender.Deliver(ctx, meta.Profile, f, meta.Size, flows.Envelope{From: meta.From, Recipients: meta.Recipients}, o)
}

// backoff is the wait before the next attempt: RetryBase doubled per
// attempt, capped at an hour, with "equal jitter" (half fixed, half
// random), and never shorter than a Retry-After Graph asked for.
func (d *Delivery) backoff(attempts int, err error) time.Duration {
	b := d.o.RetryBase
	for i := 1; i < attempts && b < maxBackoff; i++ {
		b *= 2
	}
	b = min(b, maxBackoff)
	b = b/2 + rand.N(b/2+1)
	var fe *flows.Error
	if errors.As(err, &fe) && fe.RetryAfter > b {
		b = fe.RetryAfter
	}
	return b
}

// fail moves a message to failed/ and bounces it unless it must not be.
// So that no crash loses the bounce, the queued message is marked failed
// first, then the bounce is spooled, then the message moves to failed/
// recording that its bounce is queued (BounceQueued). After a crash the
// rescan moves a message marked failed to failed/ and bounces a failed
// message without the record (bounceOwed); a bounce spooled already is not
// spooled again (see bounce).
func (d *Delivery) fail(meta spool.Meta, outcome flows.Outcome, err error, expired bool) {
	now := d.clock.Now()
	meta.FailedAt = now
	meta.LastError, meta.LastCode = describe(err), errCode(err)
	meta.Reason = meta.LastError
	meta.Outcome = outcome.String()
	if expired {
		meta.Reason = fmt.Sprintf("gave up after %d attempts over %s: %s", meta.Attempts, now.Sub(meta.Queued).Round(time.Second), meta.LastError)
	}
	if !meta.NoBounce && !meta.Bounce {
		if uerr := d.sp.Update(meta); uerr != nil {
			d.log.Error("the spool entry could not be marked failed", "id", meta.ID, "error", uerr.Error())
		}
		if d.crashAt != nil {
			d.crashAt("marked-failed")
		}
		if berr := d.bounce(meta, outcome, expired); berr != nil {
			d.log.Error("no bounce could be queued; the next rescan tries again", "id", meta.ID, "error", berr.Error())
		} else {
			meta.BounceQueued = true
		}
		if d.crashAt != nil {
			d.crashAt("bounce-queued")
		}
	}
	if ferr := d.sp.Fail(meta); ferr != nil {
		d.log.Error("the failed message could not be moved to failed/", "id", meta.ID, "error", ferr.Error())
	}
	if d.crashAt != nil {
		d.crashAt("failed")
	}
	d.forget(meta.ID)
	d.count(func(s *Stats) { s.Failed++ })
	d.m.failed.Inc()
	d.logEvent(slog.LevelError, "failed", meta, nil, errAttrs(err, "outcome", outcome.String(), "expired", expired)...)
}

// bounceOwed bounces the failed messages whose bounce is not queued: after
// a crash between failing and bouncing, or a bounce that could not be
// spooled.
func (d *Delivery) bounceOwed() error {
	failed, err := d.sp.Failed()
	for _, m := range failed {
		if m.NoBounce || m.Bounce || m.BounceQueued {
			continue
		}
		unlock, ok, lerr := d.sp.TryLock(m.ID)
		if lerr != nil || !ok {
			continue // gone, or another process has it
		}
		m, isFailed, gerr := d.sp.Get(m.ID)
		if gerr == nil && isFailed && !m.BounceQueued {
			outcome := outcomeNamed(m.Outcome)
			if berr := d.bounce(m, outcome, outcome == flows.OutcomeTemporary); berr != nil {
				err = errors.Join(err, berr)
			} else {
				m.BounceQueued = true
				err = errors.Join(err, d.sp.Update(m))
			}
		}
		unlock()
	}
	return err
}

// outcomeNamed is the outcome whose String is name; OutcomeFailed when
// none is.
func outcomeNamed(name string) flows.Outcome {
	for o := flows.OutcomeSent; o < flows.OutcomeFailed; o++ {
		if o.String() == name {
			return o
		}
	}
	return flows.OutcomeFailed
}

// bounce queues an RFC 3464 report of a failed message (meta.LastCode and
// LastError say why), to the envelope sender and to BounceTo. It is sent
// from the mailbox that sent the message, or from the profile's own when
// that mailbox may not send or does not exist. The bounce's id follows
// from the message's id and attempts, so a bounce queued before a crash is
// not queued again when the message fails again.
func (d *Delivery) bounce(meta spool.Meta, outcome flows.Outcome, expired bool) error {
	var to []string
	if meta.From != "" {
		to = append(to, meta.From)
	}
	if d.o.BounceTo != "" && !slices.ContainsFunc(to, func(a string) bool { return strings.EqualFold(a, d.o.BounceTo) }) {
		to = append(to, d.o.BounceTo)
	}
	if len(to) == 0 {
		return nil
	}
	id := fmt.Sprintf("%s-dsn%d", meta.ID, meta.Attempts)
	if _, _, err := d.sp.Get(id); err == nil {
		return nil // queued before a crash
	}
	f, ferr := d.sp.Message(meta.ID)
	var headers []byte
	var origMsgID string
	if ferr == nil {
		var h textproto.MIMEHeader
		headers, h = headerBlock(f)
		origMsgID = strings.TrimSpace(h.Get("Message-ID"))
		f.Close()
	}
	from := meta.Mailbox
	if outcome == flows.OutcomeDenied || outcome == flows.OutcomeUnknownMailbox {
		// The mailbox may not send, or is not there (or the message's
		// recipient is not): bounce from the profile's own.
		from = ""
	}
	now := d.clock.Now()
	msg := dsn{reportingMTA: d.host, from: from, to: to, meta: meta, status: dsnStatus(outcome, expired),
		code: meta.LastCode, diagnostic: meta.LastError, headers: headers, origMsgID: origMsgID, date: now}.build()
	bm, aerr := d.sp.Add(spool.Meta{ID: id, Profile: meta.Profile, From: from, Recipients: to, Mailbox: from, NoBounce: true, Bounce: true}, bytes.NewReader(msg), now)
	if aerr != nil {
		return aerr
	}
	d.mu.Lock()
	d.items[bm.ID] = newItem(bm)
	d.m.queued.Set(float64(len(d.items)))
	d.stats.Bounced++
	d.mu.Unlock()
	d.m.bounced.Inc()
	d.logEvent(slog.LevelInfo, "bounced", meta, nil, "bounce_id", bm.ID, "bounce_recipients", len(to))
	d.poke()
	return nil
}

// describe is an error's one-line, control-character-free text for the
// spool, logs and bounces.
func describe(err error) string {
	if err == nil {
		return ""
	}
	return oneLine(err.Error())
}

// errCode is Graph's (or mailgrant's) code of an error.
func errCode(err error) string {
	var fe *flows.Error
	if errors.As(err, &fe) {
		return string(fe.Code)
	}
	var ie *flows.InputError
	if errors.As(err, &ie) {
		return string(flows.CodeBadInput)
	}
	if err != nil {
		return string(flows.CodeError)
	}
	return ""
}

// errAttrs are the log attributes of a failed attempt, after extra.
func errAttrs(err error, extra ...any) []any {
	attrs := append(extra, "code", errCode(err), "error", describe(err))
	var fe *flows.Error
	if errors.As(err, &fe) {
		if fe.HTTPStatus != 0 {
			attrs = append(attrs, "http_status", fe.HTTPStatus)
		}
		if fe.TraceID != "" {
			attrs = append(attrs, "request_id", fe.TraceID)
		}
	}
	return attrs
}

// logEvent writes the one line of a message event: never the body, the
// subject, a token or a password.
func (d *Delivery) logEvent(level slog.Level, event string, meta spool.Meta, res *flows.DeliverResult, extra ...any) {
	attrs := []any{"event", event, "id", meta.ID, "profile", meta.Profile, "sender", oneLine(meta.From), "recipients", len(meta.Recipients), "size", meta.Size, "attempt", meta.Attempts}
	if meta.Bounce {
		attrs = append(attrs, "bounce", true)
	}
	if res != nil {
		attrs = append(attrs, "path", res.Path)
		if res.RequestID != "" {
			attrs = append(attrs, "request_id", res.RequestID)
		}
	}
	d.log.Log(context.Background(), level, "message "+event, append(attrs, extra...)...)
}
