package faults

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/internal/webhook/webhooktest"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

// webhook is the webhook binary serving on a fixed loopback port, so that it can be stopped
// and started again behind the same registration.
type webhook struct {
	f                  *fixture
	port               int
	certFile, keyFile  string
	p                  *framework.Process
	configurationName  string
	registeredCABundle []byte
}

// TestWebhookOutage takes the webhook down (-webhook-outage) while tenants are provisioned.
// The registration's failurePolicy is Fail, as the chart's: while the webhook is down the
// API server refuses every write of sme.sap.com objects, the controller's included (it
// creates the CAPTenantOperations). Tenants whose operations exist go on (Jobs and status
// do not pass the webhook); the others stall. Nothing is lost: once the webhook is back,
// reconciliation resumes without a restart and every tenant ends Ready, each provisioned
// once.
func TestWebhookOutage(t *testing.T) {
	f := newFixture(t)
	wh := f.startWebhook()
	ctl := f.startController()
	f.readyApp()
	base := f.progress()
	n := max(*tenantsFlag/4, 10)
	f.createTenants("early", n/2)
	f.waitProgress(base+n/4, timeout)
	// The late tenants are created while the controller is stopped, so that the outage
	// begins before it could create their operations; it runs through the outage.
	ctl.Stop(t)
	late := f.createTenants("late", n/2)
	wh.p.Stop(t)
	f.startController()
	at := f.progress() - base

	// Throughout the outage writes are refused: the outage is real.
	deadline := time.Now().Add(*outageFlag)
	refused := 0
	for time.Now().Before(deadline) {
		err := f.createTenant(fmt.Sprintf("outage-%d", refused))
		if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
			t.Fatalf("creating a tenant while the webhook is down: %v, want a webhook failure", err)
		}
		refused++
		select {
		case <-time.After(time.Second):
		case <-t.Context().Done():
			return
		}
	}
	stalled := 0
	for _, name := range late {
		if obj, ok, _ := f.tenants.GetByKey(f.ns + "/" + name); ok && obj.(*v1alpha1.CAPTenant).Status.State != v1alpha1.CAPTenantStateReady {
			stalled++
		}
	}
	t.Logf("webhook down for %s from progress %d of %d (%d creations refused); at its end progress %d, %d of %d late tenants not Ready",
		*outageFlag, at, 2*n, refused, f.progress()-base, stalled, len(late))
	if stalled == 0 {
		t.Error("the outage did not hold up any tenant; the test proves nothing")
	}

	wh.start()
	recovered := time.Now()
	f.createTenants("after", n/4)
	f.waitReady(timeout)
	t.Logf("all tenants Ready %s after the webhook came back", time.Since(recovered).Round(100*time.Millisecond))
	f.checkProvisionedOnce()
}

// startWebhook writes a CA and serving certificate, runs the webhook binary with its
// ServiceAccount's token and registers it, as the chart does, for the namespace's objects.
func (f *fixture) startWebhook() *webhook {
	f.t.Helper()
	ca, err := webhooktest.NewCA()
	if err != nil {
		f.t.Fatal(err)
	}
	wh := &webhook{f: f, port: freePort(f.t), configurationName: "faults-" + f.ns, registeredCABundle: ca.PEM}
	if wh.certFile, wh.keyFile, err = ca.WriteServingCert(f.t.TempDir(), 1); err != nil {
		f.t.Fatal(err)
	}
	wh.start()
	wh.register()
	return wh
}

// start runs the webhook binary and waits until the API server reaches it (after the
// registration: see register).
func (wh *webhook) start() {
	wh.f.t.Helper()
	wh.p = framework.StartAs(wh.f.t, wh.f.env, wh.f.ids["web-hooks"], "web-hooks", []string{
		"--bind-address=127.0.0.1", "--port=" + strconv.Itoa(wh.port), "--metrics-bind-address=127.0.0.1:0",
		"--tls-cert-file=" + wh.certFile, "--tls-key-file=" + wh.keyFile,
	})
	if wh.registered() {
		wh.waitCalled()
	}
}

// registered reports whether the configurations exist.
func (wh *webhook) registered() bool {
	_, err := wh.f.env.Clientset().AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(context.Background(), wh.configurationName, metav1.GetOptions{})
	return err == nil
}

// register creates the Validating- and MutatingWebhookConfiguration with the chart's rules
// and failurePolicy, pointing at the local server by URL and limited to the fixture's
// namespace (cluster-scoped ClusterDomains always match), and removes them after the test.
func (wh *webhook) register() {
	f := wh.f
	f.t.Helper()
	ctx := context.Background()
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	rules := func(ops []admissionregistrationv1.OperationType, resources ...string) []admissionregistrationv1.RuleWithOperations {
		return []admissionregistrationv1.RuleWithOperations{{Operations: ops, Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"sme.sap.com"}, APIVersions: []string{"v1alpha1"}, Resources: resources}}}
	}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: f.ns}}
	url := fmt.Sprintf("https://127.0.0.1:%d", wh.port)
	client := f.env.Clientset().AdmissionregistrationV1()
	if _, err := client.ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: wh.configurationName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "cap-operator.sme.sap.com",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url + "/validate"), CABundle: wh.registeredCABundle},
			Rules: rules(append(ops, admissionregistrationv1.Delete), "capapplications", "capapplicationversions",
				"captenants", "captenantoperations", "captenantoutputs", "domains", "clusterdomains"),
			NamespaceSelector: selector, AdmissionReviewVersions: []string{"v1"}, SideEffects: &none,
			FailurePolicy: &fail, TimeoutSeconds: ptr.To[int32](10),
		}},
	}, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		_ = client.ValidatingWebhookConfigurations().Delete(context.Background(), wh.configurationName, metav1.DeleteOptions{})
	})
	if _, err := client.MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: wh.configurationName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "cap-operator.sme.sap.com",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url + "/mutate"), CABundle: wh.registeredCABundle},
			Rules:                   rules(ops, "capapplications", "capapplicationversions"),
			NamespaceSelector:       selector,
			AdmissionReviewVersions: []string{"v1"}, SideEffects: &none, FailurePolicy: &fail,
			TimeoutSeconds: ptr.To[int32](10), ReinvocationPolicy: ptr.To(admissionregistrationv1.NeverReinvocationPolicy),
		}},
	}, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		_ = client.MutatingWebhookConfigurations().Delete(context.Background(), wh.configurationName, metav1.DeleteOptions{})
	})
	wh.waitCalled()
}

// waitCalled waits until the API server calls the validating webhook: a dry-run tenant of an
// application that does not exist is denied by it.
func (wh *webhook) waitCalled() {
	f := wh.f
	f.t.Helper()
	probe := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: f.ns},
		Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: "no-such-app",
			BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "probe", TenantId: "probe"}},
	}
	testenv.Eventually(f.t, timeout, func() (bool, error) {
		_, err := f.sme.SmeV1alpha1().CAPTenants(f.ns).Create(context.Background(), probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), "denied the request"), fmt.Errorf("probe: %v", err)
	})
}
