package flows

import (
	"context"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/mailgrant/mailgrant/store"
)

// CheckAllLimit bounds how many profiles CheckAll checks at once. A check
// is a handful of requests that spend their time waiting on Entra and
// Graph, so a list of ordinary length (tens) is checked all at once and
// takes about as long as one profile; the bound only keeps a very long list
// from opening hundreds of connections and keyring calls together. (Checking
// mailboxes of one profile is bounded apart, by MailboxCheckOptions: those
// requests share one app's Graph throttling budget.)
const CheckAllLimit = 32

// CheckAllPerMailbox bounds the checks that run at once for profiles of the
// same app and mailbox: Outlook allows an app 4 requests in flight on one
// mailbox and answers 429 past them (reference §10), so more checks at once
// would only be throttled, or fail once the retries run out.
const CheckAllPerMailbox = 4

// CheckAll runs check for every profile, at most CheckAllLimit at once and
// at most CheckAllPerMailbox for one app and mailbox, and returns the
// results in the order of list. check is usually Check with the caller's
// Env, Secrets and options.
func CheckAll(ctx context.Context, list []store.Profile, check func(context.Context, store.Profile) *Status) []*Status {
	out := make([]*Status, len(list))
	// Each app and mailbox gets up to CheckAllPerMailbox lanes that check
	// its profiles one after another, so a waiting check never holds one of
	// the CheckAllLimit slots that another mailbox could use.
	var keys []string
	byKey := map[string][]int{}
	for i, p := range list {
		k := strings.ToLower(p.ClientID) + "/" + strings.ToLower(p.Account)
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], i)
	}
	var g errgroup.Group
	g.SetLimit(CheckAllLimit)
	for _, k := range keys {
		idx := byKey[k]
		lanes := min(CheckAllPerMailbox, len(idx))
		for lane := range lanes {
			g.Go(func() error {
				for j := lane; j < len(idx); j += lanes {
					out[idx[j]] = check(ctx, list[idx[j]])
				}
				return nil
			})
		}
	}
	_ = g.Wait() // the checks report failures in their Status, never as errors
	return out
}
