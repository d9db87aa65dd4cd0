package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Outcomes of a review, the values of the outcome label.
const (
	OutcomeAllowed    = "allowed"
	OutcomeDenied     = "denied"
	OutcomeError      = "error"
	OutcomeBadRequest = "bad_request"
)

// Metrics are the webhook's Prometheus metrics. The names follow the operator's cap_op_
// prefix (spec 2.11).
type Metrics struct {
	// Registry holds the metrics below plus the Go and process collectors; it is what
	// /metrics serves.
	Registry *prometheus.Registry
	// requests counts reviews by webhook (validate|mutate), kind, operation and outcome.
	requests *prometheus.CounterVec
	// latency observes how long a review took, with the same labels.
	latency *prometheus.HistogramVec
	// certReloads counts certificate reloads by result (success|failure).
	certReloads *prometheus.CounterVec
	// certExpiry is the expiry of the certificate being served.
	certExpiry prometheus.Gauge
}

// NewMetrics creates the metrics in a registry of their own, so that tests can create several.
func NewMetrics() *Metrics {
	labels := []string{"webhook", "kind", "operation", "outcome"}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_webhook_requests_total",
			Help: "Admission reviews handled, by webhook path, kind, operation and outcome (allowed, denied, error, bad_request).",
		}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cap_op_webhook_request_duration_seconds",
			Help:    "Time to handle an admission review, by webhook path, kind, operation and outcome.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, labels),
		certReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_webhook_certificate_reloads_total",
			Help: "Serving certificate reloads after the files changed, by result (success, failure).",
		}, []string{"result"}),
		certExpiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cap_op_webhook_certificate_expiry_timestamp_seconds",
			Help: "Expiry (NotAfter) of the serving certificate in use, in seconds since the Unix epoch.",
		}),
	}
	m.Registry.MustRegister(m.requests, m.latency, m.certReloads, m.certExpiry,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records one review.
func (m *Metrics) observe(webhook, kind, operation, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(webhook, kind, operation, outcome).Inc()
	m.latency.WithLabelValues(webhook, kind, operation, outcome).Observe(took.Seconds())
}

// certReloaded records one certificate reload attempt.
func (m *Metrics) certReloaded(err error) {
	if m == nil {
		return
	}
	result := "success"
	if err != nil {
		result = "failure"
	}
	m.certReloads.WithLabelValues(result).Inc()
}

// certLoaded records the expiry of the certificate now served.
func (m *Metrics) certLoaded(notAfter time.Time) {
	if m == nil {
		return
	}
	m.certExpiry.Set(float64(notAfter.Unix()))
}
