package versioncleanup

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// The namespace and application of the tests.
const (
	testNS  = "demo"
	testApp = "app"
)

// newCA returns the application with the cleanup annotation set to mode ("" leaves it out).
func newCA(mode string) *v1alpha1.CAPApplication {
	ca := &v1alpha1.CAPApplication{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: testApp, UID: "uid-app"}}
	if mode != "" {
		ca.Annotations = map[string]string{v1alpha1.AnnotationEnableCleanupMonitoring: mode}
	}
	return ca
}

// cavOption changes a test version.
type cavOption func(*v1alpha1.CAPApplicationVersion)

// newCAV returns version "cav-<version>" of the application, Ready when ready is set.
func newCAV(version string, ready bool, opts ...cavOption) *v1alpha1.CAPApplicationVersion {
	cav := &v1alpha1.CAPApplicationVersion{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "cav-" + version, UID: types.UID("uid-" + version), ResourceVersion: "1"},
		Spec: v1alpha1.CAPApplicationVersionSpec{CAPApplicationInstance: testApp, Version: version,
			Workloads: []v1alpha1.WorkloadDetails{{Name: "router", DeploymentDefinition: &v1alpha1.DeploymentDetails{}}}},
	}
	if ready {
		cav.Status.State = v1alpha1.CAPApplicationVersionStateReady
		cav.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionTypeReady, Status: metav1.ConditionTrue}}
	}
	for _, o := range opts {
		o(cav)
	}
	return cav
}

// withRules adds a deployment workload with the given deletion rules.
func withRules(workload string, rules v1alpha1.DeletionRules) cavOption {
	return func(cav *v1alpha1.CAPApplicationVersion) {
		cav.Spec.Workloads = append(cav.Spec.Workloads, v1alpha1.WorkloadDetails{Name: workload,
			DeploymentDefinition: &v1alpha1.DeploymentDetails{Monitoring: &v1alpha1.WorkloadMonitoring{DeletionRules: &rules}}})
	}
}

// deleting marks the version as being deleted.
func deleting(cav *v1alpha1.CAPApplicationVersion) {
	now := metav1.Now()
	cav.DeletionTimestamp = &now
}

// gauge, counter and expression build deletion rules.
func gauge(name, period, threshold string) v1alpha1.MetricRule {
	return v1alpha1.MetricRule{Name: name, Type: v1alpha1.MetricTypeGauge, CalculationPeriod: period, ThresholdValue: threshold}
}

func counter(name, period, threshold string) v1alpha1.MetricRule {
	return v1alpha1.MetricRule{Name: name, Type: v1alpha1.MetricTypeCounter, CalculationPeriod: period, ThresholdValue: threshold}
}

func metricRules(rules ...v1alpha1.MetricRule) v1alpha1.DeletionRules {
	return v1alpha1.DeletionRules{Metrics: rules}
}

func expression(e string) v1alpha1.DeletionRules {
	return v1alpha1.DeletionRules{Expression: e}
}

// newTenant returns a tenant of the application running current and requesting version.
func newTenant(name, current, version string) *v1alpha1.CAPTenant {
	return &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name},
		Spec:       v1alpha1.CAPTenantSpec{CAPApplicationInstance: testApp, Version: version},
		Status:     v1alpha1.CAPTenantStatus{CurrentCAPApplicationVersionInstance: current},
	}
}

// Prometheus API response bodies, as a Prometheus server sends them.
func scalarJSON(v string) string {
	return fmt.Sprintf(`{"status":"success","data":{"resultType":"scalar","result":[1700000000,%q]}}`, v)
}

func vectorJSON(values ...string) string {
	samples := make([]string, len(values))
	for i, v := range values {
		samples[i] = fmt.Sprintf(`{"metric":{"pod":"p%d"},"value":[1700000000,%q]}`, i, v)
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(samples, ",") + `]}}`
}

func stringJSON(v string) string {
	return fmt.Sprintf(`{"status":"success","data":{"resultType":"string","result":[1700000000,%q]}}`, v)
}

func matrixJSON() string {
	return `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"1"]]}]}}`
}

// fakePrometheus serves the query and runtimeinfo endpoints of the Prometheus HTTP API from a
// table of query → response body. A query missing from the table is answered like Prometheus
// answers a query it cannot parse. Requests for a query mapped to hang block until the client
// gives up.
type fakePrometheus struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]string
	status  int
	queries []string
	probes  int
	hangRT  bool
}

// hang is the answer that never comes.
const hang = "<hang>"

// newFakePrometheus starts the fake server; it stops with the test.
func newFakePrometheus(t *testing.T, answers map[string]string) *fakePrometheus {
	f := &fakePrometheus{answers: answers, status: http.StatusOK}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// serve implements the two endpoints.
func (f *fakePrometheus) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	status := f.status
	switch r.URL.Path {
	case "/api/v1/status/runtimeinfo":
		f.probes++
		hangRT := f.hangRT
		f.mu.Unlock()
		if hangRT {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"success","data":{"startTime":"2026-01-01T00:00:00Z","CWD":"/","goroutineCount":1,"GOMAXPROCS":1,"storageRetention":"15d"}}`))
		return
	case "/api/v1/query":
	default:
		f.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	_ = r.ParseForm()
	q := r.Form.Get("query")
	f.queries = append(f.queries, q)
	body, ok := f.answers[q]
	f.mu.Unlock()
	switch {
	case body == hang:
		<-r.Context().Done()
	case status != http.StatusOK:
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"status":"error","errorType":"internal","error":"storage is unavailable"}`)
	case !ok:
		w.WriteHeader(http.StatusBadRequest)
		msg, _ := json.Marshal("parse error in query " + q)
		_, _ = fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":%s}`, msg)
	default:
		_, _ = w.Write([]byte(body))
	}
}

// setStatus makes every later answer fail with status (http.StatusOK restores the table).
func (f *fakePrometheus) setStatus(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = status
}

// hangProbes makes runtimeinfo requests block until the client gives up.
func (f *fakePrometheus) hangProbes() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hangRT = true
}

// asked returns the queries received so far.
func (f *fakePrometheus) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}

// probeCount returns the number of runtimeinfo requests.
func (f *fakePrometheus) probeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.probes
}
