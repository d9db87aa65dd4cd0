package monitoring

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/server/servertest"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	"github.com/capstan-io/capstan/test/framework"
)

// The identities of the fake SAP services.
const (
	// xsappname is the xsappname of the application's xsuaa binding; tokens name it.
	xsappname = "cap-app-01!t1"
	// saasClientID and saasSecret are the saas-registry binding's client credentials; the
	// fake XSUAA issues callback tokens for them.
	saasClientID, saasSecret = "sb-saas-registry!b12", "saas-secret"
	// callbackPrefix is the SaaS registry's callback path prefix.
	callbackPrefix = "/saas-manager/v1/subscription-callback/"
)

// fakeSAP stands in for the SAP services of a subscription on loopback: XSUAA (token keys
// for the requests' tokens, client-credentials tokens for the callbacks) and the SaaS
// registry's callback endpoint.
type fakeSAP struct {
	xsuaa    *servertest.XSUAA
	receiver *servertest.Receiver
	// caFile holds the PEM of the CA of both servers; the subscription server trusts it
	// through SSL_CERT_FILE.
	caFile string
}

// newFakeSAP starts the fake services.
func newFakeSAP(t *testing.T) *fakeSAP {
	ca := servertest.NewCA(t, pkix.Name{Organization: []string{"SAP SE"}, CommonName: "Test CA"})
	f := &fakeSAP{xsuaa: servertest.NewXSUAA(t, ca), receiver: servertest.NewReceiver(t, ca), caFile: filepath.Join(t.TempDir(), "ca.pem")}
	f.xsuaa.AddClient(saasClientID, saasSecret)
	if err := os.WriteFile(f.caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// bind points the application's xsuaa and saas-registry binding Secrets at the fake
// services. Without callbacks, the saas-registry credentials lack saas_registry_url, as a
// binding of the wrong service plan would: the server then cannot report a subscription's
// outcome and gives up at once.
func (f *fakeSAP) bind(t *testing.T, env *testenv.Env, ca *v1alpha1.CAPApplication, callbacks bool) {
	t.Helper()
	for _, svc := range ca.Spec.BTP.Services {
		var creds map[string]any
		switch svc.Class {
		case "xsuaa":
			creds = map[string]any{"clientid": "sb-" + xsappname, "clientsecret": "uaa-secret", "xsappname": xsappname,
				"url": f.xsuaa.URL, "uaadomain": "localhost", "tenantmode": "shared"}
		case "saas-registry":
			creds = map[string]any{"clientid": saasClientID, "clientsecret": saasSecret, "url": f.xsuaa.URL, "uaadomain": "localhost",
				"xsappname": "cap-app-01!b1", "appUrls": `{"callbackTimeoutMillis":"600000"}`}
			if callbacks {
				creds["saas_registry_url"] = f.receiver.URL
			}
		default:
			continue
		}
		data, err := json.Marshal(creds)
		if err != nil {
			t.Fatal(err)
		}
		secrets := env.Clientset().CoreV1().Secrets(ca.Namespace)
		secret, err := secrets.Get(context.Background(), svc.Secret, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		secret.Data, secret.StringData = map[string][]byte{"credentials": data}, nil
		if _, err := secrets.Update(context.Background(), secret, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// subscribe sends the SaaS registry's subscription request for a consumer tenant with a
// valid token and an asynchronous callback path, and waits until the tenant is Ready.
func (f *fakeSAP) subscribe(t *testing.T, env *testenv.Env, serverAddr string, ca *v1alpha1.CAPApplication, tenantID, callbackPath string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"subscriptionGUID": "guid-" + tenantID, "subscribedTenantId": tenantID, "subscribedSubdomain": tenantID,
		"globalAccountGUID": ca.Spec.GlobalAccountId, "subscriptionAppName": ca.Spec.BTPAppName,
		"eventType": "CREATE", "subscribedZoneId": tenantID,
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, "http://"+serverAddr+"/provision/tenants/"+tenantID, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.xsuaa.Sign(t, servertest.Claims(saasClientID, xsappname), servertest.TokenOptions{}))
	req.Header.Set("STATUS_CALLBACK", callbackPath)
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PUT /provision/tenants/%s: %s %s", tenantID, resp.Status, answer)
	}
	client := versioned.NewForConfigOrDie(env.Config)
	testenv.Eventually(t, timeout, func() (bool, error) {
		cat := framework.TenantByID(t, client, ca.Namespace, tenantID)
		if cat == nil {
			return false, fmt.Errorf("no CAPTenant for tenant %s", tenantID)
		}
		return cat.Status.State == v1alpha1.CAPTenantStateReady, fmt.Errorf("tenant %s is %q: %s", tenantID, cat.Status.State, conditionMessage(cat))
	})
}

// awaitCallback waits until the receiver got the callback of a path and checks that it
// reports success.
func (f *fakeSAP) awaitCallback(t *testing.T, path string) {
	t.Helper()
	testenv.Eventually(t, timeout, func() (bool, error) {
		got := f.receiver.ForPath(path)
		if len(got) == 0 {
			return false, fmt.Errorf("no callback on %s yet", path)
		}
		if status := got[0].Body["status"]; status != "SUCCEEDED" {
			t.Fatalf("callback on %s reports %v, want SUCCEEDED: %+v", path, status, got[0].Body)
		}
		return true, nil
	})
}

// runSubscriptions subscribes two consumer tenants through the server: the first one's
// SUCCEEDED callback is sent; for the second, the saas-registry binding no longer names the
// SaaS registry's URL, so its callback fails.
func runSubscriptions(t *testing.T, env *testenv.Env, sap *fakeSAP, serverAddr string, ca *v1alpha1.CAPApplication) {
	sent := callbackPrefix + "consumer-sent/result"
	sap.subscribe(t, env, serverAddr, ca, "consumer-sent", sent)
	sap.awaitCallback(t, sent)
	sap.bind(t, env, ca, false)
	sap.subscribe(t, env, serverAddr, ca, "consumer-failed", callbackPrefix+"consumer-failed/result")
}

// blockWorkloads registers, for namespace ns only, a validating webhook of another product
// (a policy engine) whose service is down, with failurePolicy Fail, as a cluster's admission
// policies sometimes are: the API server refuses every Deployment and Job created there with
// an internal error, and the controller's reconciliation of a version in ns keeps failing.
func blockWorkloads(t *testing.T, env *testenv.Env, ns string) {
	t.Helper()
	scope := admissionregistrationv1.NamespacedScope
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "policy-engine-" + ns},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "workloads.policy.example.com",
			// Nothing listens on a freed loopback port: every call is refused.
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://" + freeAddr(t) + "/validate")},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps", "batch"}, APIVersions: []string{"v1"},
					Resources: []string{"deployments", "jobs"}, Scope: &scope},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](2),
		}},
	}
	webhooks := env.Clientset().AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := webhooks.Create(context.Background(), cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = webhooks.Delete(context.Background(), cfg.Name, metav1.DeleteOptions{}) })
}

// runBlockedVersion creates a services-only application and its version in a namespace of
// their own whose workloads the API server refuses (blockWorkloads): the version's
// reconciliation fails and is retried with backoff, counted in cap_op_reconcile_errors.
func runBlockedVersion(t *testing.T, env *testenv.Env) {
	ns := env.NewNamespace(t)
	blockWorkloads(t, env, ns)
	framework.ServicesOnlyApp(t, env, ns)
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "services-only/cav.yaml", ns, cav)
	if _, err := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1().CAPApplicationVersions(ns).Create(context.Background(), cav, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
