package flows_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestCheckAllChecksTwentyAtOnce: status of 20 profiles must take about one
// profile's time, so 20 checks run together (the old cap was 8). Each check
// waits until all 20 have started; with a lower cap they never would, and
// the test fails at its deadline instead of hanging.
func TestCheckAllChecksTwentyAtOnce(t *testing.T) {
	const n = 20
	var list []store.Profile
	for i := range n {
		list = append(list, store.Profile{Name: fmt.Sprintf("p%02d", i)})
	}
	var started sync.WaitGroup
	started.Add(n)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := flows.CheckAll(ctx, list, func(ctx context.Context, p store.Profile) *flows.Status {
		started.Done()
		select {
		case <-all:
			return &flows.Status{Name: p.Name, State: flows.StateAuthorized}
		case <-ctx.Done():
			return &flows.Status{Name: p.Name, State: flows.StateError}
		}
	})
	for i, st := range res {
		if st.Name != list[i].Name {
			t.Fatalf("result %d is for %s, want %s (order lost)", i, st.Name, list[i].Name)
		}
		if st.State != flows.StateAuthorized {
			t.Fatalf("%s never ran together with the others: fewer than %d checks at once", st.Name, n)
		}
	}
}

// BenchmarkCheckAll compares checking 1 and 20 send-as-user profiles (a
// refresh and a /me each) against the sandbox with 200 ms of Graph latency
// (issue 11: 20 profiles took 1.64 s against 0.49 s for one, with 8 at
// once). Reported, not asserted.
func BenchmarkCheckAll(b *testing.B) {
	// Every profile reads /me of the same mailbox: Exchange's per-mailbox
	// limit (4 requests in flight) is off, as in BenchmarkStatus20, so this
	// measures mailgrant, not the throttling.
	srv, env := startSandbox(b, sandbox.Options{GraphLatency: 200 * time.Millisecond, MailboxConcurrency: -1})
	base := userProfile("bench", sandbox.AdeleVance.UPN)
	tok := deviceSignIn(b, srv, env, base) // one grant, shared by every profile
	mem := store.NewMemory()
	for _, n := range []int{1, 20} {
		var list []store.Profile
		for i := range n {
			p := base
			p.Name = fmt.Sprintf("bench-%d-%02d", n, i)
			if err := mem.Set(p.Name, store.KindRefreshToken, tok.RefreshToken); err != nil {
				b.Fatal(err)
			}
			list = append(list, p)
		}
		b.Run(fmt.Sprintf("profiles=%d", n), func(b *testing.B) {
			for b.Loop() {
				res := flows.CheckAll(context.Background(), list, func(ctx context.Context, p store.Profile) *flows.Status {
					return flows.Check(ctx, env, mem, p, flows.CheckOptions{})
				})
				for _, st := range res {
					if st.State != flows.StateAuthorized {
						b.Fatalf("%s: %s %+v", st.Name, st.State, st.Error)
					}
				}
			}
		})
	}
}
