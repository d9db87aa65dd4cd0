package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/capstan-io/capstan/internal/controller/kubemetrics"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// Metrics holds the controller's Prometheus collectors. The names match the previous
// implementation's documented metrics (counters without the _total suffix included).
type Metrics struct {
	// Registry holds every collector below plus the Go and process collectors.
	Registry *prometheus.Registry

	// ReconcileErrors counts failed syncs by kind and object.
	ReconcileErrors *prometheus.CounterVec
	// Panics counts recovered panics by kind and object.
	Panics *prometheus.CounterVec
	// TenantOperations counts finished tenant operations by app hash and operation.
	TenantOperations *prometheus.CounterVec
	// TenantOperationFailures counts failed tenant operations (detailed metrics only).
	TenantOperationFailures *prometheus.CounterVec
	// LastTenantOperationDuration is the duration of a tenant's last operation (detailed
	// metrics only).
	LastTenantOperationDuration *prometheus.GaugeVec
	// ServiceOperations counts service-exposure reconciliations by app hash.
	ServiceOperations *prometheus.CounterVec
	// ServiceOperationFailures counts failed service-exposure reconciliations (detailed
	// metrics only).
	ServiceOperationFailures *prometheus.CounterVec
	// TenantOperationDuration observes how long finished tenant operations took, from
	// creation to the final state, by application and operation.
	TenantOperationDuration *prometheus.HistogramVec
	// TenantOperationRetries counts tenant operations started again after a failure, by
	// application, operation and trigger (automatic or requested).
	TenantOperationRetries *prometheus.CounterVec
	// Detailed enables the per-object metric families.
	Detailed bool
}

// Values of the trigger label of TenantOperationRetries.
const (
	RetryAutomatic = "automatic"
	RetryRequested = "requested"
)

// tenantOperationBuckets spans tenant operations from seconds to hours.
var tenantOperationBuckets = []float64{1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400}

// NewMetrics creates the collectors and registers them, with the workqueue and REST client
// metrics, in a new registry.
func NewMetrics(detailed bool) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Detailed: detailed,
		ReconcileErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_reconcile_errors", Help: "Reconciliations that returned an error.",
		}, []string{"kind", "namespace", "name"}),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_panics", Help: "Reconciliations that panicked and were recovered.",
		}, []string{"kind", "namespace", "name"}),
		TenantOperations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_tenant_operations", Help: "Finished tenant operations.",
		}, []string{"app", "operation"}),
		TenantOperationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_tenant_operation_failures", Help: "Failed tenant operations.",
		}, []string{"app", "operation", "tenant_id", "namespace", "name"}),
		LastTenantOperationDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cap_op_last_tenant_operation_duration_seconds", Help: "Duration of the last tenant operation.",
		}, []string{"app", "tenant_id"}),
		ServiceOperations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_service_operations", Help: "Service exposure reconciliations.",
		}, []string{"app"}),
		ServiceOperationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_service_operation_failures", Help: "Failed service exposure reconciliations.",
		}, []string{"app", "version", "namespace", "name"}),
		TenantOperationDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cap_op_tenant_operation_duration_seconds", Help: "Duration of finished tenant operations, from creation to the final state.",
			Buckets: tenantOperationBuckets,
		}, []string{"app", "namespace", "application", "operation", "result"}),
		TenantOperationRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cap_op_tenant_operation_retries_total", Help: "Tenant operations started again after a failed one, by trigger (automatic, requested).",
		}, []string{"namespace", "application", "operation", "trigger"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.ReconcileErrors, m.Panics, m.TenantOperations, m.ServiceOperations,
		m.TenantOperationDuration, m.TenantOperationRetries,
	)
	if detailed {
		m.Registry.MustRegister(m.TenantOperationFailures, m.LastTenantOperationDuration, m.ServiceOperationFailures)
	}
	kubemetrics.Register(m.Registry)
	return m
}

// ApplicationOfOperation returns the name of the CAPApplication a tenant operation belongs
// to, through its CAPApplicationVersion; "" when the version is not in the cache.
func ApplicationOfOperation(versions smelisters.CAPApplicationVersionLister, op *v1alpha1.CAPTenantOperation) string {
	cav, err := versions.CAPApplicationVersions(op.Namespace).Get(op.Spec.CAPApplicationVersionInstance)
	if err != nil {
		return ""
	}
	return cav.Spec.CAPApplicationInstance
}
