package relay

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsAndHealth: after a sent message, a deferred attempt and a token
// from Entra, /metrics shows them; /healthz is ok until the queue closes.
func TestMetricsAndHealth(t *testing.T) {
	r := newRig(t, sandbox.Options{})
	reg := prometheus.NewRegistry()
	d := r.delivery(t, Options{Registerer: reg, RetryBase: time.Hour})
	hs := httptest.NewServer(Handler(reg, d.Health))
	defer hs.Close()
	runDelivery(t, d)
	if rc, err := d.Submit(context.Background(), submission("app", sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, "one"), 10*time.Second); err != nil || rc.Outcome != flows.OutcomeSent {
		t.Fatalf("%+v %v", rc, err)
	}
	r.mode.Store("down")
	if rc, _ := d.Submit(context.Background(), submission("app", sandbox.MeganBowen.UPN, sandbox.MeganBowen.UPN, "two"), 10*time.Second); !rc.Queued {
		t.Fatalf("%+v", rc)
	}
	code, body := get(t, hs.URL+"/healthz")
	if code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	_, body = get(t, hs.URL+"/metrics")
	for _, want := range []string{
		"mailgrant_relay_messages_accepted_total 2",
		"mailgrant_relay_messages_sent_total 1",
		"mailgrant_relay_messages_deferred_total 1",
		"mailgrant_relay_messages_failed_total 0",
		"mailgrant_relay_queue_size 1",
		"mailgrant_relay_graph_latency_seconds_count 2",
		"mailgrant_relay_token_refreshes_total 1",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	_ = d.Close()
	if code, body := get(t, hs.URL+"/healthz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Fatalf("/healthz after Close: %d %q", code, body)
	}
}
