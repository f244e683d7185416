package relay

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"sync"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/sandbox"
)

// BenchmarkSMTPLoad is the relay's load run: 20 SMTP clients (net/smtp,
// one connection each) hand 1,000 small messages to the server, which
// spools them (fsync) and delivers them through the sandbox with 50 ms
// Graph latency, from 4 sender mailboxes at 3,000 a minute each (a raised
// rate, so the run is short): pacing then allows 200 a second in all.
// It reports the accept rate (250 replies a second), the delivery time as
// a multiple of what pacing allows, and fails if a message is missing or
// delivered twice. "reply-wait=0" answers DATA once the message is
// spooled; "reply-wait=10s" (the default) waits for the first attempt.
func BenchmarkSMTPLoad(b *testing.B) {
	for _, wait := range []time.Duration{-1, DefaultReplyWait} {
		name := "reply-wait=" + max(wait, 0).String()
		b.Run(name, func(b *testing.B) {
			for range b.N {
				smtpLoad(b, wait)
			}
		})
	}
}

func smtpLoad(b *testing.B, wait time.Duration) {
	const n, clients, rate = 1000, 20, 3000
	boxes := []string{sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, sandbox.AlexWilber.UPN, sandbox.InfoMailbox.UPN}
	allowed := float64(len(boxes)) * min(float64(rate)/60, float64(DefaultPerMailboxConcurrency)/0.05)

	b.StopTimer()
	// The sandbox's own 30-a-minute limit is lifted, as for a tenant whose
	// limit matches the raised rate.
	r := newRig(b, sandbox.Options{GraphLatency: 50 * time.Millisecond, MailboxSendsPerMinute: -1})
	d := r.delivery(b, Options{PerMailboxRate: rate})
	d.attempted = nil
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { _ = d.Run(ctx); close(runDone) }()
	defer func() { cancel(); <-runDone }()
	router, _ := NewRouter(nil, "app", []string{"*"})
	srv, err := NewServer(Config{Router: router, Queue: d, ReplyWait: wait, MaxConnections: 100})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	b.StartTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- sendMany(ln.Addr().String(), c, clients, n, boxes)
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	for len(r.srv.Sent()) < n {
		if time.Since(start) > 2*time.Minute {
			b.Fatalf("only %d of %d delivered after 2 minutes", len(r.srv.Sent()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	delivered := time.Since(start)
	b.StopTimer()
	counts := r.sentBySubject()
	for i := range n {
		if c := counts[fmt.Sprint("load-", i)]; c != 1 {
			b.Fatalf("message load-%d delivered %d times", i, c)
		}
	}
	b.ReportMetric(float64(n)/accepted.Seconds(), "accepts/s")
	b.ReportMetric(delivered.Seconds(), "deliver_s")
	b.ReportMetric(float64(n)/allowed, "pacing_s")
	b.ReportMetric(delivered.Seconds()/(float64(n)/allowed), "x_of_pacing")
}

// sendMany sends client c's share of n messages over one connection.
func sendMany(addr string, c, clients, n int, boxes []string) error {
	cl, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer cl.Close()
	for i := c; i < n; i += clients {
		from := boxes[i%len(boxes)]
		if err := cl.Mail(from); err != nil {
			return err
		}
		if err := cl.Rcpt(sandbox.MeganBowen.UPN); err != nil {
			return err
		}
		w, err := cl.Data()
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, message(from, sandbox.MeganBowen.UPN, fmt.Sprint("load-", i))); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return cl.Quit()
}
