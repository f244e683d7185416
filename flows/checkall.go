package flows

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/mailgrant/mailgrant/store"
)

// CheckAllLimit bounds how many profiles CheckAll checks at once. A check
// is a handful of requests that spend their time waiting on Entra and
// Graph, and each profile is its own app, account or mailbox, so a list of
// ordinary length (tens) is checked all at once and takes about as long as
// one profile; the bound only keeps a very long list from opening hundreds
// of connections and keyring calls together. (Checking mailboxes of one
// profile is bounded apart, by MailboxCheckOptions: those requests share
// one app's Graph throttling budget.)
const CheckAllLimit = 32

// CheckAll runs check for every profile, at most CheckAllLimit at once, and
// returns the results in the order of list. check is usually Check with the
// caller's Env, Secrets and options.
func CheckAll(ctx context.Context, list []store.Profile, check func(context.Context, store.Profile) *Status) []*Status {
	out := make([]*Status, len(list))
	var g errgroup.Group
	g.SetLimit(CheckAllLimit)
	for i, p := range list {
		g.Go(func() error {
			out[i] = check(ctx, p)
			return nil
		})
	}
	_ = g.Wait() // the checks report failures in their Status, never as errors
	return out
}
