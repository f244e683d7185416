package relay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
)

// TestSandboxExactlyOnceDelivery: with ExactlyOnce every message goes
// through a draft, reaches the sandbox once, and leaves no draft behind.
func TestSandboxExactlyOnceDelivery(t *testing.T) {
	r := newRig(t, sandbox.Options{})
	d := r.delivery(t, Options{ExactlyOnce: true, PerMailboxRate: 600})
	runDelivery(t, d)
	for i := 0; i < 3; i++ {
		rc, err := d.Submit(context.Background(), submission("eo", sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, fmt.Sprint("eo", i)), 10*time.Second)
		if err != nil || rc.Outcome != flows.OutcomeSent {
			t.Fatalf("receipt %+v, %v", rc, err)
		}
	}
	for _, m := range r.srv.Sent() {
		if !m.Draft {
			t.Fatalf("%q was not sent through a draft", m.Subject)
		}
	}
	if got := r.sentBySubject(); len(got) != 3 || got["eo0"] != 1 || got["eo1"] != 1 || got["eo2"] != 1 {
		t.Fatalf("sent %v", got)
	}
	if drafts := r.srv.Drafts(); len(drafts) != 0 {
		t.Fatalf("drafts left behind: %v", drafts)
	}
}

// TestCrashDeliveryHelper is the relay process TestCrashInDelivery kills at
// a step of a delivery; it does nothing unless run by it.
func TestCrashDeliveryHelper(t *testing.T) {
	step := os.Getenv("RELAY_CRASH_AT")
	if step == "" {
		t.Skip("run by TestCrashInDelivery")
	}
	// One delivery at a time: a bounce does not start before the kill
	// ends the failing attempt.
	d, err := NewDelivery(Options{Spool: os.Getenv("RELAY_CRASH_SPOOL"), Sender: senderFor(t, os.Getenv("RELAY_CRASH_SANDBOX")), ExactlyOnce: os.Getenv("RELAY_CRASH_EXACTLY_ONCE") != "", Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	d.crashAt = func(at string) {
		if at == step {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	go func() { _ = d.Run(context.Background()) }()
	profile, from := "eo", sandbox.AdeleVance.UPN
	if p := os.Getenv("RELAY_CRASH_PROFILE"); p != "" {
		profile, from = p, os.Getenv("RELAY_CRASH_FROM")
	}
	if _, err := d.Submit(context.Background(), submission(profile, from, sandbox.MeganBowen.UPN, "crash"), 0); err != nil {
		t.Fatal(err)
	}
	select {}
}

// TestCrashInDelivery kills the relay process (SIGKILL) at the two moments
// that matter for duplicates, then restarts delivery from its spool:
// after the draft id was recorded (the draft is then sent once) and after
// Graph took the message but before the spool forgot it (with exactly-once
// the gone draft counts as sent; without it the message goes twice, the
// duplicate the README warns of).
func TestCrashInDelivery(t *testing.T) {
	cases := []struct {
		name        string
		step        string
		exactlyOnce bool
		wantSent    int
	}{
		{"exactly-once, killed after the draft was recorded", "draft-recorded", true, 1},
		{"exactly-once, killed after Graph took it", "sent", true, 1},
		{"without exactly-once, killed after Graph took it", "sent", false, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, sandbox.Options{})
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDeliveryHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), "RELAY_CRASH_AT="+c.step, "RELAY_CRASH_SANDBOX="+r.url, "RELAY_CRASH_SPOOL="+dir)
			if c.exactlyOnce {
				cmd.Env = append(cmd.Env, "RELAY_CRASH_EXACTLY_ONCE=1")
			}
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("the relay process was not killed at " + c.step)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the relay process ended otherwise: %v", err)
			}
			before := len(r.srv.Sent())
			d := r.delivery(t, Options{Spool: dir, ExactlyOnce: c.exactlyOnce})
			st, err := d.Drain(context.Background())
			if err != nil || st.Sent != 1 {
				t.Fatalf("after the restart: %+v %v", st, err)
			}
			if got := r.sentBySubject()["crash"]; got != c.wantSent {
				t.Fatalf("the message reached Graph %d times (%d before the kill), want %d", got, before, c.wantSent)
			}
			if drafts := r.srv.Drafts(); len(drafts) != 0 {
				t.Fatalf("drafts left behind: %v", drafts)
			}
		})
	}
}

