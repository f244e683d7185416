package relay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/sandbox"
)

const killMessages = 40

// TestKillHelper is the relay process TestKillMidQueue kills; it does
// nothing unless run by it. It accepts killMessages messages while
// delivering, printing "accepted SUBJECT" once each Submit returned.
func TestKillHelper(t *testing.T) {
	url := os.Getenv("RELAY_KILL_SANDBOX")
	if url == "" {
		t.Skip("run by TestKillMidQueue")
	}
	d, err := NewDelivery(Options{Spool: os.Getenv("RELAY_KILL_SPOOL"), Sender: senderFor(t, url), PerMailboxRate: 600, ExactlyOnce: os.Getenv("RELAY_KILL_EXACTLY_ONCE") != ""})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = d.Run(context.Background()) }()
	for i := 0; i < killMessages; i++ {
		subject := fmt.Sprint("k", i)
		if _, err := d.Submit(context.Background(), submission(os.Getenv("RELAY_KILL_PROFILE"), sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, subject), 0); err != nil {
			t.Fatal(err)
		}
		fmt.Println("accepted", subject)
	}
	select {}
}

// TestKillMidQueue kills (SIGKILL) a relay process while it delivers, then
// delivers what it left with a new one: every accepted message reaches the
// sandbox; with exactly-once none twice, without it at most the messages in
// flight at the kill (the mailbox's concurrency, 4) are duplicated.
func TestKillMidQueue(t *testing.T) {
	t.Run("exactly-once", func(t *testing.T) { killMidQueue(t, true) })
	t.Run("without exactly-once", func(t *testing.T) { killMidQueue(t, false) })
}

func killMidQueue(t *testing.T, exactlyOnce bool) {
	// The sandbox's 30-a-minute limit is lifted: this is about crashes.
	r := newRig(t, sandbox.Options{GraphLatency: 50 * time.Millisecond, MailboxSendsPerMinute: -1})
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
	profile := "app"
	cmd.Env = append(os.Environ(), "RELAY_KILL_SANDBOX="+r.url, "RELAY_KILL_SPOOL="+dir)
	if exactlyOnce {
		profile = "eo"
		cmd.Env = append(cmd.Env, "RELAY_KILL_EXACTLY_ONCE=1")
	}
	cmd.Env = append(cmd.Env, "RELAY_KILL_PROFILE="+profile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	accepted := make(chan []string)
	go func() {
		var subjects []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), "accepted "); ok {
				subjects = append(subjects, s)
			}
		}
		accepted <- subjects
	}()
	for i := 0; i < 5; i++ {
		select {
		case <-r.sends:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("the relay process sent nothing")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the relay was not killed: %v", err)
	}
	subjects := <-accepted
	before := len(r.srv.Sent())
	if len(subjects) == 0 || before >= killMessages {
		t.Fatalf("accepted %d, sent %d before the kill: the kill was not mid-queue", len(subjects), before)
	}

	d := r.delivery(t, Options{Spool: dir, PerMailboxRate: 600, ExactlyOnce: exactlyOnce})
	st, err := d.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := r.sentBySubject()
	dups := 0
	for _, s := range subjects {
		switch n := got[s]; {
		case n == 0:
			t.Errorf("accepted message %s was never delivered", s)
		case n > 1:
			dups += n - 1
		}
	}
	if exactlyOnce && dups != 0 {
		t.Errorf("%d duplicates with exactly-once", dups)
	}
	if dups > DefaultPerMailboxConcurrency {
		t.Errorf("%d duplicates, more than the messages that can be in flight", dups)
	}
	if q, _ := d.Spool().Queued(); len(q) != 0 {
		t.Errorf("%d messages left in the spool", len(q))
	}
	t.Logf("accepted %d; %d sent before the kill, %d after; %d duplicated; %d drafts left unsent in Drafts", len(subjects), before, st.Sent, dups, len(r.srv.Drafts()))
}
