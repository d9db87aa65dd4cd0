// Package kubemetrics exports the metrics of client-go's workqueues (cap_op_queue_*) and REST
// client (cap_op_rest_client_requests_total) through the process-wide hooks client-go offers.
package kubemetrics

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	clientmetrics "k8s.io/client-go/tools/metrics"
	"k8s.io/client-go/util/workqueue"
)

var (
	// clientMetricsOnce guards the process-wide hooks of client-go, which can be set once.
	clientMetricsOnce sync.Once
	// queueMetrics and restMetrics are the process-wide collectors behind those hooks.
	queueMetrics *queueMetricsProvider
	restResults  *prometheus.CounterVec
)

// Register installs the workqueue and REST client hooks of client-go (once per
// process) and registers their collectors with reg.
func Register(reg prometheus.Registerer) {
	clientMetricsOnce.Do(func() {
		queueMetrics = newQueueMetricsProvider()
		workqueue.SetProvider(queueMetrics)
		restResults = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_rest_client_requests_total", Help: "HTTP requests to the API server by code, method and host.",
		}, []string{"code", "method", "host"})
		clientmetrics.Register(clientmetrics.RegisterOpts{RequestResult: restResultAdapter{restResults}})
	})
	reg.MustRegister(restResults)
	queueMetrics.register(reg)
}

// restResultAdapter feeds client-go's request results into a counter.
type restResultAdapter struct{ counter *prometheus.CounterVec }

// Increment implements clientmetrics.ResultMetric.
func (a restResultAdapter) Increment(_ context.Context, code, method, host string) {
	a.counter.WithLabelValues(code, method, host).Inc()
}

var _ clientmetrics.ResultMetric = restResultAdapter{}

// queueMetricsProvider exports client-go workqueue metrics under the cap_op_queue_ prefix,
// labelled by queue name.
type queueMetricsProvider struct {
	depth          *prometheus.GaugeVec
	adds           *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	workDuration   *prometheus.HistogramVec
	unfinished     *prometheus.GaugeVec
	longestRunning *prometheus.GaugeVec
	retries        *prometheus.CounterVec
}

// newQueueMetricsProvider creates the workqueue collectors.
func newQueueMetricsProvider() *queueMetricsProvider {
	buckets := prometheus.ExponentialBuckets(10e-9, 10, 12)
	return &queueMetricsProvider{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cap_op_queue_depth", Help: "Current depth of the workqueue.",
		}, []string{"name"}),
		adds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_queue_adds_total", Help: "Items added to the workqueue.",
		}, []string{"name"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cap_op_queue_latency_seconds", Help: "Time an item waits in the workqueue.", Buckets: buckets,
		}, []string{"name"}),
		workDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cap_op_queue_work_duration_seconds", Help: "Time processing an item takes.", Buckets: buckets,
		}, []string{"name"}),
		unfinished: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cap_op_queue_unfinished_work_seconds", Help: "Seconds of work in progress not yet observed by work_duration.",
		}, []string{"name"}),
		longestRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cap_op_queue_longest_running_processor_seconds", Help: "Seconds the longest running processor has been running.",
		}, []string{"name"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_queue_retries_total", Help: "Retries handled by the workqueue.",
		}, []string{"name"}),
	}
}

// register adds the collectors to reg.
func (p *queueMetricsProvider) register(reg prometheus.Registerer) {
	reg.MustRegister(p.depth, p.adds, p.latency, p.workDuration, p.unfinished, p.longestRunning, p.retries)
}

// The New*Metric methods below implement workqueue.MetricsProvider, one per metric the
// interface asks for; they look alike because the interface does.

// NewDepthMetric implements workqueue.MetricsProvider.
func (p *queueMetricsProvider) NewDepthMetric(name string) workqueue.GaugeMetric {
	return p.depth.WithLabelValues(name)
}

// NewAddsMetric implements workqueue.MetricsProvider.
func (p *queueMetricsProvider) NewAddsMetric(name string) workqueue.CounterMetric {
	return p.adds.WithLabelValues(name)
}

// NewLatencyMetric implements workqueue.MetricsProvider.
func (p *queueMetricsProvider) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return p.latency.WithLabelValues(name)
}

// NewWorkDurationMetric implements workqueue.MetricsProvider.
func (p *queueMetricsProvider) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return p.workDuration.WithLabelValues(name)
}

// NewUnfinishedWorkSecondsMetric implements workqueue.MetricsProvider.
func (p *queueMetricsProvider) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.unfinished.WithLabelValues(name)
}

// NewLongestRunningProcessorSecondsMetric implements workqueue.MetricsProvider.
func (p *queueMetricsProvider) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.longestRunning.WithLabelValues(name)
}

// NewRetriesMetric implements workqueue.MetricsProvider.
func (p *queueMetricsProvider) NewRetriesMetric(name string) workqueue.CounterMetric {
	return p.retries.WithLabelValues(name)
}
