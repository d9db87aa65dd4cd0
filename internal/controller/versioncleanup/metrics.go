package versioncleanup

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the version-cleanup collectors. Labels name the application, never the
// version, so their number stays bounded by the number of applications.
type metrics struct {
	// evaluations counts evaluated candidate versions by application, mode and result.
	evaluations *prometheus.CounterVec
	// deletions counts deletions by application and result (deleted or failed).
	deletions *prometheus.CounterVec
	// lastRun is the Unix time of the last completed pass over all applications.
	lastRun prometheus.Gauge
}

// Values of the result label of cap_op_version_cleanup_deletions_total.
const (
	deletionDeleted = "deleted"
	deletionFailed  = "failed"
)

// newMetrics creates the collectors and registers them with reg (nil: not exported). A
// collector already registered, by an earlier controller on the same registry, is reused.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_version_cleanup_evaluations_total",
			Help: "Candidate versions whose deletion rules were evaluated, by application, mode (true or dry-run) and result (eligible, in_use, failed).",
		}, []string{"namespace", "application", "mode", "result"}),
		deletions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_version_cleanup_deletions_total",
			Help: "Deletions of eligible versions requested by version cleanup, by application and result (deleted, failed).",
		}, []string{"namespace", "application", "result"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cap_op_version_cleanup_last_run_timestamp_seconds",
			Help: "Unix time at which version cleanup last queued the candidates of every monitored application.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.evaluations, err = register(reg, m.evaluations); err != nil {
		return nil, err
	}
	if m.deletions, err = register(reg, m.deletions); err != nil {
		return nil, err
	}
	if m.lastRun, err = register(reg, m.lastRun); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector registered before under the same name.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(T); ok {
			return existing, nil
		}
	}
	return c, err
}