// TestCrashWhileFailing kills the relay process (SIGKILL) while a message
// that Graph refused for good moves to failed/: after it was marked
// failed, after its bounce was spooled, and after the move. Restarted, the relay sends the bounce once.
func TestCrashWhileFailing(t *testing.T) {
	for _, step := range []string{"marked-failed", "bounce-queued", "failed"} {
		t.Run(step, func(t *testing.T) {
			// Given a relay killed at step while failing a message
			// (Alex is outside the rbac profile's scope).
			r := newRig(t, sandbox.Options{})
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashDeliveryHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), "RELAY_CRASH_AT="+step, "RELAY_CRASH_SANDBOX="+r.url, "RELAY_CRASH_SPOOL="+dir,
				"RELAY_CRASH_PROFILE=rbac", "RELAY_CRASH_FROM="+sandbox.AlexWilber.UPN)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if ctx.Err() != nil || !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the relay process was not killed at %s: %v\n%s", step, err, out)
			}

			// When it starts again on the same spool.
			d := r.delivery(t, Options{Spool: dir})
			if _, err := d.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}

			// Then the bounce went out once and the message is in failed/.
			if got := r.sentBySubject(); len(got) != 1 || got["Undelivered Mail Returned to Sender"] != 1 {
				t.Fatalf("sent %v, want the bounce once", got)
			}
			f, _ := d.Spool().Failed()
			if len(f) != 1 || !f[0].BounceQueued || f[0].LastCode != "ErrorAccessDenied" {
				t.Fatalf("failed/ %+v, want the message with its bounce recorded", f)
			}
			if q, _ := d.Spool().Queued(); len(q) != 0 {
				t.Fatalf("still queued: %+v", q)
			}
		})
	}
}

