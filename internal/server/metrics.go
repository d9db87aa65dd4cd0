package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric name prefixes of the four endpoint families (spec section 3).
const (
	familySaaS            = "cap_op_subscription_requests"
	familySMS             = "cap_op_subscription_requests_sms"
	familyDependencies    = "cap_op_dependencies_requests"
	familyDependenciesSMS = "cap_op_dependencies_requests_sms"
)

// metrics holds the server's own registry, so only its metrics (plus Go and process
// collectors) are exported, independent of any library's global registrations.
type metrics struct {
	registry *prometheus.Registry
	families map[string]*requestMetrics
	// callbacks counts sent callbacks by service kind, operation, status and result.
	callbacks *prometheus.CounterVec
	// pending is the number of callbacks this instance is waiting to send.
	pending prometheus.Gauge
}

// requestMetrics are the metrics of one endpoint family.
type requestMetrics struct {
	total    *prometheus.CounterVec
	inflight prometheus.Gauge
	// inflightAlias is the same gauge under the name the previous implementation's binary
	// exports ("_in_flight"), so dashboards and alerts written for it keep working.
	inflightAlias prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{registry: prometheus.NewRegistry(), families: map[string]*requestMetrics{}}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, prefix := range []string{familySaaS, familySMS, familyDependencies, familyDependenciesSMS} {
		rm := &requestMetrics{
			total: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: prefix + "_total",
				Help: "Requests handled, by HTTP status code and method.",
			}, []string{"code", "method"}),
			// "_inflight" as the user documentation names it (section 0.9).
			inflight: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: prefix + "_inflight",
				Help: "Requests being handled.",
			}),
			inflightAlias: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: prefix + "_in_flight",
				Help: "Requests being handled (the previous implementation's name of " + prefix + "_inflight).",
			}),
		}
		m.registry.MustRegister(rm.total, rm.inflight, rm.inflightAlias)
		m.families[prefix] = rm
	}
	m.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cap_op_subscription_callbacks_total",
		Help: "Asynchronous status callbacks, by service kind, operation, reported status and result (sent or failed).",
	}, []string{"kind", "operation", "status", "result"})
	m.pending = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cap_op_subscription_callbacks_pending",
		Help: "Callbacks this instance is waiting to send.",
	})
	m.registry.MustRegister(m.callbacks, m.pending)
	return m
}

// instrument wraps h with the counter and in-flight gauge of a family.
func (m *metrics) instrument(family string, h http.Handler) http.Handler {
	rm := m.families[family]
	counted := promhttp.InstrumentHandlerCounter(rm.total, h)
	return promhttp.InstrumentHandlerInFlight(rm.inflight, promhttp.InstrumentHandlerInFlight(rm.inflightAlias, counted))
}
