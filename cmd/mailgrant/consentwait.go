package main

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// waitForConsent keeps asking for a token after an admin consented, with a
// visible countdown, until the token carries the new permissions or the
// wait ends; Enter skips it on a terminal. When it ends without them, it
// says so and gives the exact status command to run later. How long and
// how often are flows' (ConsentWaitFromEnv, ConsentRetry), as in the wizard.
func waitForConsent(ctx context.Context, a *app, p store.Profile, cred flows.AppCredential) (*flows.Token, error) {
	w := a.io.err
	wait, err := flows.ConsentWaitFromEnv()
	if err != nil {
		return nil, err
	}
	o := flows.ConsentRetry(wait)
	interval := o.Interval
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
	tok, err := flows.WaitForConsent(ctx, a.env, p, cred, o)
	if err == nil && tok != nil && flows.NeedsAdminConsent(p, tok) {
		fmt.Fprintf(w, "! The consent has not reached the token yet; this can take several minutes. Check again later with: %s status %s\n", a.commandPrefix(), p.Name)
	}
	return tok, err
}
