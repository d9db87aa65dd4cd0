package controller

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// documentedMetric is one controller metric of the documented list: its type and labels.
type documentedMetric struct {
	typ      dto.MetricType
	labels   []string
	detailed bool // exported only with DETAILED_OPERATIONAL_METRICS
}

// controllerMetrics are the controller's metrics as the reference documents them: always the
// error, panic and operation counters (without _total), the workqueue family and the REST
// client counter; with detailed metrics three per-object families more.
var controllerMetrics = map[string]documentedMetric{
	"cap_op_reconcile_errors":                        {typ: dto.MetricType_COUNTER, labels: []string{"kind", "namespace", "name"}},
	"cap_op_panics":                                  {typ: dto.MetricType_COUNTER, labels: []string{"kind", "namespace", "name"}},
	"cap_op_tenant_operations":                       {typ: dto.MetricType_COUNTER, labels: []string{"app", "operation"}},
	"cap_op_service_operations":                      {typ: dto.MetricType_COUNTER, labels: []string{"app"}},
	"cap_op_queue_depth":                             {typ: dto.MetricType_GAUGE, labels: []string{"name"}},
	"cap_op_queue_adds_total":                        {typ: dto.MetricType_COUNTER, labels: []string{"name"}},
	"cap_op_queue_latency_seconds":                   {typ: dto.MetricType_HISTOGRAM, labels: []string{"name"}},
	"cap_op_queue_work_duration_seconds":             {typ: dto.MetricType_HISTOGRAM, labels: []string{"name"}},
	"cap_op_queue_unfinished_work_seconds":           {typ: dto.MetricType_GAUGE, labels: []string{"name"}},
	"cap_op_queue_longest_running_processor_seconds": {typ: dto.MetricType_GAUGE, labels: []string{"name"}},
	"cap_op_queue_retries_total":                     {typ: dto.MetricType_COUNTER, labels: []string{"name"}},
	"cap_op_rest_client_requests_total":              {typ: dto.MetricType_COUNTER, labels: []string{"code", "method", "host"}},
	"cap_op_tenant_operation_failures": {typ: dto.MetricType_COUNTER, detailed: true,
		labels: []string{"app", "operation", "tenant_id", "namespace", "name"}},
	"cap_op_service_operation_failures": {typ: dto.MetricType_COUNTER, detailed: true,
		labels: []string{"app", "version", "namespace", "name"}},
	"cap_op_last_tenant_operation_duration_seconds": {typ: dto.MetricType_GAUGE, detailed: true, labels: []string{"app", "tenant_id"}},
	// Additions of Capstan (docs/monitoring.md).
	"cap_op_tenant_operation_duration_seconds": {typ: dto.MetricType_HISTOGRAM,
		labels: []string{"app", "namespace", "application", "operation", "result"}},
	"cap_op_tenant_operation_retries_total": {typ: dto.MetricType_COUNTER,
		labels: []string{"namespace", "application", "operation", "trigger"}},
}

// fleetMetrics are the metrics of the fleet collector, registered with the controller's
// registry at run time and tested in package fleetmetrics.
var fleetMetrics = []string{"cap_op_tenants", "cap_op_tenant_operations_running", "cap_op_tenant_operation_oldest_running_seconds", "cap_op_applications"}

// TestMetricsExported drives every documented metric through the code that records it where
// that code lives in this package (the worker, the workqueue and REST client hooks), scrapes
// /metrics and checks each family's type and label names.
func TestMetricsExported(t *testing.T) {
	for _, detailed := range []bool{false, true} {
		m := NewMetrics(detailed)
		exercise(t, m)
		families := scrape(t, m)
		for name, want := range controllerMetrics {
			f, ok := families[name]
			if want.detailed && !detailed {
				if ok {
					t.Errorf("detailed=false: %s exported, want it only with detailed metrics", name)
				}
				continue
			}
			if !ok {
				t.Errorf("detailed=%v: %s not exported", detailed, name)
				continue
			}
			if f.GetType() != want.typ {
				t.Errorf("%s is a %v, want %v", name, f.GetType(), want.typ)
			}
			if got := labelNames(f); !slices.Equal(got, sorted(want.labels)) {
				t.Errorf("%s labels = %v, want %v", name, got, sorted(want.labels))
			}
		}
		for _, collector := range []string{"go_goroutines", "process_start_time_seconds"} {
			if _, ok := families[collector]; !ok && (collector != "process_start_time_seconds" || processMetricsSupported()) {
				t.Errorf("%s (Go and process collectors) not exported", collector)
			}
		}
	}
}

