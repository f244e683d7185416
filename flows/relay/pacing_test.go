package relay

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
)

func TestPacerSpacesSendsPerMailbox(t *testing.T) {
	p := newPacer(30, 4, 100)
	now := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	a, b := paceKey("p", "a@contoso.com"), paceKey("p", "B@contoso.com")
	if ok, _ := p.take(a, now); !ok {
		t.Fatal("first send refused")
	}
	p.done(a)
	ok, at := p.take(a, now.Add(time.Second))
	if ok || !at.Equal(now.Add(2*time.Second)) {
		t.Fatalf("a second send 1 s later: ok=%v, next at %s; want refused until +2s", ok, at)
	}
	if ok, _ := p.take(b, now.Add(time.Second)); !ok {
		t.Fatal("another mailbox is held back by the first")
	}
	if ok, _ := p.take(paceKey("p", "b@contoso.com"), now.Add(time.Second)); ok {
		t.Fatal("mailbox case makes a different mailbox")
	}
	// In any minute, at most 30 sends.
	p = newPacer(30, 100, 100)
	sent := 0
	for ms := 0; ms < 60_000; ms += 10 {
		if ok, _ := p.take(a, now.Add(time.Duration(ms)*time.Millisecond)); ok {
			sent++
			p.done(a)
		}
	}
	if sent != 30 {
		t.Fatalf("%d sends in a minute, want 30", sent)
	}
}

func TestPacerConcurrencyLimits(t *testing.T) {
	p := newPacer(1_000_000, 4, 6)
	now := time.Now()
	a, b := paceKey("p", "a"), paceKey("p", "b")
	for i := 0; i < 4; i++ {
		if ok, _ := p.take(a, now.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("send %d refused", i)
		}
	}
	if ok, at := p.take(a, now.Add(time.Hour)); ok || !at.IsZero() {
		t.Fatal("a fifth concurrent request for one mailbox was allowed")
	}
	for i := 0; i < 2; i++ {
		if ok, _ := p.take(b, now.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatal("another mailbox refused below the global limit")
		}
	}
	if ok, _ := p.take(paceKey("p", "c"), now.Add(time.Hour)); ok || !p.full() {
		t.Fatal("the global limit was passed")
	}
	p.done(a)
	if ok, _ := p.take(a, now.Add(time.Hour)); !ok {
		t.Fatal("a slot freed by done was not reused")
	}
}

// TestDeliveryPacedWithFakeClock: a burst of 10 messages from one mailbox
// is queued, not refused, and goes out at 30 a minute (one every 2 s of the
// fake clock), while another mailbox's message is not held back.
func TestDeliveryPacedWithFakeClock(t *testing.T) {
	d, clock, fs := newTestDelivery(t, Options{PerMailboxRate: 30})
	start := clock.Now()
	for i := 0; i < 10; i++ {
		r, err := d.Submit(context.Background(), submission("p", "scan@contoso.com", "b@contoso.com", fmt.Sprint("burst ", i)), 0)
		if err != nil || !r.Queued {
			t.Fatalf("submission %d: %+v %v", i, r, err)
		}
	}
	if _, err := d.Submit(context.Background(), submission("p", "other@contoso.com", "b@contoso.com", "other"), 0); err != nil {
		t.Fatal(err)
	}
	runDelivery(t, d)
	var times []time.Duration
	otherSeen := false
	for len(times) < 10 {
		c := fs.next(t)
		waitAttempt(t, d)
		if c.envelope.From == "scan@contoso.com" {
			times = append(times, c.at.Sub(start))
			clock.Advance(2 * time.Second)
			d.poke()
		} else {
			// Due at once, beside the burst's first message: its attempt
			// may still land after the test moved the clock for that one,
			// but paced behind the burst it would come after all ten.
			otherSeen = true
		}
	}
	if !otherSeen {
		t.Error("the other mailbox waited for the burst: its message came after the burst's ten")
	}
	for i, at := range times {
		if at != time.Duration(i)*2*time.Second {
			t.Fatalf("send times %v, want one every 2s", times)
		}
	}
}

// TestDeliveryConcurrencyPerMailbox: with deliveries that hang, at most 4
// run for one mailbox, and the global limit holds across mailboxes.
func TestDeliveryConcurrencyPerMailbox(t *testing.T) {
	d, _, fs := newTestDelivery(t, Options{PerMailboxRate: 1_000_000, Concurrency: 6})
	release := make(chan struct{})
	fs.result = func(call, flows.DeliverOptions) error { <-release; return nil }
	clock := d.clock.(*fakeClock)
	for i := 0; i < 8; i++ {
		if _, err := d.Submit(context.Background(), submission("p", "a@contoso.com", "b@contoso.com", fmt.Sprint("a ", i)), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Submit(context.Background(), submission("p", "z@contoso.com", "b@contoso.com", fmt.Sprint("z ", i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		clock.Advance(time.Second)
		d.dispatch(clock.Now())
	}
	d.mu.Lock()
	a, z, all := d.pace.boxes[paceKey("p", "a@contoso.com")].inflight, d.pace.boxes[paceKey("p", "z@contoso.com")].inflight, d.pace.inflight
	d.mu.Unlock()
	if a > 4 || z > 4 || all != 6 {
		t.Fatalf("in flight: a %d, z %d, all %d; want ≤4 per mailbox and 6 in all", a, z, all)
	}
	close(release)
	_ = d.Close()
}

// TestPacingKeepsUnderExchangeLimit: 45 messages from one mailbox at the
// default pace (30 a minute) against the sandbox, which enforces Exchange
// Online's 30 messages a minute per mailbox with 429s, on one fake clock
// moved in steps of 250 ms: not one request is throttled, every message goes
// once, and the 45 take 88 s (one every 2 s). With a faster pace (say 40 a
// minute) the sandbox throttles the 31st message.
func TestPacingKeepsUnderExchangeLimit(t *testing.T) {
	clock := newFakeClock()
	r := newRig(t, sandbox.Options{Clock: clock})
	d := r.delivery(t, Options{Clock: clock})
	const n = 45
	for i := 0; i < n; i++ {
		if _, err := d.Submit(context.Background(), submission("app", sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, fmt.Sprint("p", i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	start := clock.Now()
	var last time.Time
	for sent := 0; sent < n; {
		// Drive the dispatcher by hand: start what is allowed now, wait
		// for those attempts, move the clock on.
		d.dispatch(clock.Now())
		d.mu.Lock()
		started := d.pace.inflight
		d.mu.Unlock()
		for i := 0; i < started; i++ {
			waitAttempt(t, d)
		}
		if started > 0 {
			last = clock.Now()
		}
		sent += started
		if clock.Now().Sub(start) > 5*time.Minute {
			t.Fatalf("only %d sent after 5 minutes", sent)
		}
		clock.Advance(250 * time.Millisecond)
	}
	if th := r.throttled.Load(); th != 0 {
		t.Fatalf("the sandbox throttled %d requests: the pacing lets more than 30 a minute through", th)
	}
	got := r.sentBySubject()
	for i := 0; i < n; i++ {
		if got[fmt.Sprint("p", i)] != 1 {
			t.Fatalf("sent %v", got)
		}
	}
	if took := last.Sub(start); took != 88*time.Second {
		t.Fatalf("the 45th message went at +%s, want +88s (one every 2 s)", took)
	}
}
