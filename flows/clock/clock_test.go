package clock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/clock"
)

func TestFakeMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	c := clock.NewFake(start)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	fired := make(chan time.Time, 1)
	go func() { fired <- <-c.After(time.Minute) }()
	if err := c.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("the wait never started: %v", err)
	}
	c.Advance(59 * time.Second)
	select {
	case at := <-fired:
		t.Fatalf("fired at %s, before its minute", at)
	default:
	}
	c.Advance(time.Second)
	if at := <-fired; !at.Equal(start.Add(time.Minute)) || !c.Now().Equal(at) {
		t.Errorf("fired at %s, now %s; want %s", at, c.Now(), start.Add(time.Minute))
	}
	if at := <-c.After(0); !at.Equal(c.Now()) {
		t.Errorf("After(0) gave %s, want at once", at)
	}
}

func TestFakeBlockUntilEndsWithItsContext(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.BlockUntil(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("BlockUntil = %v with no wait pending, want the context's error", err)
	}
}

func TestOrIsTheSystemClockForNil(t *testing.T) {
	before := time.Now()
	got := clock.Or(nil).Now()
	if got.Before(before) || got.After(time.Now()) {
		t.Errorf("Or(nil).Now() = %s, not the system time", got)
	}
	f := clock.NewFake(time.Unix(42, 0))
	if clock.Or(f) != clock.Clock(f) {
		t.Error("Or replaced a given clock")
	}
}
