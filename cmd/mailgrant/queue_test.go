package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/relay"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/store/spool"
)

type queueListJSON struct {
	Spool    string       `json:"spool"`
	Messages []queueEntry `json:"messages"`
}

func queueList(t *testing.T, b *backend) queueListJSON {
	t.Helper()
	r := b.mailgrant(t, "", "--sandbox", "queue", "list", "--json")
	var l queueListJSON
	if err := json.Unmarshal([]byte(r.stdout), &l); r.code != 0 || err != nil {
		t.Fatalf("queue list --json: %d %v\n%s", r.code, err, r.stdout)
	}
	return l
}

// TestQueueCommands: messages handed to the spool (as sendmail does) are
// listed, delivered by `queue run` against the sandbox, failed ones are
// listed with Graph's reason, retried and dropped.
func TestQueueCommands(t *testing.T) { forEachBackend(t, testQueueCommands) }

func testQueueCommands(t *testing.T, b *backend) {
	b.env(t, "mailgrant-sandbox", "cli-queue")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "cli-queue"); r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	dir, err := store.DefaultDir("", true)
	if err != nil {
		t.Fatal(err)
	}
	spoolDir := relay.DefaultSpoolDir(dir)
	adele, megan := sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN
	nobody := "nobody@" + sandbox.TenantDomain
	for _, m := range []struct{ from, subject string }{{adele, "good"}, {nobody, "bad"}} {
		_, err := relay.Enqueue(spoolDir, relay.Submission{Profile: "cli-queue", From: m.from, Recipients: []string{megan},
			Data: strings.NewReader("From: " + m.from + "\r\nTo: " + megan + "\r\nSubject: Subj-" + m.subject + "\r\n\r\nBodyText-xyz\r\n")})
		if err != nil {
			t.Fatal(err)
		}
	}
	l := queueList(t, b)
	if l.Spool != spoolDir || len(l.Messages) != 2 || l.Messages[0].State != "queued" || l.Messages[0].Sender != adele {
		t.Fatalf("before run: %+v", l)
	}
	if r := b.mailgrant(t, "", "--sandbox", "queue", "list"); !strings.Contains(r.stdout, "NEXT ATTEMPT") || !strings.Contains(r.stdout, nobody) {
		t.Fatalf("table: %s", r.stdout)
	}

	// A credential Entra refuses is a temporary failure: deferred, exit 75.
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", "expired-secret")
	r := b.mailgrant(t, "", "--sandbox", "queue", "run")
	if r.code != 75 || !strings.Contains(r.stderr, "deferred 2") || !strings.Contains(r.stderr, "AADSTS7000222") {
		t.Fatalf("queue run with the secret refused: %d, want 75 with both deferred\n%s", r.code, r.stderr)
	}
	for _, m := range queueList(t, b).Messages {
		if m.State != "deferred" || m.Attempts != 1 || m.LastCode != "AADSTS7000222" || !m.NextAttempt.After(time.Now()) {
			t.Fatalf("after a deferral: %+v", m)
		}
	}
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", "")
	if r := b.mailgrant(t, "", "--sandbox", "queue", "run"); r.code != 0 || !strings.Contains(r.stderr, "sent 0, deferred 0, failed 0") {
		t.Fatalf("queue run with nothing due: %d\n%s", r.code, r.stderr)
	}
	if r := b.mailgrant(t, "", "--sandbox", "queue", "retry", "--all"); r.code != 0 {
		t.Fatalf("retry --all: %d %s", r.code, r.stderr)
	}

	r = b.mailgrant(t, "", "--sandbox", "queue", "run")
	if r.code != 1 || !strings.Contains(r.stderr, "sent 2, deferred 0, failed 1 (bounces queued 1)") || !strings.Contains(r.stderr, "mailgrant --sandbox queue list") {
		t.Fatalf("queue run: %d, want 1 (one failed for good, its bounce sent from the profile's mailbox) and a hint\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "Subj-") || strings.Contains(r.stderr, "BodyText") {
		t.Fatalf("the log shows message content:\n%s", r.stderr)
	}
	l = queueList(t, b)
	var failedID string
	for _, m := range l.Messages {
		if m.State != "failed" {
			t.Fatalf("after run, a message is %s: %+v", m.State, m)
		}
		if m.Sender == nobody {
			failedID = m.ID
			if m.LastCode != "ErrorInvalidUser" || !strings.Contains(m.Reason, "ErrorInvalidUser") {
				t.Fatalf("failed entry lacks Graph's reason: %+v", m)
			}
		}
	}
	if failedID == "" {
		t.Fatalf("the refused message is not in failed/: %+v", l)
	}

	if r := b.mailgrant(t, "", "--sandbox", "queue", "retry", failedID); r.code != 0 || !strings.Contains(r.stderr, failedID+": due now") {
		t.Fatalf("retry: %d %s", r.code, r.stderr)
	}
	for _, m := range queueList(t, b).Messages {
		if m.ID == failedID && (m.State == "failed" || m.NextAttempt.After(time.Now())) {
			t.Fatalf("retried message is %s, next attempt %s; want due now", m.State, m.NextAttempt)
		}
	}
	if r := b.mailgrant(t, "", "--sandbox", "queue", "drop", failedID); r.code != 0 {
		t.Fatalf("drop: %d %s", r.code, r.stderr)
	}
	if r := b.mailgrant(t, "", "--sandbox", "queue", "drop", failedID); r.code != 2 || !strings.Contains(r.stderr, "not in the spool") {
		t.Fatalf("drop of a gone id: %d %s", r.code, r.stderr)
	}
	if r := b.mailgrant(t, "", "--sandbox", "queue", "retry"); r.code != 2 {
		t.Fatalf("retry without ids or --all: %d", r.code)
	}
	if r := b.mailgrant(t, "", "--sandbox", "queue", "retry", "--all"); r.code != 0 {
		t.Fatalf("retry --all: %d %s", r.code, r.stderr)
	}
	if l := queueList(t, b).Messages; len(l) != 0 {
		t.Fatalf("messages left: %+v, want none", l)
	}
}