// exercise records a value in every documented family.
func exercise(t *testing.T, m *Metrics) {
	t.Helper()
	queue := NewQueue("MetricsTest", nil)
	defer queue.ShutDown()
	calls := 0
	w := &Worker{Kind: "MetricsTest", Queue: queue, Metrics: m, Sync: func(context.Context, cache.ObjectName) error {
		calls++
		if calls == 1 {
			return errors.New("failing sync")
		}
		panic("panicking sync")
	}}
	key := cache.ObjectName{Namespace: "ns", Name: "obj"}
	queue.Add(key)
	w.processNextWorkItem(context.Background()) // returns the error: counted, requeued rate-limited
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return queue.Len() > 0, nil }); err != nil {
		t.Fatalf("the failed key was not requeued: %v", err)
	}
	w.processNextWorkItem(context.Background()) // panics: recovered and counted

	m.TenantOperations.WithLabelValues("hash", "provisioning").Inc()
	m.ServiceOperations.WithLabelValues("hash").Inc()
	m.TenantOperationFailures.WithLabelValues("hash", "provisioning", "tenant", "ns", "op").Inc()
	m.ServiceOperationFailures.WithLabelValues("hash", "1.0.0", "ns", "cav").Inc()
	m.LastTenantOperationDuration.WithLabelValues("hash", "tenant").Set(3)
	m.TenantOperationDuration.WithLabelValues("hash", "ns", "app", "provisioning", "completed").Observe(42)
	m.TenantOperationRetries.WithLabelValues("ns", "app", "provisioning", RetryAutomatic).Inc()

	// A real request through a client-go clientset feeds the REST client hook.
	api := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, `{"major":"1","minor":"34","gitVersion":"v1.34.0"}`)
	}))
	defer api.Close()
	client, err := kubernetes.NewForConfig(&rest.Config{Host: api.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Discovery().ServerVersion(); err != nil {
		t.Fatal(err)
	}
}

// scrape reads /metrics from a handler on the registry, as Prometheus would.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return families
}

// labelNames returns the sorted label names of a family's samples.
func labelNames(f *dto.MetricFamily) []string {
	set := map[string]bool{}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			set[l.GetName()] = true
		}
	}
	var out []string
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// sorted returns a sorted copy.
func sorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

// processMetricsSupported reports whether the process collector works here (it reads /proc).
func processMetricsSupported() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// TestMetricsDocumented checks the user documentation against the list above: every
// controller metric is named there (directly or through its documented family), and every
// cap_op_ name in the controller's metrics section is one the controller exports or a family
// documented elsewhere.
func TestMetricsDocumented(t *testing.T) {
	data, err := os.ReadFile("../../docs/internals/controller.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## Metrics")
	if !ok {
		t.Fatal("docs/internals/controller.md has no Metrics section")
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	names := regexp.MustCompile(`cap_op_[a-z_]+\*?`).FindAllString(section, -1)
	for name := range controllerMetrics {
		if !slices.ContainsFunc(names, func(doc string) bool {
			return doc == name || strings.HasSuffix(doc, "*") && strings.HasPrefix(name, strings.TrimSuffix(doc, "*"))
		}) {
			t.Errorf("%s is exported but not documented in docs/internals/controller.md", name)
		}
	}
	for _, doc := range names {
		if _, ok := controllerMetrics[doc]; ok || doc == "cap_op_queue_*" || doc == "cap_op_version_cleanup_*" || slices.Contains(fleetMetrics, doc) {
			continue // version cleanup's family is tested in its own package
		}
		t.Errorf("docs/internals/controller.md names %s, which the controller does not export", doc)
	}
}
