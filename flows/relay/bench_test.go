package relay

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store/spool"
)

// BenchmarkEnqueue measures accepting a small message into the spool: the
// message and its envelope written, the file and both directories fsynced.
func BenchmarkEnqueue(b *testing.B) {
	sp, err := spool.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	msg := message("a@contoso.com", "b@contoso.com", "bench") + strings.Repeat("x", 1024)
	s := Submission{Profile: "p", From: "a@contoso.com", Recipients: []string{"b@contoso.com"}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Data = strings.NewReader(msg)
		if _, err := accept(sp, s, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkEnqueueParallel is BenchmarkEnqueue from 20 goroutines, as 20
// SMTP clients would.
func BenchmarkEnqueueParallel(b *testing.B) {
	sp, err := spool.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	msg := message("a@contoso.com", "b@contoso.com", "bench") + strings.Repeat("x", 1024)
	b.SetParallelism(10) // 2 cores × 10 = 20 goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := Submission{Profile: "p", From: "a@contoso.com", Recipients: []string{"b@contoso.com"}, Data: strings.NewReader(msg)}
			if _, err := accept(sp, s, time.Now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDeliver1000 delivers 1,000 small messages from 4 mailboxes
// through the sandbox with 50 ms Graph latency, at 3,000 a minute per
// mailbox (4 in flight each): pacing allows 200 a second in all, and 4 in
// flight at 50 ms allow 80 a second per mailbox, so 200/s is the bound.
func BenchmarkDeliver1000(b *testing.B) {
	const n, rate = 1000, 3000
	boxes := []string{sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, sandbox.AlexWilber.UPN, sandbox.InfoMailbox.UPN}
	allowed := float64(len(boxes)) * min(float64(rate)/60, float64(DefaultPerMailboxConcurrency)/0.05)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// The sandbox's 30-a-minute limit is lifted (the pace here is
		// higher); its limit of 4 concurrent requests per mailbox stays.
		r := newRig(b, sandbox.Options{GraphLatency: 50 * time.Millisecond, MailboxSendsPerMinute: -1})
		d := r.delivery(b, Options{PerMailboxRate: rate})
		d.attempted = nil
		for j := 0; j < n; j++ {
			from := boxes[j%len(boxes)]
			if _, err := d.Submit(context.Background(), submission("app", from, sandbox.MeganBowen.UPN, fmt.Sprint("m", j)), 0); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		st, err := d.Drain(context.Background())
		elapsed := time.Since(start)
		if err != nil || st.Sent != n {
			b.Fatalf("sent %d of %d: %v", st.Sent, n, err)
		}
		if got := len(r.srv.Sent()); got != n {
			b.Fatalf("the sandbox got %d messages, want %d", got, n)
		}
		if th := r.throttled.Load(); th != 0 {
			b.Fatalf("the sandbox throttled %d requests (more than 4 in flight on a mailbox)", th)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(allowed, "allowed_msgs/s")
		b.ReportMetric(elapsed.Seconds()/(float64(n)/allowed), "x_of_pacing")
	}
}
