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

// These benchmarks run against the sandbox over loopback. Each iteration is
// bounded, so `go test -run '^$' -bench . ./flows/` ends in well under a
// minute: the 1,000-mailbox check runs one iteration of about 8 s.

// BenchmarkCheckMailboxes1000 checks 1,000 mailboxes (the sandbox's four
// work users and 996 unknown addresses in its domain, which still take the
// whole path to a 404) with the default concurrency, 50 ms of Graph latency
// and a 429 with Retry-After: 1 on every 100th request.
func BenchmarkCheckMailboxes1000(b *testing.B) {
	srv, env := startSandbox(b, sandbox.Options{GraphLatency: 50 * time.Millisecond, Faults: []string{sandbox.FaultThrottle}, ThrottleEvery: 100})
	_, tok := appOnlyToken(b, srv, env, store.RBAC, sandbox.RBACApp)
	list := []string{sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, sandbox.AlexWilber.UPN, sandbox.LeeGu.UPN}
	for i := len(list); i < 1000; i++ {
		list = append(list, fmt.Sprintf("user%04d@%s", i, sandbox.TenantDomain))
	}
	ctx := context.Background()
	before := srv.RequestCount("/v1.0/")
	b.ResetTimer()
	for b.Loop() {
		res := env.CheckMailboxes(ctx, tok.AccessToken, list, flows.MailboxCheckOptions{})
		for _, r := range res {
			if r.Verdict == flows.VerdictError {
				b.Fatalf("%s: %s %s", r.Mailbox, r.Code, r.Message)
			}
		}
	}
	b.StopTimer()
	perIter := float64(b.Elapsed()) / float64(b.N)
	b.ReportMetric(perIter/1e6/float64(len(list)), "ms/mailbox")
	b.ReportMetric(float64(srv.RequestCount("/v1.0/")-before-b.N*len(list))/float64(b.N), "429s/op")
}

// BenchmarkStatus20 checks 20 profiles (ten delegated, five send-as-any,
// five rbac) eight at a time, as `mailgrant status` does: each check
// redeems a refresh token or runs client credentials, then reads /me or
// test-sends.
func BenchmarkStatus20(b *testing.B) {
	for _, latency := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("graph-latency=%s", latency), func(b *testing.B) {
			// Exchange's per-mailbox limits (30 sends a minute, 4 requests
			// in flight) are off: every profile test-sends as the same
			// mailbox, and this measures mailgrant, not the throttling.
			srv, env := startSandbox(b, sandbox.Options{GraphLatency: latency, MailboxSendsPerMinute: -1, MailboxConcurrency: -1})
			mem := store.NewMemory()
			user := userProfile("user-0", sandbox.AdeleVance.UPN)
			rt := deviceSignIn(b, srv, env, user).RefreshToken
			if err := srv.GrantAdminConsent(sandbox.DaemonApp.ClientID); err != nil {
				b.Fatal(err)
			}
			var profiles []store.Profile
			for i := range 20 {
				var p store.Profile
				var err error
				switch {
				case i < 10:
					p = userProfile(fmt.Sprintf("user-%d", i), sandbox.AdeleVance.UPN)
					err = mem.Set(p.Name, store.KindRefreshToken, rt)
				case i < 15:
					p = store.Profile{Name: fmt.Sprintf("any-%d", i), Scenario: store.SendAsAny, Tenant: sandbox.TenantID, ClientID: sandbox.DaemonApp.ClientID, Account: sandbox.AdeleVance.UPN, Permissions: []string{"Mail.Send"}, Credential: store.CredentialSecret}
					err = mem.Set(p.Name, store.KindClientSecret, sandbox.DaemonApp.Secret)
				default:
					p = store.Profile{Name: fmt.Sprintf("rbac-%d", i), Scenario: store.RBAC, Tenant: sandbox.TenantID, ClientID: sandbox.RBACApp.ClientID, Account: sandbox.AdeleVance.UPN, OutOfScopeMailbox: sandbox.AlexWilber.UPN, Permissions: []string{"Mail.Send"}, Credential: store.CredentialSecret}
					err = mem.Set(p.Name, store.KindClientSecret, sandbox.RBACApp.Secret)
				}
				if err != nil {
					b.Fatal(err)
				}
				profiles = append(profiles, p)
			}
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				out := make([]*flows.Status, len(profiles))
				sem := make(chan struct{}, 8)
				var wg sync.WaitGroup
				for i, p := range profiles {
					wg.Go(func() {
						sem <- struct{}{}
						defer func() { <-sem }()
						out[i] = flows.Check(ctx, env, mem, p, flows.CheckOptions{})
					})
				}
				wg.Wait()
				for _, st := range out {
					if st.State != flows.StateAuthorized {
						b.Fatalf("%s: %s %+v", st.Name, st.State, st.Error)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed())/1e6/float64(b.N)/float64(len(profiles)), "ms/profile")
		})
	}
}

// BenchmarkTokenRefresh redeems a delegated profile's refresh token and
// stores the rotated one, once per iteration, as `mailgrant token` does
// when nothing is cached.
func BenchmarkTokenRefresh(b *testing.B) {
	srv, env := startSandbox(b, sandbox.Options{})
	p := userProfile("refresh", sandbox.AdeleVance.UPN)
	mem := store.NewMemory()
	if err := mem.Set(p.Name, store.KindRefreshToken, deviceSignIn(b, srv, env, p).RefreshToken); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		before, _ := mem.Get(p.Name, store.KindRefreshToken)
		if _, err := flows.AccessToken(ctx, env, mem, p); err != nil {
			b.Fatal(err)
		}
		if after, _ := mem.Get(p.Name, store.KindRefreshToken); after == before {
			b.Fatal("the refresh token did not rotate")
		}
	}
}

// BenchmarkTokenFromCache is `mailgrant token` when the access token kept in
// the store is still fresh: no network, one store read.
func BenchmarkTokenFromCache(b *testing.B) {
	benchTokenFromCache(b, store.NewMemory())
}

// BenchmarkTokenFromCacheKeyring is the same against the real Secret Service
// (one D-Bus round trip per call); run it under .ci/with-keyring.
func BenchmarkTokenFromCacheKeyring(b *testing.B) {
	k := store.NewKeyring("mailgrant-bench")
	if err := k.Probe(); err != nil {
		b.Skipf("no keyring: %v", err)
	}
	b.Cleanup(func() {
		for _, kind := range store.Kinds {
			_ = k.Delete("cache", kind)
		}
	})
	benchTokenFromCache(b, k)
}

func benchTokenFromCache(b *testing.B, secrets store.Secrets) {
	srv, env := startSandbox(b, sandbox.Options{})
	p := userProfile("cache", sandbox.AdeleVance.UPN)
	if err := secrets.Set(p.Name, store.KindRefreshToken, deviceSignIn(b, srv, env, p).RefreshToken); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	o := flows.TokenOptions{UseCache: true}
	if _, err := flows.GetToken(ctx, env, secrets, p, o); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		tok, err := flows.GetToken(ctx, env, secrets, p, o)
		if err != nil || !tok.FromCache {
			b.Fatalf("not from the cache: %v", err)
		}
	}
}
