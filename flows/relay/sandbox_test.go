package relay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// rig is a sandbox tenant on loopback behind a switch that can take Graph
// down (503) or throttle it (429 with Retry-After), and a GraphSender for
// two stored profiles: "app" (send-as-any, DaemonApp, admin consent given)
// and "rbac" (RBACApp, scoped to Adele and Megan).
type rig struct {
	srv    *sandbox.Server
	url    string
	mode   atomic.Value // "", "down" or "throttle"
	sender *GraphSender
	// sends gets a value after each send (sendMail or a draft's send) the
	// sandbox answered; throttled counts the 429s it answered.
	sends     chan struct{}
	throttled atomic.Int64
	// draftFaults, while above zero, counts the drafts' sends (POST
	// .../messages/{id}/send) answered with draftFault instead of the
	// sandbox.
	draftFaults atomic.Int64
	draftFault  atomic.Value // graphFault
}

// graphFault is an answer the rig gives instead of the sandbox.
type graphFault struct {
	status int
	code   string
}

// statusRecorder notes the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func newRig(t testing.TB, opts sandbox.Options) *rig {
	t.Helper()
	r := &rig{srv: sandbox.New(opts), sends: make(chan struct{}, 100000)}
	r.mode.Store("")
	r.draftFault.Store(graphFault{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/v1.0/") {
			switch r.mode.Load().(string) {
			case "down":
				w.Header().Set("Retry-After", "0.001")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"error":{"code":"ServiceUnavailable","message":"down for the test"}}`))
				return
			case "throttle":
				w.Header().Set("Retry-After", "0.3")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"error":{"code":"ApplicationThrottled","message":"slow down"}}`))
				return
			}
			if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/send") && r.draftFaults.Add(-1) >= 0 {
				f := r.draftFault.Load().(graphFault)
				w.Header().Set("Retry-After", "0.001")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(f.status)
				_, _ = fmt.Fprintf(w, `{"error":{"code":%q,"message":"answered by the test"}}`, f.code)
				return
			}
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		r.srv.ServeHTTP(rec, req)
		if rec.status == http.StatusTooManyRequests {
			r.throttled.Add(1)
		}
		if (strings.HasSuffix(req.URL.Path, "/sendMail") || strings.HasSuffix(req.URL.Path, "/send")) && rec.status == http.StatusAccepted {
			r.sends <- struct{}{}
		}
	}))
	t.Cleanup(hs.Close)
	r.url = hs.URL
	r.srv.SetURL(hs.URL)
	for _, app := range []sandbox.App{sandbox.DaemonApp, sandbox.LargeMailApp} {
		if err := r.srv.GrantAdminConsent(app.ClientID); err != nil {
			t.Fatal(err)
		}
	}
	r.sender = senderFor(t, hs.URL)
	return r
}

// senderFor returns a GraphSender for the sandbox at url with the stored
// profiles "app", "rbac" and "eo" (LargeMailApp, with Mail.ReadWrite, for
// exactly-once).
func senderFor(t testing.TB, url string) *GraphSender {
	env, err := flows.NewEnv(flows.EnvOptions{LoginHost: url, GraphHost: url, Sandbox: true})
	if err != nil {
		t.Fatal(err)
	}
	mem := store.NewMemory()
	profiles := map[string]store.Profile{
		"app":  {Name: "app", Scenario: store.SendAsAny, Tenant: sandbox.TenantID, ClientID: sandbox.DaemonApp.ClientID, Account: sandbox.AdeleVance.UPN, Permissions: []string{"Mail.Send"}, Credential: store.CredentialSecret},
		"rbac": {Name: "rbac", Scenario: store.RBAC, Tenant: sandbox.TenantID, ClientID: sandbox.RBACApp.ClientID, Account: sandbox.AdeleVance.UPN, Permissions: []string{"Mail.Send"}, Credential: store.CredentialSecret},
		"eo":   {Name: "eo", Scenario: store.SendAsAny, Tenant: sandbox.TenantID, ClientID: sandbox.LargeMailApp.ClientID, Account: sandbox.AdeleVance.UPN, Permissions: []string{"Mail.Send", "Mail.ReadWrite"}, Credential: store.CredentialSecret},
	}
	_ = mem.Set("eo", store.KindClientSecret, sandbox.LargeMailApp.Secret)
	_ = mem.Set("app", store.KindClientSecret, sandbox.DaemonApp.Secret)
	_ = mem.Set("rbac", store.KindClientSecret, sandbox.RBACApp.Secret)
	return &GraphSender{Env: env, Profile: func(name string) (store.Profile, flows.Secrets, error) {
		p, ok := profiles[name]
		if !ok {
			return p, nil, fmt.Errorf("no profile %q", name)
		}
		return p, mem, nil
	}}
}

