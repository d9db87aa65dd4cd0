package webhooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/examples"
	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/capapplication"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/internal/webhook"
	"github.com/capstan-io/capstan/internal/webhook/mutation"
	"github.com/capstan-io/capstan/internal/webhook/validation"
	"github.com/capstan-io/capstan/internal/webhook/webhooktest"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

var (
	setupOnce sync.Once
	setupErr  error
	// webhookURL and webhookCA are the server's base URL and the CA of its certificate, for
	// tests that post reviews to it directly.
	webhookURL string
	webhookCA  []byte
)

// setup starts the webhook server once per test binary and registers it with the API server.
// The server lives until the process exits; the control plane is shared by every test of the
// package, so the registration is too.
func setup(t *testing.T) *testenv.Env {
	t.Helper()
	env := testenv.Current()
	setupOnce.Do(func() { setupErr = startWebhooks(env) })
	if setupErr != nil {
		t.Fatalf("starting the webhooks: %v", setupErr)
	}
	return env
}

// startWebhooks runs the server and registers both configurations, then waits until the API
// server calls them.
func startWebhooks(env *testenv.Env) error {
	ca, err := webhooktest.NewCA()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "capstan-webhook-certs-")
	if err != nil {
		return err
	}
	certFile, keyFile, err := ca.WriteServingCert(dir, 1)
	if err != nil {
		return err
	}
	client, err := smeclient.NewForConfig(env.Config)
	if err != nil {
		return err
	}
	metrics := webhook.NewMetrics()
	handler := webhook.NewHandler(validation.New(client).Validate, mutation.New(client).Mutate, metrics)
	srv, err := webhook.NewServer(webhook.Options{BindAddress: "127.0.0.1", TLSEnabled: true, CertFile: certFile, KeyFile: keyFile,
		CertReloadInterval: time.Second, MetricsPort: -1, ShutdownTimeout: time.Second}, handler, metrics)
	if err != nil {
		return err
	}
	go func() { _ = srv.Run(context.Background()) }()
	base := fmt.Sprintf("https://%s", srv.Addr().String())
	webhookURL, webhookCA = base, ca.PEM
	if err := register(env, base, ca.PEM); err != nil {
		return err
	}
	return waitRegistered(env)
}

// register creates the configurations as the chart does (spec 4.2), plus CAPTenantOperations
// (validated since spec 0.8) and CAPApplicationVersions on the mutating side (numeric env
// values, spec 0.2).
func register(env *testenv.Env, base string, caBundle []byte) error {
	rule := func(ops []admissionregistrationv1.OperationType, resources ...string) []admissionregistrationv1.RuleWithOperations {
		return []admissionregistrationv1.RuleWithOperations{{Operations: ops, Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"sme.sap.com"}, APIVersions: []string{"v1alpha1"}, Resources: resources}}}
	}
	all := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete}
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	ctx := context.Background()
	_, err := env.Clientset().AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "capstan"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "validate.capstan.sme.sap.com", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(base + "/validate"), CABundle: caBundle},
			Rules:                   rule(all, "capapplications", "capapplicationversions", "captenants", "captenantoperations", "captenantoutputs", "domains", "clusterdomains"),
			AdmissionReviewVersions: []string{"v1"}, SideEffects: &none, FailurePolicy: &fail, TimeoutSeconds: ptr.To[int32](15),
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	_, err = env.Clientset().AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "capstan"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "mutate.capstan.sme.sap.com", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(base + "/mutate"), CABundle: caBundle},
			Rules:                   rule([]admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}, "capapplications", "capapplicationversions"),
			AdmissionReviewVersions: []string{"v1"}, SideEffects: &none, FailurePolicy: &fail, TimeoutSeconds: ptr.To[int32](15),
		}},
	}, metav1.CreateOptions{})
	return err
}

// waitRegistered polls until the API server enforces both webhooks (it picks up new
// configurations asynchronously): a dry-run tenant without application must be denied by the
// validating webhook and a dry-run version with a numeric env value by the mutating one.
func waitRegistered(env *testenv.Env) error {
	tenant := mustObject(`{"apiVersion":"sme.sap.com/v1alpha1","kind":"CAPTenant","metadata":{"name":"probe","namespace":"default"},
		"spec":{"capApplicationInstance":"none","subDomain":"s","tenantId":"t"}}`)
	cav := mustObject(`{"apiVersion":"sme.sap.com/v1alpha1","kind":"CAPApplicationVersion","metadata":{"name":"probe","namespace":"default"},
		"spec":{"capApplicationInstance":"none","version":"1","workloads":[{"name":"a","consumedBTPServices":[],"deploymentDefinition":{"type":"CAP","image":"i","env":[{"name":"N","value":1}]}}]}}`)
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	return testenv.Poll(30*time.Second, func() (bool, error) {
		_, terr := env.Dynamic().Resource(gvr("captenants")).Namespace("default").Create(context.Background(), tenant, dry)
		_, cerr := env.Dynamic().Resource(gvr("capapplicationversions")).Namespace("default").Create(context.Background(), cav, dry)
		ok := terr != nil && strings.Contains(terr.Error(), "invalidated from webhook") &&
			cerr != nil && strings.Contains(cerr.Error(), "invalidated from webhook")
		return ok, fmt.Errorf("tenant: %v; version: %v", terr, cerr)
	})
}

