package monitoring

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/internal/testenv/promserver"
	"github.com/capstan-io/capstan/internal/webhook/webhooktest"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	"github.com/capstan-io/capstan/test/framework"
)

// timeout bounds every wait.
const timeout = 3 * time.Minute

// providerTenant is the walk-through's provider tenant.
const providerTenant = "cap-app-01-provider"

// unproducible names the metrics that only a failure no honest scenario can cause
// produces, with the reason, and how the controller counts one. Queries on them must be valid
// PromQL; instead of data, the test checks that the controller's own registry exports a
// metric of that name once one event is counted, so a renamed metric still breaks the build
// (TestMetricsExported in internal/controller counts a panic through a panicking sync).
var unproducible = map[string]struct {
	reason string
	count  func(*controller.Metrics)
}{
	"cap_op_panics": {"only a bug in the operator makes a reconciliation panic; no input does",
		func(m *controller.Metrics) { m.Panics.WithLabelValues("CAPTenant", "ns", "name").Inc() }},
}

// TestDashboardAndAlertQueriesReturnData runs the three binaries, causes a provisioning, a
// failing upgrade with an automatic retry, two subscriptions whose callbacks are sent and
// fail, a version whose reconciliation keeps failing, refused subscription requests and
// admission reviews, and evaluates every dashboard query and alert expression against a
// Prometheus scraping them.
func TestDashboardAndAlertQueriesReturnData(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	dash, err := dashboardQueries(env.RepoRoot)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := alertQueries(env.RepoRoot)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sap := newFakeSAP(t)
	controllerMetrics, ctl := startController(t, env, ns)
	serverAddr, serverMetrics, srv := startServer(t, env, ns, sap.caFile)
	webhookAddr, webhookMetrics, pool := startWebhook(t, env, ns)
	prom, err := env.StartPrometheus(promserver.Options{Targets: []promserver.Target{
		{URL: "http://" + controllerMetrics + "/metrics", Job: "capstan-controller", Namespace: ns},
		{URL: "http://" + serverMetrics + "/metrics", Job: "capstan-subscription-server", Namespace: ns},
		{URL: "http://" + webhookMetrics + "/metrics", Job: "capstan-webhook", Namespace: ns},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() })

	runBlockedVersion(t, env)
	runTenantScenario(t, env, ns, func(ca *v1alpha1.CAPApplication) { sap.bind(t, env, ca, true) },
		func(ca *v1alpha1.CAPApplication) { runSubscriptions(t, env, sap, serverAddr, ca) })
	sendSubscriptionRequests(t, serverAddr)
	sendAdmissionReviews(t, webhookAddr, pool, ns)
	// Wait until Prometheus has scraped the end of the scenario several times, so that
	// rate() and increase() over a minute have two samples or more.
	for _, expr := range []string{
		`cap_op_tenants{state="UpgradeError"}`, `cap_op_tenant_operation_retries_total{trigger="automatic"}`,
		`cap_op_tenant_operation_duration_seconds_count{result="failed"}`, `cap_op_webhook_requests_total{outcome="denied"}`,
		`cap_op_subscription_requests_total`, `cap_op_subscription_requests_sms_total`,
		`cap_op_subscription_callbacks_total{result="sent"}`, `cap_op_subscription_callbacks_total{result="failed"}`,
		`cap_op_reconcile_errors{kind="CAPApplicationVersion"}`,
	} {
		waitForData(t, prom.API, "count_over_time("+expr+"[1m]) >= 3")
	}
	// The failures have the causes the scenario gave them.
	assertLogged(t, ctl, "Sync failed", "failed calling webhook", "workloads.policy.example.com")
	assertLogged(t, srv, "Callback sent")
	assertLogged(t, srv, "Giving up on the callback", "credentials have no saas_registry_url")

	for _, q := range append(dash, alerts...) {
		t.Run(q.source, func(t *testing.T) { checkQuery(t, prom.API, q.expr, start) })
	}
	t.Run("docs/monitoring.md lists every metric", func(t *testing.T) { checkMetricsDocumented(t, prom.API, env.RepoRoot, start) })
}

// checkQuery asserts that a query returns data, or for a query on an unproducible metric,
// that it evaluates and that the controller exports the metric.
func checkQuery(t *testing.T, api promv1.API, expr string, start time.Time) {
	for _, name := range metricNames.FindAllString(expr, -1) {
		u, ok := unproducible[name]
		if !ok {
			continue
		}
		t.Logf("%s: not caused by this scenario (%s); checking that the controller exports it", name, u.reason)
		if _, err := evaluate(api, expr, start); err != nil {
			t.Errorf("%s: %v", expr, err)
		}
		if err := exported(name, u.count); err != nil {
			t.Error(err)
		}
		return
	}
	// The newest samples may not yet fill a rate window at the last step of the range: poll
	// briefly, as a dashboard refresh would.
	err := testenv.Poll(30*time.Second, func() (bool, error) {
		n, err := evaluate(api, expr, start)
		return err == nil && n > 0, fmt.Errorf("no data (error %v)", err)
	})
	if err != nil {
		t.Errorf("%s: %v", expr, err)
	}
}

// exported counts one event with a new controller registry and checks that the registry
// then exports a metric family of the name.
func exported(name string, count func(*controller.Metrics)) error {
	m := controller.NewMetrics(true)
	count(m)
	families, err := m.Registry.Gather()
	if err != nil {
		return err
	}
	for _, f := range families {
		if f.GetName() == name {
			return nil
		}
	}
	return fmt.Errorf("the controller exports no metric %s after counting an event", name)
}

// assertLogged checks that a line of the process's log contains every part.
func assertLogged(t *testing.T, p *framework.Process, parts ...string) {
	t.Helper()
	for _, line := range p.LogLines(parts[0]) {
		if containsAll(line, parts[1:]) {
			return
		}
	}
	t.Errorf("%s logged no line with %q", p.Name, parts)
}

// containsAll reports whether s contains every part.
func containsAll(s string, parts []string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

// evaluate runs expr as a range query from start until now and returns the number of
// samples.
func evaluate(api promv1.API, expr string, start time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	value, _, _, err := api.QueryRange(ctx, expr, promv1.Range{Start: start, End: time.Now(), Step: 2 * time.Second})
	if err != nil {
		return 0, err
	}
	matrix, ok := value.(model.Matrix)
	if !ok {
		return 0, fmt.Errorf("result is a %s, not a matrix", value.Type())
	}
	n := 0
	for _, s := range matrix {
		n += len(s.Values) + len(s.Histograms)
	}
	return n, nil
}

// waitForData waits until an instant query returns a sample.
func waitForData(t *testing.T, api promv1.API, expr string) {
	t.Helper()
	testenv.Eventually(t, timeout, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, _, _, err := api.Query(ctx, expr, time.Now())
		if err != nil {
			return false, err
		}
		vec, ok := v.(model.Vector)
		return ok && len(vec) > 0, fmt.Errorf("%s: no data yet", expr)
	})
}

// freeAddr returns a free loopback address.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// port returns the port of a host:port address.
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// startController runs the controller with the application and tenant controllers (the
// domains are marked Ready by the test) and fast, single retries; it returns the metrics
// address and the process.
func startController(t *testing.T, env *testenv.Env, ns string) (string, *framework.Process) {
	addr := freeAddr(t)
	p := framework.Start(t, env, "controller", []string{"--metrics-bind-address=" + addr, "--leader-elect=false", "--operator-namespace=" + ns,
		"--controllers=capapplication,capapplicationversion,captenant,captenantoperation",
		"--retry-initial-delay=1s", "--retry-max-delay=2s", "--retry-attempts=1"}, "POD_NAMESPACE="+ns)
	return addr, p
}

// startServer runs the subscription server on plain HTTP, trusting the CA of the fake SAP
// services, and returns its API and metrics addresses and the process once it is ready.
func startServer(t *testing.T, env *testenv.Env, ns, caFile string) (string, string, *framework.Process) {
	api, metrics := freeAddr(t), freeAddr(t)
	p := framework.Start(t, env, "server", []string{"--client-timeout=5s"}, "PORT="+port(api), "METRICS_PORT="+port(metrics), "TLS_ENABLED=false",
		"SSL_CERT_FILE="+caFile, "POD_NAME=monitoring", "POD_NAMESPACE="+ns)
	waitReady(t, p, "http://"+api+"/readyz", http.DefaultClient)
	return api, metrics, p
}

// startWebhook runs the webhook with a test CA's serving certificate and returns its
// address, metrics address and the pool trusting the CA.
func startWebhook(t *testing.T, env *testenv.Env, ns string) (string, string, *x509.CertPool) {
	ca, err := webhooktest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := ca.WriteServingCert(t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	addr, metrics := freeAddr(t), freeAddr(t)
	p := framework.Start(t, env, "web-hooks", []string{"--bind-address=127.0.0.1", "--port=" + port(addr), "--metrics-bind-address=" + metrics,
		"--tls-cert-file=" + certFile, "--tls-key-file=" + keyFile}, "POD_NAMESPACE="+ns)
	waitReady(t, p, "http://"+metrics+"/readyz", http.DefaultClient)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	return addr, metrics, pool
}

// waitReady polls a readiness endpoint of a process.
func waitReady(t *testing.T, p *framework.Process, url string, client *http.Client) {
	t.Helper()
	testenv.Eventually(t, timeout, func() (bool, error) {
		if exited, code := p.Exited(); exited {
			t.Fatalf("%s exited with code %d", p.Name, code)
		}
		resp, err := client.Get(url)
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("%s: %s", url, resp.Status)
	})
}

// runTenantScenario creates the application (bind changes its binding Secrets before the
// first version exists) and provisions the provider tenant with version 1; then, after
// provisioned runs, it lets the upgrades to a version whose tenant-operation Job fails run
// twice (one automatic retry) into UpgradeError.
func runTenantScenario(t *testing.T, env *testenv.Env, ns string, bind, provisioned func(*v1alpha1.CAPApplication)) {
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1()
	ca := framework.MultitenantApp(t, env, ns)
	bind(ca)
	v1 := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v1.yaml", ns, v1)
	if _, err := client.CAPApplicationVersions(ns).Create(ctx, v1, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTenant(t, env, ns, func(c *v1alpha1.CAPTenant) bool {
		return c.Status.State == v1alpha1.CAPTenantStateReady && c.Status.CurrentCAPApplicationVersionInstance == v1.Name
	})
	provisioned(ca)
	v2 := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v2-upgrade.yaml", ns, v2)
	v2.Spec.CAPApplicationInstance = "cap-app-01"
	for i := range v2.Spec.Workloads {
		if w := &v2.Spec.Workloads[i]; w.Name == "tenant-operation" {
			w.Labels = map[string]string{testenv.FailPodLabel: "true"}
			w.JobDefinition.BackoffLimit = ptr.To[int32](0)
		}
	}
	if _, err := client.CAPApplicationVersions(ns).Create(ctx, v2, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTenant(t, env, ns, func(c *v1alpha1.CAPTenant) bool {
		return c.Status.State == v1alpha1.CAPTenantStateUpgradeError && strings.Contains(conditionMessage(c), "no automatic retries left")
	})
}

// conditionMessage returns the message of a tenant's Ready condition.
func conditionMessage(c *v1alpha1.CAPTenant) string {
	for _, cond := range c.Status.Conditions {
		if cond.Type == v1alpha1.ConditionTypeReady {
			return cond.Message
		}
	}
	return ""
}

// waitTenant waits until the provider tenant satisfies cond.
func waitTenant(t *testing.T, env *testenv.Env, ns string, cond func(*v1alpha1.CAPTenant) bool) {
	t.Helper()
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1()
	testenv.Eventually(t, timeout, func() (bool, error) {
		c, err := client.CAPTenants(ns).Get(context.Background(), providerTenant, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return cond(c), fmt.Errorf("tenant state %s: %s", c.Status.State, conditionMessage(c))
	})
}

// sendSubscriptionRequests sends an unauthenticated SaaS-registry and Subscription Manager
// request; both are refused and counted.
func sendSubscriptionRequests(t *testing.T, addr string) {
	for _, path := range []string{"/provision/tenants/tenant-1", "/sms/provision/tenants/tenant-1?subscriptionGUID=g1"} {
		req, err := http.NewRequest(http.MethodPut, "http://"+addr+path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("PUT %s without credentials: %s, want a refusal", path, resp.Status)
		}
	}
}

// sendAdmissionReviews sends the validating webhook a CAPApplicationVersion without
// application and version, which it denies.
func sendAdmissionReviews(t *testing.T, addr string, pool *x509.CertPool, ns string) {
	cav := &v1alpha1.CAPApplicationVersion{TypeMeta: metav1.TypeMeta{APIVersion: "sme.sap.com/v1alpha1", Kind: "CAPApplicationVersion"},
		ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns}}
	raw, err := json.Marshal(cav)
	if err != nil {
		t.Fatal(err)
	}
	review := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "1", Operation: admissionv1.Create, Namespace: ns, Name: "bad",
			Kind:     metav1.GroupVersionKind{Group: "sme.sap.com", Version: "v1alpha1", Kind: "CAPApplicationVersion"},
			Resource: metav1.GroupVersionResource{Group: "sme.sap.com", Version: "v1alpha1", Resource: "capapplicationversions"},
			Object:   runtime.RawExtension{Raw: raw}}}
	body, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Post("https://"+addr+"/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Response == nil || got.Response.Allowed {
		t.Errorf("review of a CAPApplicationVersion without application and version: %+v, want a denial", got.Response)
	}
}