// failDraftSends makes the next n drafts' sends fail with status and
// Graph's code.
func (r *rig) failDraftSends(n int, status int, code string) {
	r.draftFault.Store(graphFault{status: status, code: code})
	r.draftFaults.Store(int64(n))
}

func (r *rig) delivery(t testing.TB, o Options) *Delivery {
	t.Helper()
	if o.Spool == "" {
		o.Spool = t.TempDir()
	}
	o.Sender = r.sender
	d, err := NewDelivery(o)
	if err != nil {
		t.Fatal(err)
	}
	d.attempted = make(chan string, 100000)
	return d
}

// sentBySubject counts the sandbox's accepted messages by subject.
func (r *rig) sentBySubject() map[string]int {
	out := map[string]int{}
	for _, m := range r.srv.Sent() {
		out[m.Subject]++
	}
	return out
}

func TestSandboxDeliversToEnvelopeRecipientsOnly(t *testing.T) {
	r := newRig(t, sandbox.Options{})
	d := r.delivery(t, Options{})
	runDelivery(t, d)
	adele, megan, alex := sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, sandbox.AlexWilber.UPN
	s := Submission{Profile: "app", From: adele, Recipients: []string{megan, alex}, Client: "127.0.0.1:1",
		Data: strings.NewReader("From: " + adele + "\nTo: " + megan + "\nSubject: report\n\nThe monthly report.\n")}
	rc, err := d.Submit(context.Background(), s, 10*time.Second)
	if err != nil || rc.Outcome != flows.OutcomeSent {
		t.Fatalf("receipt %+v, %v", rc, err)
	}
	sent := r.srv.Sent()
	if len(sent) != 1 {
		t.Fatalf("sandbox got %d messages", len(sent))
	}
	m := sent[0]
	if m.From != adele || strings.Join(m.To, ",") != megan || strings.Join(m.Bcc, ",") != alex || !m.AppOnly || !strings.Contains(m.Body, "monthly report") {
		t.Fatalf("sent %+v; want To Megan, Bcc Alex (envelope only), from Adele", m)
	}
}

func TestSandboxGraphDownThenBack(t *testing.T) {
	r := newRig(t, sandbox.Options{})
	d := r.delivery(t, Options{RetryBase: 50 * time.Millisecond})
	runDelivery(t, d)
	r.mode.Store("down")
	rc, err := d.Submit(context.Background(), submission("app", sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, "while down"), 10*time.Second)
	if err != nil || rc.Outcome != flows.OutcomeTemporary || !rc.Queued {
		t.Fatalf("receipt %+v, %v; want queued for later", rc, err)
	}
	if m, _, _ := d.Spool().Get(rc.ID); m.LastCode != "ServiceUnavailable" || m.Attempts != 1 {
		t.Fatalf("spooled %+v", m)
	}
	r.mode.Store("")
	for {
		waitAttempt(t, d)
		if q, _ := d.Spool().Queued(); len(q) == 0 {
			break
		}
	}
	if got := r.sentBySubject()["while down"]; got != 1 {
		t.Fatalf("delivered %d times once Graph was back, want 1", got)
	}
}

