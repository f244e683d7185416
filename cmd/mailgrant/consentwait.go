package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// consentWaitEnv overrides how long to wait for a new admin consent to
// reach app-only tokens (a Go duration; 0 does not wait).
const consentWaitEnv = "MAILGRANT_CONSENT_WAIT"

// waitForConsent keeps asking for a token after an admin consented, with a
// visible countdown, until the token carries the new permissions or the
// wait ends; Enter skips it on a terminal. When it ends without them, it
// says so and gives the exact status command to run later.
func waitForConsent(ctx context.Context, a *app, p store.Profile, cred flows.AppCredential) (*flows.Token, error) {
	w := a.io.err
	wait := flows.ConsentWait
	if v := os.Getenv(consentWaitEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, &flows.InputError{Field: consentWaitEnv, Problem: fmt.Sprintf("%q is not a duration", v), Hint: "use a Go duration such as 3m or 90s; 0 does not wait"}
		}
		wait = d
	}
	interval := min(max(wait/18, 100*time.Millisecond), 10*time.Second)
	o := flows.PollOptions{Interval: interval, Timeout: wait}
	skip := ""
	if isTerminal(a.io.in) {
		ch := make(chan struct{})
		go func() {
			_, _ = bufio.NewReader(a.io.in).ReadString('\n')
			close(ch)
		}()
		o.Skip, skip = ch, "Enter skips, "
	}
	fmt.Fprintf(w, "✓ Admin consent granted. Entra can take a few minutes to apply it: asking for a token every %s for up to %s (%sCtrl+C cancels)…\n", interval.Round(100*time.Millisecond), wait, skip)
	var shown time.Duration
	o.Waiting = func(_ error, left time.Duration) {
		// A line about every 10 seconds, not one per attempt.
		if shown == 0 || shown-left >= 10*time.Second || left < interval {
			shown = left
			fmt.Fprintf(w, "  consent not in the token yet; %s left\n", left.Round(time.Second))
		}
	}
	if wait == 0 {
		o.Timeout = time.Nanosecond
	}
	tok, err := flows.WaitForConsent(ctx, a.env, p, cred, o)
	if err == nil && tok != nil && flows.NeedsAdminConsent(p, tok) {
		fmt.Fprintf(w, "! The consent has not reached the token yet; this can take several minutes. Check again later with: %s status %s\n", a.commandPrefix(), p.Name)
	}
	return tok, err
}
