// Package fleetmetrics exports the state of the tenant fleet, computed from the controller's
// informer cache when Prometheus scrapes: tenants by application, state and version, and the
// tenant operations running by application and operation type with the age of the oldest.
// The series are per application, never per tenant, so their number stays bounded by
// applications × states × versions.
package fleetmetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

var (
	tenantsDesc = prometheus.NewDesc("cap_op_tenants",
		"CAPTenants by namespace, application, state and the version (spec.version of the CAPApplicationVersion) they run.",
		[]string{"namespace", "application", "state", "version"}, nil)
	runningDesc = prometheus.NewDesc("cap_op_tenant_operations_running",
		"CAPTenantOperations not yet finished, by namespace, application and operation.",
		[]string{"namespace", "application", "operation"}, nil)
	oldestDesc = prometheus.NewDesc("cap_op_tenant_operation_oldest_running_seconds",
		"Age of the oldest unfinished CAPTenantOperation, by namespace, application and operation.",
		[]string{"namespace", "application", "operation"}, nil)
	applicationsDesc = prometheus.NewDesc("cap_op_applications",
		"CAPApplications by namespace, name, state and app identifier hash (the app label of the other cap_op_ metrics).",
		[]string{"namespace", "application", "state", "app"}, nil)
)

// Listers are the caches the collector reads.
type Listers struct {
	Applications smelisters.CAPApplicationLister
	Versions     smelisters.CAPApplicationVersionLister
	Tenants      smelisters.CAPTenantLister
	Operations   smelisters.CAPTenantOperationLister
	// Synced reports whether the caches are filled; before that the collector exports
	// nothing rather than zeros.
	Synced []cache.InformerSynced
}

// Collector is a prometheus.Collector over the listers.
type Collector struct {
	listers Listers
	clock   clock.PassiveClock
}

// New returns a collector reading l, measuring ages with clk.
func New(l Listers, clk clock.PassiveClock) *Collector {
	return &Collector{listers: l, clock: clk}
}

// Register creates the collector over c's informers and registers it with c.Metrics; the
// returned function unregisters it (the controllers may run again after a lost leadership).
// Call it before the informer factories start.
func Register(c *controller.Context) func() {
	if c.Metrics == nil {
		return func() {}
	}
	sme := c.SMEInformers.Sme().V1alpha1()
	l := Listers{
		Applications: sme.CAPApplications().Lister(),
		Versions:     sme.CAPApplicationVersions().Lister(),
		Tenants:      sme.CAPTenants().Lister(),
		Operations:   sme.CAPTenantOperations().Lister(),
		Synced: []cache.InformerSynced{
			sme.CAPApplications().Informer().HasSynced, sme.CAPApplicationVersions().Informer().HasSynced,
			sme.CAPTenants().Informer().HasSynced, sme.CAPTenantOperations().Informer().HasSynced,
		},
	}
	col := New(l, c.Clock)
	if err := c.Metrics.Registry.Register(col); err != nil {
		klog.Background().Error(err, "Registering the fleet metrics")
		return func() {}
	}
	return func() { c.Metrics.Registry.Unregister(col) }
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{tenantsDesc, runningDesc, oldestDesc, applicationsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, synced := range c.listers.Synced {
		if !synced() {
			return
		}
	}
	for _, s := range c.snapshot() {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, s.value, s.labels...)
	}
}

// sample is one exported value.
type sample struct {
	desc   *prometheus.Desc
	labels []string
	value  float64
}

// snapshot computes every sample from the caches (errors of a lister on a cache never
// happen; a failing list leaves its family out).
func (c *Collector) snapshot() []sample {
	var out []sample
	cas, err := c.listers.Applications.List(labels.Everything())
	if err == nil {
		for _, ca := range cas {
			out = append(out, sample{applicationsDesc, []string{ca.Namespace, ca.Name, string(ca.Status.State), ca.Labels[v1alpha1.LabelAppIdentifierHash]}, 1})
		}
	}
	out = append(out, c.tenantSamples()...)
	return append(out, c.operationSamples()...)
}

// groupKey is the label values of one series.
type groupKey struct{ a, b, c, d string }

// tenantSamples counts tenants by namespace, application, state and version.
func (c *Collector) tenantSamples() []sample {
	cats, err := c.listers.Tenants.List(labels.Everything())
	if err != nil {
		return nil
	}
	counts := map[groupKey]float64{}
	var order []groupKey
	for _, cat := range cats {
		k := groupKey{cat.Namespace, cat.Spec.CAPApplicationInstance, string(cat.Status.State), c.versionOf(cat)}
		if _, seen := counts[k]; !seen {
			order = append(order, k)
		}
		counts[k]++
	}
	out := make([]sample, 0, len(order))
	for _, k := range order {
		out = append(out, sample{tenantsDesc, []string{k.a, k.b, k.c, k.d}, counts[k]})
	}
	return out
}

// versionOf returns the spec.version of the tenant's current CAPApplicationVersion, or ""
// when it has none yet (or the version is gone).
func (c *Collector) versionOf(cat *v1alpha1.CAPTenant) string {
	name := cat.Status.CurrentCAPApplicationVersionInstance
	if name == "" {
		return ""
	}
	cav, err := c.listers.Versions.CAPApplicationVersions(cat.Namespace).Get(name)
	if err != nil {
		return ""
	}
	return cav.Spec.Version
}

// operationSamples counts the unfinished operations and the age of the oldest, by
// namespace, application and operation type.
func (c *Collector) operationSamples() []sample {
	ops, err := c.listers.Operations.List(labels.Everything())
	if err != nil {
		return nil
	}
	now := c.clock.Now()
	counts := map[groupKey]float64{}
	oldest := map[groupKey]time.Time{}
	var order []groupKey
	for _, op := range ops {
		if tenant.Finished(op) {
			continue
		}
		k := groupKey{op.Namespace, c.applicationOf(op), string(op.Spec.Operation), ""}
		if _, seen := counts[k]; !seen {
			order = append(order, k)
			oldest[k] = op.CreationTimestamp.Time
		}
		counts[k]++
		if op.CreationTimestamp.Time.Before(oldest[k]) {
			oldest[k] = op.CreationTimestamp.Time
		}
	}
	out := make([]sample, 0, 2*len(order))
	for _, k := range order {
		lv := []string{k.a, k.b, k.c}
		out = append(out, sample{runningDesc, lv, counts[k]}, sample{oldestDesc, lv, max(0, now.Sub(oldest[k]).Seconds())})
	}
	return out
}

// applicationOf returns the application of an operation through its version.
func (c *Collector) applicationOf(op *v1alpha1.CAPTenantOperation) string {
	return controller.ApplicationOfOperation(c.listers.Versions, op)
}