// TestSpoolForSendmail: a message is handed over only when a relay serves
// the profile, and then lands complete in the spool the relay reads.
func TestSpoolForSendmail(t *testing.T) {
	dir := t.TempDir()
	a := &app{dir: dir}
	p := store.Profile{Name: "wp"}
	msg := "From: a@contoso.com\r\nTo: b@contoso.com\r\nSubject: x\r\n\r\nbody\r\n"
	e := flows.Envelope{From: "a@contoso.com", Recipients: []string{"b@contoso.com", "c@contoso.com"}}
	id, err := spoolForSendmail(context.Background(), a, p, strings.NewReader(msg), int64(len(msg)), e, nil)
	if id != "" || err != nil {
		t.Fatalf("no relay serves wp, yet: %q %v", id, err)
	}
	spoolDir := relay.DefaultSpoolDir(dir)
	if err := relay.MarkServes(spoolDir, []string{"printer", "wp"}); err != nil {
		t.Fatal(err)
	}
	id, err = spoolForSendmail(context.Background(), a, p, strings.NewReader(msg), int64(len(msg)), e, nil)
	if id == "" || err != nil {
		t.Fatalf("handed over: %q %v", id, err)
	}
	sp, _ := spool.Open(spoolDir)
	m, failed, err := sp.Get(id)
	if err != nil || failed || m.Profile != "wp" || strings.Join(m.Recipients, ",") != "b@contoso.com,c@contoso.com" || m.Size != int64(len(msg)) {
		t.Fatalf("spooled %+v %v %v", m, failed, err)
	}
}

// TestQueueHintsCarryTheFlags: a hint naming queue list is the command as it
// must be typed here, with --sandbox and --config-dir.
func TestQueueHintsCarryTheFlags(t *testing.T) {
	dir := t.TempDir()
	r := mailgrant(t, "", "--sandbox", "--config-dir", dir, "queue", "drop", "nosuch")
	want := "mailgrant --sandbox --config-dir " + dir + " queue list"
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Fatalf("queue drop nosuch: %d\n%s\nwant a hint with %q", r.code, r.stderr, want)
	}
	if r := mailgrant(t, "", "--sandbox", "--config-dir", dir, "queue", "list"); r.code != 0 {
		t.Fatalf("the hint's command fails: %d %s", r.code, r.stderr)
	}
}
