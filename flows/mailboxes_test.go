package flows_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/clock"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// nobody is an address in the sandbox's domain that names no user.
var nobody = "nobody@" + sandbox.TenantDomain

func TestCheckMailboxesVerdicts(t *testing.T) {
	tests := []struct {
		name     string
		scenario store.Scenario
		app      sandbox.App
		want     map[string]flows.MailboxResult
	}{
		{
			name: "rbac", scenario: store.RBAC, app: sandbox.RBACApp,
			want: map[string]flows.MailboxResult{
				sandbox.AdeleVance.UPN:  {Verdict: flows.VerdictAllowed},
				sandbox.MeganBowen.UPN:  {Verdict: flows.VerdictAllowed},
				sandbox.AlexWilber.UPN:  {Verdict: flows.VerdictDenied, Code: "ErrorAccessDenied", Message: "Access to OData is disabled."},
				sandbox.InfoMailbox.UPN: {Verdict: flows.VerdictDenied, Code: "ErrorAccessDenied"},
				sandbox.LeeGu.UPN:       {Verdict: flows.VerdictNoMailbox, Code: "MailboxNotEnabledForRESTAPI"},
				nobody:                  {Verdict: flows.VerdictNotFound, Code: "ErrorInvalidUser"},
			},
		},
		{
			name: "send-as-any", scenario: store.SendAsAny, app: sandbox.DaemonApp,
			want: map[string]flows.MailboxResult{
				sandbox.AdeleVance.UPN:  {Verdict: flows.VerdictAllowed},
				sandbox.MeganBowen.UPN:  {Verdict: flows.VerdictAllowed},
				sandbox.AlexWilber.UPN:  {Verdict: flows.VerdictAllowed},
				sandbox.InfoMailbox.UPN: {Verdict: flows.VerdictAllowed},
				sandbox.LeeGu.UPN:       {Verdict: flows.VerdictNoMailbox, Code: "MailboxNotEnabledForRESTAPI"},
				nobody:                  {Verdict: flows.VerdictNotFound, Code: "ErrorInvalidUser"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given an app-only token and the sandbox's mailboxes.
			srv, env := startSandbox(t, sandbox.Options{})
			_, tok := appOnlyToken(t, srv, env, tt.scenario, tt.app)
			list := []string{sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, sandbox.AlexWilber.UPN, sandbox.InfoMailbox.UPN, sandbox.LeeGu.UPN, nobody}

			// When each is checked.
			var calls []int
			got := env.CheckMailboxes(context.Background(), tok.AccessToken, list, flows.MailboxCheckOptions{
				Progress: func(done, total int) {
					if total != len(list) {
						t.Errorf("total %d", total)
					}
					calls = append(calls, done)
				},
			})

			// Then each gets its verdict, in the order given.
			if len(got) != len(list) {
				t.Fatalf("%d results", len(got))
			}
			allowed := 0
			for i, r := range got {
				w := tt.want[list[i]]
				if r.Mailbox != list[i] || r.Verdict != w.Verdict || r.Code != w.Code || (w.Message != "" && r.Message != w.Message) {
					t.Errorf("%s: got %+v, want %+v", list[i], r, w)
				}
				if r.Verdict != flows.VerdictAllowed && r.Message == "" {
					t.Errorf("%s: no message", list[i])
				}
				if r.Verdict == flows.VerdictAllowed {
					allowed++
				}
			}
			if !slices.Equal(calls, []int{1, 2, 3, 4, 5, 6}) {
				t.Errorf("progress calls %v", calls)
			}
			// And only the allowed ones were sent, each from the mailbox to
			// itself, kept out of Sent Items.
			sent := srv.Sent()
			if len(sent) != allowed {
				t.Fatalf("%d sent, want %d", len(sent), allowed)
			}
			for _, s := range sent {
				if s.Mailbox != s.From || !slices.Equal(s.To, []string{s.Mailbox}) || s.SaveToSentItems || !s.AppOnly {
					t.Errorf("test message %+v", s)
				}
			}
		})
	}
}

func TestCheckMailboxesSendsToGivenAddress(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	_, tok := appOnlyToken(t, srv, env, store.RBAC, sandbox.RBACApp)
	got := env.CheckMailboxes(context.Background(), tok.AccessToken, []string{sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN}, flows.MailboxCheckOptions{To: sandbox.AlexWilber.UPN})
	for _, r := range got {
		if r.Verdict != flows.VerdictAllowed {
			t.Errorf("%+v", r)
		}
	}
	for _, s := range srv.Sent() {
		if !slices.Equal(s.To, []string{sandbox.AlexWilber.UPN}) {
			t.Errorf("sent to %v", s.To)
		}
	}
}

// inFlight counts concurrent sendMail requests and remembers the most.
type inFlight struct {
	next     http.RoundTripper
	now, max atomic.Int32
}

func (c *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/sendMail") {
		n := c.now.Add(1)
		defer c.now.Add(-1)
		for {
			m := c.max.Load()
			if n <= m || c.max.CompareAndSwap(m, n) {
				break
			}
		}
	}
	return c.next.RoundTrip(r)
}