// TestSandboxExactlyOnceRetryAfterPermanentFailure: a message whose draft's
// send was refused for good keeps no draft id in failed/, so `mailgrant
// queue retry` delivers it again instead of taking the missing draft for a
// sent one.
func TestSandboxExactlyOnceRetryAfterPermanentFailure(t *testing.T) {
	cases := []struct {
		name string
		// deferFirst makes the first attempt's draft send fail for now,
		// so that the refused send is of a draft recorded earlier.
		deferFirst bool
	}{
		{"refused at the send of the draft just made", false},
		{"refused at the send of a draft recorded by an earlier attempt", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Given an exactly-once relay whose message's draft send is refused.
			r := newRig(t, sandbox.Options{})
			d := r.delivery(t, Options{ExactlyOnce: true, PerMailboxRate: 6000, RetryBase: time.Hour})
			sp := d.Spool()
			rc, err := d.Submit(context.Background(), submission("eo", sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, "retried"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if c.deferFirst {
				r.failDraftSends(1000, 503, "ServiceUnavailable")
				if st, err := d.Drain(context.Background()); err != nil || st.Deferred != 1 {
					t.Fatalf("first attempt: %+v %v", st, err)
				}
				if m, _, _ := sp.Get(rc.ID); m.DraftID == "" || len(r.srv.Drafts()) != 1 {
					t.Fatalf("after a failed send the draft is not recorded: %+v, drafts %v", m, r.srv.Drafts())
				}
				if _, err := sp.Retry(rc.ID, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			r.failDraftSends(1, 403, "ErrorSendAsDenied")
			if st, err := d.Drain(context.Background()); err != nil || st.Failed != 1 {
				t.Fatalf("refused attempt: %+v %v", st, err)
			}
			m, failed, err := sp.Get(rc.ID)
			if err != nil || !failed || m.DraftID != "" || m.DraftMailbox != "" {
				t.Fatalf("failed/ holds %+v (failed %v, %v); want no draft id", m, failed, err)
			}
			if drafts := r.srv.Drafts(); len(drafts) != 0 {
				t.Fatalf("drafts left behind: %v", drafts)
			}

			// When it is retried and Graph takes it.
			r.failDraftSends(0, 0, "")
			if _, err := sp.Retry(rc.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}

			// Then it reached Graph once, and nothing is left.
			if got := r.sentBySubject()["retried"]; got != 1 {
				t.Fatalf("the retried message reached Graph %d times, want 1", got)
			}
			if _, _, err := sp.Get(rc.ID); err == nil {
				t.Fatal("still spooled after it was sent")
			}
			if drafts := r.srv.Drafts(); len(drafts) != 0 {
				t.Fatalf("drafts left behind: %v", drafts)
			}
		})
	}
}

// TestSandboxRecordedDraftGoneAtItsSend: a recorded draft that exists when
// checked but is gone when sent (Graph answers 404) was sent: the message
// counts as sent, not as an unknown mailbox to bounce.
func TestSandboxRecordedDraftGoneAtItsSend(t *testing.T) {
	// Given a message whose draft was recorded by an attempt whose send
	// failed for now.
	r := newRig(t, sandbox.Options{})
	d := r.delivery(t, Options{ExactlyOnce: true, PerMailboxRate: 6000, RetryBase: time.Hour, BounceTo: sandbox.MeganBowen.UPN})
	sp := d.Spool()
	rc, err := d.Submit(context.Background(), submission("eo", sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, "gone"), 0)
	if err != nil {
		t.Fatal(err)
	}
	r.failDraftSends(1000, 503, "ServiceUnavailable")
	if st, err := d.Drain(context.Background()); err != nil || st.Deferred != 1 {
		t.Fatalf("first attempt: %+v %v", st, err)
	}
	if m, _, _ := sp.Get(rc.ID); m.DraftID == "" {
		t.Fatalf("no draft recorded: %+v", m)
	}

	// When the next attempt finds the draft but its send answers 404.
	r.failDraftSends(1, 404, "ErrorItemNotFound")
	if _, err := sp.Retry(rc.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	st, err := d.Drain(context.Background())

	// Then it counts as sent: nothing failed, nothing bounced, nothing kept.
	if err != nil || st.Sent != 1 || st.Failed != 0 || st.Bounced != 0 {
		t.Fatalf("stats %+v, %v; want sent, no failure, no bounce", st, err)
	}
	if _, _, err := sp.Get(rc.ID); err == nil {
		t.Fatal("still spooled")
	}
	if n := len(r.srv.Sent()); n != 0 {
		t.Fatalf("%d messages sent, want no bounce", n)
	}
}

// TestCrashAfterARefusedDraftSend kills an exactly-once relay (SIGKILL)
// after Graph refused the send of a recorded draft, before the spool
// forgot the draft's id. Restarted, the relay must not take the draft for
// a sent one: the draft is still there (flows.Deliver leaves a recorded
// draft to its caller), its send is refused again, the message fails
// (and is bounced), and no draft is left.
func TestCrashAfterARefusedDraftSend(t *testing.T) {
	// Given an exactly-once relay killed after Graph refused its draft's
	// send (and refuses it once more after the restart).
	r := newRig(t, sandbox.Options{})
	r.failDraftSends(2, 403, "ErrorSendAsDenied")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashDeliveryHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RELAY_CRASH_AT=refused", "RELAY_CRASH_SANDBOX="+r.url, "RELAY_CRASH_SPOOL="+dir,
		"RELAY_CRASH_EXACTLY_ONCE=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the relay process was not killed after the refusal: %v\n%s", err, out)
	}

	// When it starts again on the same spool.
	d := r.delivery(t, Options{Spool: dir, ExactlyOnce: true})
	st, err := d.Drain(context.Background())

	// Then the message failed rather than counting as sent (its sender
	// got the bounce), and no draft is left behind.
	if err != nil || st.Failed != 1 || r.sentBySubject()["crash"] != 0 || r.sentBySubject()["Undelivered Mail Returned to Sender"] != 1 {
		t.Fatalf("after the restart: %+v %v, sent %v; want it failed and bounced, not sent", st, err, r.sentBySubject())
	}
	f, _ := d.Spool().Failed()
	if len(f) != 1 || f[0].LastCode != "ErrorSendAsDenied" || f[0].DraftID != "" {
		t.Fatalf("failed/ %+v", f)
	}
	if drafts := r.srv.Drafts(); len(drafts) != 0 {
		t.Fatalf("drafts left behind: %v", drafts)
	}
}
