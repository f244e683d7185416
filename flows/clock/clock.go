// Package clock is mailgrant's one time source. flows.Env, the relay's
// queue and the sandbox take a Clock, so a test can move time for every
// decision that depends on it (token and credential expiry, refresh-token
// lapse dates, retries and backoff, consent waits, log timestamps) without
// sleeping:
//
//	env.Clock = clock.NewFake(time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC))
//
// Plain elapsed-time measurements (a progress line, a latency metric) and
// network deadlines stay on the time package: they measure this machine,
// not the rules.
//
// The package imports nothing of mailgrant, so the sandbox can use it too.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	// Now is time.Now.
	Now() time.Time
	// After is time.After.
	After(d time.Duration) <-chan time.Time
}

// System is the real clock.
var System Clock = system{}

type system struct{}

func (system) Now() time.Time                         { return time.Now() }
func (system) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Or returns c, or System when c is nil, so a zero Clock field means the
// real time.
func Or(c Clock) Clock {
	if c == nil {
		return System
	}
	return c
}

// Fake is a Clock that moves only when told to, for tests. Its zero value
// is not usable; call NewFake.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{} // closed when a wait starts
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewFake returns a Fake showing start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the fake time once Advance has
// moved it d on; at once when d <= 0.
func (c *Fake) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
	return ch
}

// Advance moves the clock d on and fires the waits that are due.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// BlockUntil returns once n waits (After channels) are pending, so a test
// moves the clock only when the code under test is waiting; or when ctx
// ends, with its error.
func (c *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.waiters) >= n {
			c.mu.Unlock()
			return nil
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
