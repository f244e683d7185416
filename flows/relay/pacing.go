package relay

import (
	"strings"
	"time"
)

// pacer keeps Exchange Online's per-mailbox limits: at most rate sends a
// minute, evenly spaced (a strict GCRA, so no rolling minute ever holds
// more than rate), and at most conc requests in flight per mailbox, with a
// global cap on top. Bursts wait; nothing is refused. It is not safe for
// concurrent use: Delivery holds its lock around it.
type pacer struct {
	interval time.Duration // 60 s / rate
	conc     int           // per mailbox
	global   int
	inflight int
	boxes    map[string]*box
}

// box is one sending mailbox's state.
type box struct {
	next     time.Time // earliest time of the next send
	inflight int
}

func newPacer(ratePerMinute, conc, global int) *pacer {
	return &pacer{interval: time.Minute / time.Duration(ratePerMinute), conc: conc, global: global, boxes: map[string]*box{}}
}

// paceKey names the sending mailbox of a message: profile and mailbox.
func paceKey(profile, mailbox string) string {
	return profile + "\x00" + strings.ToLower(mailbox)
}

// take starts a send for key at now if the limits allow; otherwise it
// returns false and when a send for key could start (zero when only the
// concurrency limits stand in the way, which free up when a send ends).
func (p *pacer) take(key string, now time.Time) (ok bool, at time.Time) {
	b := p.boxes[key]
	if b == nil {
		b = &box{}
		p.boxes[key] = b
	}
	if p.inflight >= p.global || b.inflight >= p.conc {
		return false, time.Time{}
	}
	if now.Before(b.next) {
		return false, b.next
	}
	b.next = now.Add(p.interval)
	b.inflight++
	p.inflight++
	return true, time.Time{}
}

// done ends a send started by take.
func (p *pacer) done(key string) {
	if b := p.boxes[key]; b != nil && b.inflight > 0 {
		b.inflight--
	}
	if p.inflight > 0 {
		p.inflight--
	}
}

// full reports whether the global limit is reached.
func (p *pacer) full() bool { return p.inflight >= p.global }
