package relay

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store/spool"
)

func newTestDelivery(t *testing.T, o Options) (*Delivery, *fakeClock, *fakeSender) {
	t.Helper()
	clock := newFakeClock()
	fs := newFakeSender(clock)
	if o.Spool == "" {
		o.Spool = t.TempDir()
	}
	o.Sender, o.Clock = fs, clock
	if o.PerMailboxRate == 0 {
		o.PerMailboxRate = 60000 // pacing is tested on its own
	}
	d, err := NewDelivery(o)
	if err != nil {
		t.Fatal(err)
	}
	d.attempted = make(chan string, 1000)
	return d, clock, fs
}

var denied = &flows.Error{Code: "ErrorSendAsDenied", Message: "may not send as printer@contoso.com", HTTPStatus: 403, TraceID: "graph-req-9"}
var unavailable = &flows.Error{Code: "http-503", Message: "Graph answered HTTP 503", HTTPStatus: 503}

func TestSubmitSentWithinWait(t *testing.T) {
	d, _, fs := newTestDelivery(t, Options{})
	runDelivery(t, d)
	r, err := d.Submit(context.Background(), submission("printer", "scan@contoso.com", "a@contoso.com", "one"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != flows.OutcomeSent || r.Queued || r.ID == "" {
		t.Fatalf("receipt %+v", r)
	}
	c := fs.next(t)
	if c.subject != "one" || c.envelope.From != "scan@contoso.com" || len(c.envelope.Recipients) != 1 {
		t.Fatalf("delivered %+v", c)
	}
	if q, _ := d.Spool().Queued(); len(q) != 0 {
		t.Fatalf("still spooled after sending: %+v", q)
	}
}

func TestBareLFBecomesCRLF(t *testing.T) {
	d, _, fs := newTestDelivery(t, Options{})
	runDelivery(t, d)
	s := submission("p", "a@contoso.com", "b@contoso.com", "")
	s.Data = strings.NewReader("From: a@contoso.com\nSubject: lf\n\nline one\nline two\r\n")
	if _, err := d.Submit(context.Background(), s, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if c := fs.next(t); c.body != "From: a@contoso.com\r\nSubject: lf\r\n\r\nline one\r\nline two\r\n" {
		t.Fatalf("body %q", c.body)
	}
}

func TestPermanentRefusalWithinWaitIsReturnedNotKept(t *testing.T) {
	d, _, fs := newTestDelivery(t, Options{BounceTo: "admin@contoso.com"})
	fs.result = func(call, flows.DeliverOptions) error { return denied }
	runDelivery(t, d)
	r, err := d.Submit(context.Background(), submission("printer", "scan@contoso.com", "a@contoso.com", "refused"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != flows.OutcomeDenied || r.Queued || !errors.Is(r.Err, denied) {
		t.Fatalf("receipt %+v", r)
	}
	fs.next(t)
	q, _ := d.Spool().Queued()
	f, _ := d.Spool().Failed()
	if len(q)+len(f) != 0 {
		t.Fatalf("a refused message was kept (queued %d, failed %d) and would be bounced", len(q), len(f))
	}
	if d.Stats().Bounced != 0 {
		t.Fatal("a refusal the client was told of was bounced")
	}
}

func TestTemporaryFailureRetriedWithBackoff(t *testing.T) {
	d, clock, fs := newTestDelivery(t, Options{RetryBase: time.Minute})
	fails := 2
	fs.result = func(call, flows.DeliverOptions) error {
		if fails > 0 {
			fails--
			return unavailable
		}
		return nil
	}
	runDelivery(t, d)
	r, err := d.Submit(context.Background(), submission("p", "a@contoso.com", "b@contoso.com", "retry"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != flows.OutcomeTemporary || !r.Queued || !errors.Is(r.Err, unavailable) {
		t.Fatalf("receipt %+v", r)
	}
	first := fs.next(t)
	waitAttempt(t, d)
	m, _, _ := d.Spool().Get(r.ID)
	wait := m.NextAttempt.Sub(first.at)
	if wait < 30*time.Second || wait > time.Minute || m.Attempts != 1 || m.LastCode != "http-503" {
		t.Fatalf("after the first failure: next in %s, %+v", wait, m)
	}
	clock.Advance(wait)
	d.poke()
	second := fs.next(t)
	waitAttempt(t, d)
	m, _, _ = d.Spool().Get(r.ID)
	wait = m.NextAttempt.Sub(second.at)
	if wait < time.Minute || wait > 2*time.Minute || m.Attempts != 2 {
		t.Fatalf("after the second failure: next in %s (want 1–2 min), %+v", wait, m)
	}
	clock.Advance(wait)
	d.poke()
	fs.next(t)
	waitAttempt(t, d)
	if _, _, err := d.Spool().Get(r.ID); !errors.Is(err, spool.ErrNotFound) {
		t.Fatalf("still spooled after the third attempt succeeded: %v", err)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	d, _, fs := newTestDelivery(t, Options{RetryBase: time.Second})
	fs.result = func(call, flows.DeliverOptions) error {
		return &flows.Error{Code: "TooManyRequests", HTTPStatus: 429, RetryAfter: 10 * time.Minute}
	}
	runDelivery(t, d)
	r, _ := d.Submit(context.Background(), submission("p", "a@contoso.com", "b@contoso.com", "throttled"), 10*time.Second)
	c := fs.next(t)
	waitAttempt(t, d)
	m, _, _ := d.Spool().Get(r.ID)
	if got := m.NextAttempt.Sub(c.at); got != 10*time.Minute {
		t.Fatalf("next attempt in %s, want Retry-After's 10m", got)
	}
}

func TestMaxQueueAgeMovesToFailedAndBounces(t *testing.T) {
	d, clock, fs := newTestDelivery(t, Options{RetryBase: time.Hour, MaxQueueAge: 3 * time.Hour, BounceTo: "admin@contoso.com", Hostname: "relay.test"})
	fs.result = func(c call, _ flows.DeliverOptions) error {
		if c.subject == "Undelivered Mail Returned to Sender" {
			return nil
		}
		return unavailable
	}
	runDelivery(t, d)
	r, _ := d.Submit(context.Background(), submission("p", "scan@contoso.com", "b@contoso.com", "old"), time.Second)
	for i := 0; i < 20; i++ {
		fs.next(t)
		waitAttempt(t, d)
		m, failed, _ := d.Spool().Get(r.ID)
		if failed {
			break
		}
		clock.Advance(m.NextAttempt.Sub(clock.Now()))
		d.poke()
	}
	m, failed, err := d.Spool().Get(r.ID)
	if err != nil || !failed || !strings.Contains(m.Reason, "gave up after") || !strings.Contains(m.Reason, "http-503") {
		t.Fatalf("not failed for age: %+v %v %v", m, failed, err)
	}
	if clock.Now().Sub(m.Queued) < 3*time.Hour {
		t.Fatalf("failed after %s, before the maximum age", clock.Now().Sub(m.Queued))
	}
	clock.Advance(time.Second) // the bounce goes from the same mailbox: paced
	d.poke()
	b := fs.next(t)
	if b.subject != "Undelivered Mail Returned to Sender" || strings.Join(b.envelope.Recipients, ",") != "scan@contoso.com,admin@contoso.com" {
		t.Fatalf("bounce %+v", b)
	}
	if !strings.Contains(b.body, "Status: 4.4.7") || !strings.Contains(b.body, "Reporting-MTA: dns; relay.test") {
		t.Fatalf("bounce body:\n%s", b.body)
	}
}

func TestLateRefusalBouncesWithRFC3464Report(t *testing.T) {
	d, _, fs := newTestDelivery(t, Options{Hostname: "relay.test"})
	fs.result = func(c call, _ flows.DeliverOptions) error {
		if c.subject == "Undelivered Mail Returned to Sender" {
			return nil
		}
		return denied
	}
	runDelivery(t, d)
	s := submission("printer", "scan@contoso.com", "a@contoso.com", "late")
	s.Recipients = append(s.Recipients, "hidden@contoso.com")
	s.Data = strings.NewReader("From: scan@contoso.com\r\nTo: a@contoso.com\r\nBcc: secret@contoso.com\r\nMessage-ID: <late-1@test>\r\nSubject: late\r\n\r\nbody\r\n")
	r, err := d.Submit(context.Background(), s, 0)
	if err != nil || !r.Queued {
		t.Fatalf("%+v %v", r, err)
	}
	fs.next(t)
	b := fs.next(t)
	if strings.Join(b.envelope.Recipients, ",") != "scan@contoso.com" {
		t.Fatalf("bounce went to %v", b.envelope.Recipients)
	}
	msg, err := mail.ReadMessage(strings.NewReader(b.body))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("In-Reply-To") != "<late-1@test>" || !strings.HasSuffix(msg.Header.Get("Message-ID"), ".dsn@relay.test>") {
		t.Errorf("the bounce does not thread with the original: Message-ID %q, In-Reply-To %q", msg.Header.Get("Message-ID"), msg.Header.Get("In-Reply-To"))
	}
	if msg.Header.Get("Auto-Submitted") != "auto-replied" {
		t.Error("the bounce is not marked Auto-Submitted")
	}
	mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type %q", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	var status, headers string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(p)
		types = append(types, p.Header.Get("Content-Type"))
		switch p.Header.Get("Content-Type") {
		case "message/delivery-status":
			status = buf.String()
		case "text/rfc822-headers":
			headers = buf.String()
		}
	}
	if len(types) != 3 || !strings.HasPrefix(types[0], "text/plain") {
		t.Fatalf("parts %v", types)
	}
	for _, want := range []string{"Reporting-MTA: dns; relay.test", "Final-Recipient: rfc822; a@contoso.com", "Final-Recipient: rfc822; hidden@contoso.com", "Action: failed", "Status: 5.7.1", "Diagnostic-Code: smtp; 550 5.7.1 ErrorSendAsDenied"} {
		if !strings.Contains(status, want) {
			t.Errorf("delivery-status lacks %q:\n%s", want, status)
		}
	}
	if !strings.Contains(headers, "Subject: late") || strings.Contains(headers, "secret@contoso.com") {
		t.Errorf("original headers (with the Subject, without Bcc) wrong:\n%s", headers)
	}
	// The bounce is spooled before the message moves to failed/: wait
	// for the message's attempt to end.
	for waitAttempt(t, d) != r.ID {
	}
	f, _ := d.Spool().Failed()
	if len(f) != 1 || f[0].ID != r.ID || f[0].LastCode != "ErrorSendAsDenied" {
		t.Fatalf("failed/ holds %+v", f)
	}
}

func TestNeverABounceForABounce(t *testing.T) {
	cases := []struct {
		name, from, headers string
	}{
		{"null sender", "<>", ""},
		{"auto-submitted", "a@contoso.com", "Auto-Submitted: auto-generated\r\n"},
		{"a delivery report", "a@contoso.com", "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, _, fs := newTestDelivery(t, Options{BounceTo: "admin@contoso.com"})
			fs.result = func(call, flows.DeliverOptions) error { return denied }
			runDelivery(t, d)
			s := submission("p", c.from, "b@contoso.com", "")
			s.Data = strings.NewReader("From: a@contoso.com\r\n" + c.headers + "Subject: x\r\n\r\nbody\r\n")
			if _, err := d.Submit(context.Background(), s, 0); err != nil {
				t.Fatal(err)
			}
			fs.next(t)
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if st := d.Stats(); st.Failed != 1 || st.Bounced != 0 {
				t.Fatalf("stats %+v, want one failure and no bounce", st)
			}
		})
	}
	t.Run("the bounce itself fails", func(t *testing.T) {
		d, _, fs := newTestDelivery(t, Options{})
		fs.result = func(call, flows.DeliverOptions) error { return denied }
		runDelivery(t, d)
		if _, err := d.Submit(context.Background(), submission("p", "a@contoso.com", "b@contoso.com", "x"), 0); err != nil {
			t.Fatal(err)
		}
		fs.next(t)
		if b := fs.next(t); b.subject != "Undelivered Mail Returned to Sender" {
			t.Fatalf("second call %+v", b)
		}
		_ = d.Close()
		if st := d.Stats(); st.Failed != 2 || st.Bounced != 1 {
			t.Fatalf("stats %+v, want the message and its bounce failed, one bounce", st)
		}
	})
}

func TestExactlyOnceAfterCrash(t *testing.T) {
	// A crash after the draft was recorded: the spool holds the draft id.
	for _, still := range []bool{true, false} {
		name := map[bool]string{true: "draft still there is sent", false: "draft gone counts as sent"}[still]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			sp, _ := spool.Open(dir)
			m, err := sp.Add(spool.Meta{Profile: "p", From: "a@contoso.com", Recipients: []string{"b@contoso.com"}, DraftID: "AAMk-draft-1", DraftMailbox: "a@contoso.com"}, strings.NewReader(message("a@contoso.com", "b@contoso.com", "x")), newFakeClock().Now())
			if err != nil {
				t.Fatal(err)
			}
			d, _, fs := newTestDelivery(t, Options{Spool: dir, ExactlyOnce: true})
			fs.drafts["AAMk-draft-1"] = still
			st, err := d.Drain(context.Background())
			if err != nil || st.Sent != 1 {
				t.Fatalf("drain %+v %v", st, err)
			}
			var calls []call
			for len(fs.calls) > 0 {
				calls = append(calls, <-fs.calls)
			}
			switch {
			case still && (len(calls) != 1 || calls[0].draft != "AAMk-draft-1"):
				t.Fatalf("calls %+v, want the recorded draft sent", calls)
			case !still && len(calls) != 0:
				t.Fatalf("calls %+v, want none: the draft was sent before the crash", calls)
			}
			if _, _, err := sp.Get(m.ID); !errors.Is(err, spool.ErrNotFound) {
				t.Fatal("still spooled")
			}
		})
	}
	t.Run("the draft id is spooled before the send", func(t *testing.T) {
		d, _, fs := newTestDelivery(t, Options{ExactlyOnce: true})
		var recorded string
		fs.result = func(c call, o flows.DeliverOptions) error {
			if !o.ExactlyOnce || o.OnDraftRef == nil {
				t.Error("not delivered exactly-once")
				return nil
			}
			if err := o.OnDraftRef(flows.DraftRef{Mailbox: "a@contoso.com", ID: "AAMk-draft-2"}); err != nil {
				return err
			}
			q, _ := d.Spool().Queued()
			recorded = q[0].DraftMailbox + "/" + q[0].DraftID
			return nil
		}
		runDelivery(t, d)
		if _, err := d.Submit(context.Background(), submission("p", "a@contoso.com", "b@contoso.com", "x"), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		fs.next(t)
		if recorded != "a@contoso.com/AAMk-draft-2" {
			t.Fatalf("the spool held draft %q during the send", recorded)
		}
	})
}

func TestLogsNeverCarryBodyOrSubject(t *testing.T) {
	var logs bytes.Buffer
	d, _, fs := newTestDelivery(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	fs.result = func(c call, _ flows.DeliverOptions) error {
		if c.subject == "Undelivered Mail Returned to Sender" {
			return nil
		}
		return denied
	}
	runDelivery(t, d)
	s := submission("p", "a@contoso.com", "b@contoso.com", "TopSecretSubject")
	if _, err := d.Submit(context.Background(), s, 0); err != nil {
		t.Fatal(err)
	}
	fs.next(t)
	fs.next(t)
	_ = d.Close()
	out := logs.String()
	for _, ev := range []string{`"event":"accepted"`, `"event":"failed"`, `"event":"bounced"`, `"event":"sent"`, `"code":"ErrorSendAsDenied"`, `"request_id":"graph-req-9"`} {
		if !strings.Contains(out, ev) {
			t.Errorf("logs lack %s:\n%s", ev, out)
		}
	}
	if strings.Contains(out, "TopSecretSubject") || strings.Contains(out, "Hello.") {
		t.Errorf("logs carry the subject or body:\n%s", out)
	}
}

func TestSubmitAfterCloseStoresNothing(t *testing.T) {
	d, _, _ := newTestDelivery(t, Options{})
	runDelivery(t, d)
	_ = d.Close()
	if _, err := d.Submit(context.Background(), submission("p", "a@contoso.com", "b@contoso.com", "x"), 0); err == nil {
		t.Fatal("Submit after Close succeeded")
	}
	if q, _ := d.Spool().Queued(); len(q) != 0 {
		t.Fatal("stored after Close")
	}
}

// TestDraftIDOnlyOnceSpooled: when the spool cannot record a draft's id
// (flows then deletes the draft), the attempt does not write that id later
// with its deferral, which would count the deleted draft as sent.
func TestDraftIDOnlyOnceSpooled(t *testing.T) {
	d, _, fs := newTestDelivery(t, Options{ExactlyOnce: true, RetryBase: time.Hour})
	rc, err := d.Submit(context.Background(), submission("p", "a@contoso.com", "b@contoso.com", "x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Given a spool entry whose meta.json cannot be replaced during the
	// draft's recording.
	blocker := filepath.Join(d.Spool().Dir(), "queue", rc.ID, "meta.json.new")
	fs.result = func(c call, o flows.DeliverOptions) error {
		if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		err := o.OnDraftRef(flows.DraftRef{Mailbox: "a@contoso.com", ID: "AAMk-deleted"})
		if err == nil {
			t.Error("the draft id was recorded in spite of the blocked meta.json")
		}
		if err := os.RemoveAll(blocker); err != nil {
			t.Fatal(err)
		}
		return err
	}
	// When the attempt ends (deferred: the spool failed).
	if st, err := d.Drain(context.Background()); err != nil || st.Deferred != 1 {
		t.Fatalf("drain %+v %v", st, err)
	}
	// Then the deferred entry names no draft.
	m, _, err := d.Spool().Get(rc.ID)
	if err != nil || m.DraftID != "" || m.Attempts != 1 {
		t.Fatalf("spooled %+v, %v; want the attempt counted and no draft id", m, err)
	}
}

// TestRefusedDraftForgottenBeforeItIsDeleted: a recorded draft whose send
// is refused for good is deleted only once the spool no longer names it,
// so that a crash in between cannot leave an id of a deleted draft (which
// the next attempt would count as sent).
func TestRefusedDraftForgottenBeforeItIsDeleted(t *testing.T) {
	// Given a message whose recorded draft's send is refused.
	dir := t.TempDir()
	sp, _ := spool.Open(dir)
	m, err := sp.Add(spool.Meta{Profile: "p", From: "a@contoso.com", Mailbox: "a@contoso.com", Recipients: []string{"b@contoso.com"}, DraftID: "AAMk-refused", DraftMailbox: "a@contoso.com"}, strings.NewReader(message("a@contoso.com", "b@contoso.com", "x")), newFakeClock().Now())
	if err != nil {
		t.Fatal(err)
	}
	d, _, fs := newTestDelivery(t, Options{Spool: dir, ExactlyOnce: true})
	fs.drafts["AAMk-refused"] = true
	fs.sendDraftErr = denied
	var spooledAtDelete string
	fs.onDelete = func(string) {
		got, _, _ := sp.Get(m.ID)
		spooledAtDelete = got.DraftID
	}

	// When it is attempted.
	if st, err := d.Drain(context.Background()); err != nil || st.Failed != 1 {
		t.Fatalf("drain %+v %v", st, err)
	}

	// Then the draft was deleted after the spool forgot it.
	if fs.drafts["AAMk-refused"] {
		t.Fatal("the refused draft was not deleted")
	}
	if spooledAtDelete != "" {
		t.Fatalf("the spool still named draft %q when it was deleted", spooledAtDelete)
	}
	if got, failed, _ := sp.Get(m.ID); !failed || got.DraftID != "" {
		t.Fatalf("failed/ holds %+v", got)
	}
}
