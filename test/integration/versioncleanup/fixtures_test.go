package versioncleanup

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/versioncleanup"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/internal/testenv/promserver"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// Names and timing shared by the tests.
const (
	app         = "shop"
	workload    = "backend"
	waitTimeout = 90 * time.Second
	interval    = time.Second
)

// sme returns a client of the operator's kinds.
func sme(t *testing.T) smeclient.Interface {
	t.Helper()
	c, err := smeclient.NewForConfig(testenv.Current().Config)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createApp creates the application with the cleanup annotation set to mode.
func createApp(t *testing.T, ns, mode string) {
	t.Helper()
	ca := &v1alpha1.CAPApplication{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app, Annotations: map[string]string{v1alpha1.AnnotationEnableCleanupMonitoring: mode}},
		Spec: v1alpha1.CAPApplicationSpec{BTPAppName: app, GlobalAccountId: "ga",
			BTP: v1alpha1.BTP{Services: []v1alpha1.ServiceInfo{{Class: "xsuaa", Name: "uaa", Secret: "uaa-bind"}}}},
	}
	client := sme(t).SmeV1alpha1().CAPApplications(ns)
	if _, err := client.Create(context.Background(), ca, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating application: %v", err)
	}
	// Without its application a version is not evaluated, so the controllers of later tests
	// leave this test's versions alone (the namespace only goes Terminating: no namespace
	// controller runs).
	t.Cleanup(func() {
		if err := client.Delete(context.Background(), app, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting application: %v", err)
		}
	})
}

// createVersion creates version "v<version>" of the application, with the given deletion
// rules on its backend workload (nil: none), and marks it Ready when ready is set.
func createVersion(t *testing.T, ns, version string, rules *v1alpha1.DeletionRules, ready bool) *v1alpha1.CAPApplicationVersion {
	t.Helper()
	deployment := &v1alpha1.DeploymentDetails{Type: v1alpha1.DeploymentCAP, CommonDetails: v1alpha1.CommonDetails{Image: "example.com/backend:" + version}}
	if rules != nil {
		deployment.Monitoring = &v1alpha1.WorkloadMonitoring{DeletionRules: rules}
	}
	cav := &v1alpha1.CAPApplicationVersion{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: versionName(version)},
		Spec: v1alpha1.CAPApplicationVersionSpec{CAPApplicationInstance: app, Version: version,
			Workloads: []v1alpha1.WorkloadDetails{{Name: workload, ConsumedBTPServices: []string{"uaa"}, DeploymentDefinition: deployment}}},
	}
	client := sme(t).SmeV1alpha1().CAPApplicationVersions(ns)
	created, err := client.Create(context.Background(), cav, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating version %s: %v", version, err)
	}
	created.Status.State = v1alpha1.CAPApplicationVersionStateProcessing
	cond := metav1.Condition{Type: v1alpha1.ConditionTypeReady, Status: metav1.ConditionFalse, Reason: "Processing", Message: "set by the test", LastTransitionTime: metav1.Now()}
	if ready {
		created.Status.State = v1alpha1.CAPApplicationVersionStateReady
		cond.Status, cond.Reason = metav1.ConditionTrue, "WorkloadsReady"
	}
	created.Status.Conditions = []metav1.Condition{cond}
	if created, err = client.UpdateStatus(context.Background(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("status of version %s: %v", version, err)
	}
	return created
}

// versionName is the name of a test version.
func versionName(version string) string {
	return "v" + strings.ReplaceAll(version, ".", "-")
}

// job is the job label of the backend metrics of a version.
func job(version string) string {
	return versioncleanup.ServiceJob(versionName(version), workload)
}

// createTenant creates a tenant running the named version.
func createTenant(t *testing.T, ns, name, version string) {
	t.Helper()
	cat := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: app, Version: version,
			BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: name, TenantId: name + "-id"}},
	}
	client := sme(t).SmeV1alpha1().CAPTenants(ns)
	created, err := client.Create(context.Background(), cat, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating tenant: %v", err)
	}
	created.Status.State = v1alpha1.CAPTenantStateReady
	created.Status.CurrentCAPApplicationVersionInstance = versionName(version)
	if _, err := client.UpdateStatus(context.Background(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("tenant status: %v", err)
	}
}

