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

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/internal/webhook/webhooktest"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	"github.com/capstan-io/capstan/test/framework"
)

// timeout bounds every wait.
const timeout = 3 * time.Minute

// providerTenant is the walk-through's provider tenant.
const providerTenant = "cap-app-01-provider"

// eventOnly names metrics that exist only after an event this scenario does not cause (a
// failing reconciliation, a subscription callback). Queries on them are evaluated (they
// must be valid PromQL) but need not return data; docs/monitoring.md says so.
var eventOnly = []string{"cap_op_reconcile_errors", "cap_op_subscription_callbacks_total"}

// TestDashboardAndAlertQueriesReturnData runs the three binaries, causes a provisioning, a
// failing upgrade with an automatic retry, subscription requests and admission reviews, and
// evaluates every dashboard query and alert expression against a Prometheus scraping them.
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
	controllerMetrics := startController(t, env, ns)
	serverAddr, serverMetrics := startServer(t, env, ns)
	webhookAddr, webhookMetrics, pool := startWebhook(t, env, ns)
	prom, err := env.StartPrometheus(testenv.PrometheusOptions{Targets: []testenv.PrometheusTarget{
		{URL: "http://" + controllerMetrics + "/metrics", Job: "capstan-controller", Namespace: ns},
		{URL: "http://" + serverMetrics + "/metrics", Job: "capstan-subscription-server", Namespace: ns},
		{URL: "http://" + webhookMetrics + "/metrics", Job: "capstan-webhook", Namespace: ns},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() })

	runTenantScenario(t, env, ns)
	sendSubscriptionRequests(t, serverAddr)
	sendAdmissionReviews(t, webhookAddr, pool, ns)
	// Wait until Prometheus has scraped the end of the scenario several times, so that
	// rate() and increase() over a minute have two samples or more.
	for _, expr := range []string{
		`cap_op_tenants{state="UpgradeError"}`, `cap_op_tenant_operation_retries_total{trigger="automatic"}`,
		`cap_op_tenant_operation_duration_seconds_count{result="failed"}`, `cap_op_webhook_requests_total{outcome="denied"}`,
		`cap_op_subscription_requests_total`, `cap_op_subscription_requests_sms_total`,
	} {
		waitForData(t, prom.API, "count_over_time("+expr+"[1m]) >= 3")
	}

	for _, q := range append(dash, alerts...) {
		t.Run(q.source, func(t *testing.T) {
			if isEventOnly(q.expr) {
				if n, err := evaluate(prom.API, q.expr, start); err != nil {
					t.Errorf("%s: %v", q.expr, err)
				} else if n == 0 {
					t.Logf("%s: no data (event-only series, not caused by this scenario)", q.expr)
				}
				return
			}
			// The newest samples may not yet fill a rate window at the last step of the
			// range: poll briefly, as a dashboard refresh would.
			err := testenv.Poll(30*time.Second, func() (bool, error) {
				n, err := evaluate(prom.API, q.expr, start)
				return err == nil && n > 0, fmt.Errorf("no data (error %v)", err)
			})
			if err != nil {
				t.Errorf("%s: %v", q.expr, err)
			}
		})
	}
}

// isEventOnly reports whether an expression reads an event-only metric.
func isEventOnly(expr string) bool {
	for _, name := range eventOnly {
		if strings.Contains(expr, name) {
			return true
		}
	}
	return false
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
// address.
func startController(t *testing.T, env *testenv.Env, ns string) string {
	addr := freeAddr(t)
	framework.Start(t, env, "controller", []string{"--metrics-bind-address=" + addr, "--leader-elect=false", "--operator-namespace=" + ns,
		"--controllers=capapplication,capapplicationversion,captenant,captenantoperation",
		"--retry-initial-delay=1s", "--retry-max-delay=2s", "--retry-attempts=1"}, "POD_NAMESPACE="+ns)
	return addr
}

// startServer runs the subscription server on plain HTTP and returns its API and metrics
// addresses once it is ready.
func startServer(t *testing.T, env *testenv.Env, ns string) (string, string) {
	api, metrics := freeAddr(t), freeAddr(t)
	p := framework.Start(t, env, "server", nil, "PORT="+port(api), "METRICS_PORT="+port(metrics), "TLS_ENABLED=false",
		"POD_NAME=monitoring", "POD_NAMESPACE="+ns)
	waitReady(t, p, "http://"+api+"/readyz", http.DefaultClient)
	return api, metrics
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

// runTenantScenario provisions the provider tenant with version 1, then lets its upgrade to
// a version whose tenant-operation Job fails run twice (one automatic retry) into
// UpgradeError.
func runTenantScenario(t *testing.T, env *testenv.Env, ns string) {
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1()
	framework.MultitenantApp(t, env, ns)
	v1 := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v1.yaml", ns, v1)
	if _, err := client.CAPApplicationVersions(ns).Create(ctx, v1, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTenant(t, env, ns, func(c *v1alpha1.CAPTenant) bool {
		return c.Status.State == v1alpha1.CAPTenantStateReady && c.Status.CurrentCAPApplicationVersionInstance == v1.Name
	})
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
