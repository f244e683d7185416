package relay

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the relay's Prometheus metrics.
type metrics struct {
	accepted prometheus.Counter
	sent     prometheus.Counter
	deferred prometheus.Counter
	failed   prometheus.Counter
	bounced  prometheus.Counter
	queued   prometheus.Gauge
	latency  prometheus.Histogram
	tokens   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailgrant_relay_messages_accepted_total", Help: "Messages written to the spool."}),
		sent:     prometheus.NewCounter(prometheus.CounterOpts{Name: "mailgrant_relay_messages_sent_total", Help: "Messages Graph accepted."}),
		deferred: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailgrant_relay_messages_deferred_total", Help: "Delivery attempts that failed for now; the message stays queued."}),
		failed:   prometheus.NewCounter(prometheus.CounterOpts{Name: "mailgrant_relay_messages_failed_total", Help: "Messages that failed for good after they were accepted (moved to failed/)."}),
		bounced:  prometheus.NewCounter(prometheus.CounterOpts{Name: "mailgrant_relay_bounces_total", Help: "Delivery status notifications queued for failed messages."}),
		queued:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "mailgrant_relay_queue_size", Help: "Messages in the spool waiting for delivery."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mailgrant_relay_graph_latency_seconds", Help: "Time of one delivery through Graph, token included.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{Name: "mailgrant_relay_token_refreshes_total", Help: "Access tokens obtained (refresh or client credentials) for delivery."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.accepted, m.sent, m.deferred, m.failed, m.bounced, m.queued, m.latency, m.tokens} {
			_ = reg.Register(c)
		}
	}
	return m
}

// Handler serves /healthz (200 "ok" while health returns nil, else 503 with
// the reason) and /metrics from gatherer; `mailgrant relay --metrics-listen`
// mounts it. A nil health is always healthy.
func Handler(gatherer prometheus.Gatherer, health func() error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if health != nil {
			if err := health(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(err.Error() + "\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return mux
}