func TestCheckMailboxesConcurrencyIsBounded(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run("", func(t *testing.T) {
			// Given a Graph slow enough for requests to overlap.
			srv, env := startSandbox(t, sandbox.Options{GraphLatency: 30 * time.Millisecond})
			counter := &inFlight{}
			wrapTransport(env, func(next http.RoundTripper) http.RoundTripper { counter.next = next; return counter })
			_, tok := appOnlyToken(t, srv, env, store.RBAC, sandbox.RBACApp)
			var list []string
			for i := range 15 {
				list = append(list, "user"+string(rune('a'+i))+"@"+sandbox.TenantDomain)
			}

			// When they are checked n at a time.
			got := env.CheckMailboxes(context.Background(), tok.AccessToken, list, flows.MailboxCheckOptions{Concurrency: n})

			// Then never more than n were in flight, and n were.
			if m := counter.max.Load(); m > int32(n) || (n > 1 && m < 2) {
				t.Errorf("at most %d requests in flight, want %d", m, n)
			}
			for _, r := range got {
				if r.Verdict != flows.VerdictNotFound {
					t.Errorf("%+v", r)
				}
			}
		})
	}
}

func TestCheckMailboxesRetriesThrottled(t *testing.T) {
	// Given a Graph that throttles every 2nd request, checked one at a time
	// so the pattern is certain.
	srv, env := startSandbox(t, sandbox.Options{Faults: []string{sandbox.FaultThrottle}, ThrottleEvery: 2})
	_, tok := appOnlyToken(t, srv, env, store.RBAC, sandbox.RBACApp)
	list := []string{sandbox.AdeleVance.UPN, sandbox.AlexWilber.UPN, nobody}
	got := env.CheckMailboxes(context.Background(), tok.AccessToken, list, flows.MailboxCheckOptions{Concurrency: 1})
	want := []flows.Verdict{flows.VerdictAllowed, flows.VerdictDenied, flows.VerdictNotFound}
	for i, r := range got {
		if r.Verdict != want[i] {
			t.Errorf("%s: %+v, want %s", list[i], r, want[i])
		}
	}
	// 1 ok; 2 throttled, 3 ok; 4 throttled, 5 ok.
	if n := srv.RequestCount("/v1.0/"); n != 5 {
		t.Errorf("%d Graph requests, want 5", n)
	}
}

func TestCheckMailboxesRenewsAnExpiredToken(t *testing.T) {
	tests := []struct {
		name      string
		renew     bool
		wantAfter flows.Verdict
		wantCode  flows.Code
	}{
		{name: "renewed", renew: true, wantAfter: flows.VerdictAllowed},
		{name: "no renewal", renew: false, wantAfter: flows.VerdictError, wantCode: "InvalidAuthenticationToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given a token that expires (the clock jumps 2 hours) after
			// the second of five mailboxes, checked two at a time.
			clk := clock.NewFake(time.Now())
			srv, env := startSandbox(t, sandbox.Options{Clock: clk})
			p, mem := appOnly(t, srv, store.RBAC, sandbox.RBACApp)
			ctx := context.Background()
			tok, err := flows.AccessToken(ctx, env, mem, p)
			if err != nil {
				t.Fatal(err)
			}
			tokenPath := "/" + sandbox.TenantID + "/oauth2/v2.0/token"
			list := []string{sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, sandbox.AdeleVance.UPN}
			var mu sync.Mutex
			renewals := 0
			o := flows.MailboxCheckOptions{Concurrency: 2, Progress: func(done, _ int) {
				if done == 2 {
					clk.Advance(2 * time.Hour)
				}
			}}
			if tt.renew {
				o.Renew = func(ctx context.Context) (*flows.Token, error) {
					mu.Lock()
					renewals++
					mu.Unlock()
					return flows.AccessToken(ctx, env, mem, p)
				}
			}

			// When they are checked.
			got := env.CheckMailboxes(ctx, tok.AccessToken, list, o)

			// Then the token was renewed once, and every later mailbox got
			// the verdict the renewal allows.
			expired := 0
			for _, r := range got {
				if r.Verdict != flows.VerdictAllowed {
					expired++
					if r.Verdict != tt.wantAfter || r.Code != tt.wantCode {
						t.Errorf("%+v", r)
					}
				}
			}
			if tt.renew {
				if expired != 0 || renewals != 1 {
					t.Errorf("%d not allowed, %d renewals; want 0 and 1", expired, renewals)
				}
				if n := srv.RequestCount(tokenPath); n != 2 {
					t.Errorf("%d token requests, want the first and one renewal", n)
				}
			} else if expired < 2 {
				t.Errorf("only %d sends saw the expired token", expired)
			}
		})
	}
}

func TestCheckMailboxesCancelled(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	_, tok := appOnlyToken(t, srv, env, store.RBAC, sandbox.RBACApp)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := env.CheckMailboxes(ctx, tok.AccessToken, []string{sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, nobody}, flows.MailboxCheckOptions{})
	for _, r := range got {
		if r.Verdict != flows.VerdictError || r.Code != "cancelled" {
			t.Errorf("%+v", r)
		}
	}
	if len(srv.Sent()) != 0 {
		t.Error("sent after cancel")
	}
}