// gaugeRules are the published example's metric rules, over one minute: no sessions on
// average and (almost) no requests.
func gaugeRules() *v1alpha1.DeletionRules {
	return &v1alpha1.DeletionRules{Metrics: []v1alpha1.MetricRule{
		{Name: "current_sessions", Type: v1alpha1.MetricTypeGauge, CalculationPeriod: "1m", ThresholdValue: "0"},
		{Name: "total_http_requests", Type: v1alpha1.MetricTypeCounter, CalculationPeriod: "1m", ThresholdValue: "0.00005"},
	}}
}

// workloadMetrics is the metrics endpoint of one version's backend.
type workloadMetrics struct {
	server   *httptest.Server
	sessions prometheus.Gauge
	requests prometheus.Counter
}

// serveMetrics starts a metrics endpoint with the given number of current sessions.
func serveMetrics(t *testing.T, sessions float64) *workloadMetrics {
	t.Helper()
	reg := prometheus.NewRegistry()
	w := &workloadMetrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "current_sessions", Help: "Open sessions."}),
		requests: prometheus.NewCounter(prometheus.CounterOpts{Name: "total_http_requests", Help: "Requests served."}),
	}
	reg.MustRegister(w.sessions, w.requests)
	w.sessions.Set(sessions)
	w.server = httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(w.server.Close)
	return w
}

// target is the scrape target of a version's backend in namespace ns.
func (w *workloadMetrics) target(ns, version string) promserver.Target {
	return promserver.Target{URL: w.server.URL + "/metrics", Job: job(version), Namespace: ns}
}

// startPrometheus starts a Prometheus scraping the targets; it stops with the test.
func startPrometheus(t *testing.T, targets ...promserver.Target) *promserver.Server {
	t.Helper()
	prom, err := testenv.Current().StartPrometheus(promserver.Options{Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := prom.Stop(); err != nil {
			t.Errorf("stopping Prometheus: %v", err)
		}
	})
	return prom
}

// startCleanup runs the version-cleanup controller against Prometheus at address ("" for
// none), evaluating every second.
func startCleanup(t *testing.T, address string) *controller.Context {
	t.Helper()
	opts := controllertest.DefaultOptions("capstan-system")
	opts.VersionCleanup = controller.VersionCleanupOptions{
		PrometheusAddress: address, EvaluationInterval: interval, QueryTimeout: 5 * time.Second,
	}
	return controllertest.Start(t, testenv.Current().Config, opts, func(c *controller.Context) (controller.Runnable, error) {
		return versioncleanup.NewController(c)
	})
}

// evaluations returns cap_op_version_cleanup_evaluations_total of the namespace's
// application for a mode and result.
func evaluations(t *testing.T, cctx *controller.Context, ns, mode, result string) float64 {
	t.Helper()
	return counterValue(t, cctx, "cap_op_version_cleanup_evaluations_total",
		map[string]string{"namespace": ns, "application": app, "mode": mode, "result": result})
}

// counterValue returns the value of the counter with exactly the given labels (0 if absent).
func counterValue(t *testing.T, cctx *controller.Context, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := cctx.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsMatch(m, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// labelsMatch reports whether a metric has exactly the given labels.
func labelsMatch(m *dto.Metric, labels map[string]string) bool {
	if len(m.GetLabel()) != len(labels) {
		return false
	}
	for _, l := range m.GetLabel() {
		if labels[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

// exists reports whether the version is still there.
func exists(t *testing.T, ns, version string) bool {
	t.Helper()
	_, err := sme(t).SmeV1alpha1().CAPApplicationVersions(ns).Get(context.Background(), versionName(version), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	} else if err != nil {
		t.Fatal(err)
	}
	return true
}

// waitDeleted waits until the version is gone.
func waitDeleted(t *testing.T, ns, version string) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() (bool, error) { return !exists(t, ns, version), nil })
}

// eventNotes returns the notes of the events with reason recorded about the version.
func eventNotes(t *testing.T, ns, version, reason string) []string {
	t.Helper()
	list, err := testenv.Current().Clientset().EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.Name == versionName(version) && e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

// waitEvent waits for an event with reason about the version whose note contains all parts,
// and returns the note.
func waitEvent(t *testing.T, ns, version, reason string, parts ...string) string {
	t.Helper()
	var found string
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		for _, note := range eventNotes(t, ns, version, reason) {
			if containsAll(note, parts) {
				found = note
				return true, nil
			}
		}
		return false, nil
	})
	return found
}

// containsAll reports whether s contains every part.
func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