// gvr returns the resource of the sme.sap.com API.
func gvr(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "sme.sap.com", Version: "v1alpha1", Resource: resource}
}

// resources maps kinds to resources.
var resources = map[string]string{
	"CAPApplication": "capapplications", "CAPApplicationVersion": "capapplicationversions", "CAPTenant": "captenants",
	"CAPTenantOperation": "captenantoperations", "CAPTenantOutput": "captenantoutputs", "Domain": "domains", "ClusterDomain": "clusterdomains",
}

func mustObject(s string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(s), &obj.Object); err != nil {
		panic(err)
	}
	return obj
}

// example loads the single object of a published example into namespace ns. Host names and
// cluster-scoped names get the namespace as a suffix or prefix: the webhook denies one host
// for two domains, and several tests share the control plane.
func example(t *testing.T, path, ns string) *unstructured.Unstructured {
	t.Helper()
	docs := examples.Documents(examples.MustRead(path))
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(docs[len(docs)-1], &obj.Object); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	if obj.GetAPIVersion() == "" {
		obj.SetAPIVersion("sme.sap.com/v1alpha1")
	}
	localize(obj, ns)
	return obj
}

// localize moves obj into ns and makes its cluster-wide identities unique to ns.
func localize(obj *unstructured.Unstructured, ns string) {
	switch obj.GetKind() {
	case "ClusterDomain":
		obj.SetNamespace("")
		obj.SetName(obj.GetName() + "-" + ns)
	default:
		obj.SetNamespace(ns)
	}
	if host, ok, _ := unstructured.NestedString(obj.Object, "spec", "domain"); ok {
		_ = unstructured.SetNestedField(obj.Object, ns+"."+host, "spec", "domain")
	}
	refs, _, _ := unstructured.NestedSlice(obj.Object, "spec", "domainRefs")
	for _, r := range refs {
		if ref, ok := r.(map[string]any); ok && ref["kind"] == "ClusterDomain" {
			ref["name"] = fmt.Sprint(ref["name"]) + "-" + ns
		}
	}
	if len(refs) > 0 {
		_ = unstructured.SetNestedSlice(obj.Object, refs, "spec", "domainRefs")
	}
}

// warnings collects the warnings the API server returns.
type warnings struct {
	mu   sync.Mutex
	list []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// joined returns all warnings, one a line.
func (w *warnings) joined() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.list, "\n")
}

// create creates obj with the given field validation ("" for the server default), returning
// the stored object, the warnings and the error.
func create(t *testing.T, env *testenv.Env, obj *unstructured.Unstructured, fieldValidation string) (*unstructured.Unstructured, *warnings, error) {
	t.Helper()
	w := &warnings{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = w
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	created, err := client.Resource(gvr(resources[obj.GetKind()])).Namespace(obj.GetNamespace()).Create(context.Background(), obj,
		metav1.CreateOptions{FieldValidation: fieldValidation})
	return created, w, err
}

// mustCreate creates obj and fails the test on error.
func mustCreate(t *testing.T, env *testenv.Env, obj *unstructured.Unstructured) (*unstructured.Unstructured, *warnings) {
	t.Helper()
	created, w, err := create(t, env, obj, metav1.FieldValidationStrict)
	if err != nil {
		t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	return created, w
}

// writeManifest writes objs as a multi-document YAML file for kubectl and returns its path.
func writeManifest(t *testing.T, objs ...*unstructured.Unstructured) string {
	t.Helper()
	var parts []string
	for _, obj := range objs {
		data, err := yaml.Marshal(obj.Object)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(data))
	}
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(parts, "---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// requireContains fails the test unless s contains every want.
func requireContains(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

// postReview posts an AdmissionReview to the webhook server directly, as any client that
// reaches its port can, and returns the answer.
func postReview(t *testing.T, path string, review admissionv1.AdmissionReview) admissionv1.AdmissionReview {
	t.Helper()
	body, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(webhookCA)
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Post(webhookURL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decoding the answer (HTTP %d): %v", resp.StatusCode, err)
	}
	return out
}

// startApplicationController runs the CAPApplication controller in the test process until
// the test ends; its writes go through the webhooks.
func startApplicationController(t *testing.T, env *testenv.Env, operatorNamespace string) {
	t.Helper()
	controllertest.Start(t, env.Config, controllertest.DefaultOptions(operatorNamespace),
		func(c *controller.Context) (controller.Runnable, error) { return capapplication.NewController(c) })
}