func TestSandboxThrottledHonoursRetryAfter(t *testing.T) {
	r := newRig(t, sandbox.Options{})
	d := r.delivery(t, Options{RetryBase: time.Millisecond})
	runDelivery(t, d)
	r.mode.Store("throttle")
	start := time.Now()
	rc, err := d.Submit(context.Background(), submission("app", sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, "throttled"), 30*time.Second)
	if err != nil || !rc.Queued {
		t.Fatalf("receipt %+v, %v", rc, err)
	}
	m, _, _ := d.Spool().Get(rc.ID)
	if m.LastCode != "ApplicationThrottled" || m.NextAttempt.Sub(start) < 4*300*time.Millisecond {
		t.Fatalf("after throttling: next attempt +%s, %+v; want Retry-After (0.3 s) after Graph's own 3 retries", m.NextAttempt.Sub(start), m)
	}
	r.mode.Store("")
	for {
		waitAttempt(t, d)
		if q, _ := d.Spool().Queued(); len(q) == 0 {
			break
		}
	}
	if got := r.sentBySubject()["throttled"]; got != 1 {
		t.Fatalf("delivered %d times, want 1", got)
	}
}

func TestSandboxThrottleFaultEveryMessageOnce(t *testing.T) {
	r := newRig(t, sandbox.Options{Faults: []string{sandbox.FaultThrottle}, ThrottleEvery: 3})
	d := r.delivery(t, Options{RetryBase: 10 * time.Millisecond, PerMailboxRate: 6000})
	runDelivery(t, d)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Submit(context.Background(), submission("app", sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, fmt.Sprint("t", i)), 0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for {
		waitAttempt(t, d)
		if q, _ := d.Spool().Queued(); len(q) == 0 {
			break
		}
	}
	got := r.sentBySubject()
	for i := 0; i < 6; i++ {
		if got[fmt.Sprint("t", i)] != 1 {
			t.Fatalf("sent %v, want each of t0…t5 once", got)
		}
	}
}

func TestSandboxPermanentRefusal(t *testing.T) {
	alex, megan := sandbox.AlexWilber.UPN, sandbox.MeganBowen.UPN
	t.Run("within the wait: told, not kept, not bounced", func(t *testing.T) {
		r := newRig(t, sandbox.Options{})
		d := r.delivery(t, Options{BounceTo: megan})
		runDelivery(t, d)
		rc, err := d.Submit(context.Background(), submission("rbac", alex, megan, "out of scope"), 10*time.Second)
		if err != nil || rc.Outcome != flows.OutcomeDenied || rc.Queued || !strings.Contains(rc.Err.Error(), "ErrorAccessDenied") {
			t.Fatalf("receipt %+v, %v; want denied with Graph's code", rc, err)
		}
		if n := len(r.srv.Sent()); n != 0 {
			t.Fatalf("%d messages sent", n)
		}
		if f, _ := d.Spool().Failed(); len(f) != 0 {
			t.Fatal("a refusal the client saw was kept in failed/")
		}
	})
	t.Run("after acceptance: failed/ and a DSN to the sender and --bounce-to", func(t *testing.T) {
		r := newRig(t, sandbox.Options{})
		d := r.delivery(t, Options{BounceTo: megan, Hostname: "relay.sandbox.test"})
		runDelivery(t, d)
		rc, err := d.Submit(context.Background(), submission("rbac", alex, megan, "out of scope"), 0)
		if err != nil || !rc.Queued {
			t.Fatalf("receipt %+v, %v", rc, err)
		}
		<-r.sends // the bounce
		for {
			if st := d.Stats(); st.Sent == 1 && st.Failed == 1 { // the bounce sent, the message failed
				break
			}
			waitAttempt(t, d)
		}
		f, _ := d.Spool().Failed()
		if len(f) != 1 || f[0].ID != rc.ID || f[0].LastCode != "ErrorAccessDenied" {
			t.Fatalf("failed/ %+v", f)
		}
		sent := r.srv.Sent()
		if len(sent) != 1 {
			t.Fatalf("sandbox got %d messages, want the bounce only", len(sent))
		}
		b := sent[0]
		if b.Subject != "Undelivered Mail Returned to Sender" || b.Mailbox != sandbox.AdeleVance.UPN || strings.Join(b.To, ",") != alex+", "+megan && strings.Join(b.To, ",") != alex+","+megan {
			t.Fatalf("bounce %+v; want from the profile's mailbox to the sender and --bounce-to", b)
		}
		if !strings.Contains(b.Body, rc.ID) || !strings.Contains(b.Body, "ErrorAccessDenied") || !strings.Contains(b.Body, megan) {
			t.Fatalf("bounce text %q lacks the queue id, Graph's code or the recipient", b.Body)
		}
	})
}

func TestSandboxMaxQueueAge(t *testing.T) {
	r := newRig(t, sandbox.Options{})
	clock := newFakeClock()
	d := r.delivery(t, Options{Clock: clock, MaxQueueAge: 2 * time.Hour, RetryBase: 30 * time.Minute})
	runDelivery(t, d)
	r.mode.Store("down")
	rc, err := d.Submit(context.Background(), submission("app", sandbox.MeganBowen.UPN, sandbox.MeganBowen.UPN, "too old"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for {
		waitAttempt(t, d)
		m, failed, err := d.Spool().Get(rc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if failed {
			if !strings.Contains(m.Reason, "gave up after") || clock.Now().Sub(m.Queued) < 2*time.Hour {
				t.Fatalf("failed %+v at +%s", m, clock.Now().Sub(m.Queued))
			}
			break
		}
		clock.Advance(m.NextAttempt.Sub(clock.Now()))
		d.poke()
	}
	r.mode.Store("")
	clock.Advance(time.Minute)
	d.poke()
	<-r.sends
	sent := r.srv.Sent()
	if len(sent) != 1 || sent[0].Subject != "Undelivered Mail Returned to Sender" || sent[0].To[0] != sandbox.MeganBowen.UPN {
		t.Fatalf("sent %+v, want only the bounce to the sender", sent)
	}
}

// TestSandboxBounceOfUnknownMailbox: a message from a mailbox the tenant
// does not have fails for good; its bounce goes from the profile's own
// mailbox, so that --bounce-to gets it.
func TestSandboxBounceOfUnknownMailbox(t *testing.T) {
	// Given a relay whose message comes from a mailbox that does not exist.
	r := newRig(t, sandbox.Options{})
	megan := sandbox.MeganBowen.UPN
	nobody := "nobody@" + strings.SplitN(megan, "@", 2)[1]
	d := r.delivery(t, Options{BounceTo: megan})
	if _, err := d.Submit(context.Background(), submission("app", nobody, megan, "from nobody"), 0); err != nil {
		t.Fatal(err)
	}

	// When it is delivered.
	st, err := d.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	// Then it failed as an unknown mailbox, and the bounce reached Graph
	// from the profile's mailbox, addressed to --bounce-to too.
	f, _ := d.Spool().Failed()
	if len(f) != 1 || f[0].Outcome != flows.OutcomeUnknownMailbox.String() {
		t.Fatalf("failed/ %+v, stats %+v; want the message as an unknown mailbox", f, st)
	}
	sent := r.srv.Sent()
	if len(sent) != 1 || sent[0].Subject != "Undelivered Mail Returned to Sender" || sent[0].Mailbox != sandbox.AdeleVance.UPN || !slices.Contains(sent[0].To, megan) {
		t.Fatalf("sent %+v, stats %+v; want the bounce from the profile's mailbox to --bounce-to", sent, st)
	}
}
