package localenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/webhook/webhooktest"
	"github.com/capstan-io/capstan/test/framework"
)

// startWebhooks writes a throw-away CA (ca.crt) and a serving certificate for 127.0.0.1
// (tls.crt, tls.key) to <Dir>/webhook-certs, runs the webhook server on a free loopback
// port, registers it and waits until the API server calls it.
func (s *Session) startWebhooks(ctx context.Context, bin string) error {
	ca, err := webhooktest.NewCA()
	if err != nil {
		return err
	}
	dir := s.opts.certDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca.PEM, 0o644); err != nil {
		return err
	}
	certFile, keyFile, err := ca.WriteServingCert(dir, 1)
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	p, err := s.run("web-hooks", bin, []string{
		"--bind-address=127.0.0.1",
		"--port=" + strconv.Itoa(port),
		"--metrics-bind-address=127.0.0.1:" + strconv.Itoa(metricsPort),
		"--tls-cert-file=" + certFile,
		"--tls-key-file=" + keyFile,
	}, nil)
	if err != nil {
		return err
	}
	s.Webhooks, s.WebhookURL = p, fmt.Sprintf("https://127.0.0.1:%d", port)
	s.WebhookMetricsURL = fmt.Sprintf("http://127.0.0.1:%d", metricsPort)
	if err := p.waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", metricsPort), readyTimeout); err != nil {
		return err
	}
	if err := s.registerWebhooks(ctx, ca.PEM); err != nil {
		return err
	}
	return s.waitWebhooksCalled(ctx)
}

// smeRules returns one admission rule for sme.sap.com/v1alpha1 resources.
func smeRules(ops []admissionregistrationv1.OperationType, resources ...string) []admissionregistrationv1.RuleWithOperations {
	return []admissionregistrationv1.RuleWithOperations{{Operations: ops, Rule: admissionregistrationv1.Rule{
		APIGroups: []string{"sme.sap.com"}, APIVersions: []string{"v1alpha1"}, Resources: resources}}}
}

// registerWebhooks creates the Validating- and MutatingWebhookConfiguration with the rules of
// the chart (docs/internals/webhooks.md), pointing at the local server by URL.
func (s *Session) registerWebhooks(ctx context.Context, caBundle []byte) error {
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	fail, equivalent := admissionregistrationv1.Fail, admissionregistrationv1.Equivalent
	none := admissionregistrationv1.SideEffectClassNone
	client := s.clients.Kube.AdmissionregistrationV1()
	_, err := client.ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigurationName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "cap-operator.sme.sap.com",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(s.WebhookURL + "/validate"), CABundle: caBundle},
			Rules: smeRules(append(ops, admissionregistrationv1.Delete), "capapplications", "capapplicationversions",
				"captenants", "captenantoperations", "captenantoutputs", "domains", "clusterdomains"),
			AdmissionReviewVersions: []string{"v1"}, SideEffects: &none, FailurePolicy: &fail,
			MatchPolicy: &equivalent, TimeoutSeconds: ptr.To[int32](15),
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("registering the validating webhook: %w", err)
	}
	_, err = client.MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigurationName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "cap-operator.sme.sap.com",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To(s.WebhookURL + "/mutate"), CABundle: caBundle},
			Rules:                   smeRules(ops, "capapplications", "capapplicationversions"),
			AdmissionReviewVersions: []string{"v1"}, SideEffects: &none, FailurePolicy: &fail,
			MatchPolicy: &equivalent, TimeoutSeconds: ptr.To[int32](15),
			ReinvocationPolicy: ptr.To(admissionregistrationv1.NeverReinvocationPolicy),
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("registering the mutating webhook: %w", err)
	}
	return nil
}

// Probes of waitWebhooksCalled: objects of an application that does not exist, which only
// the webhooks deny (the CAPTenant through /validate, the version, whose numeric env value the
// CRD schema would reject first, through /mutate).
const (
	probeTenant = `{"apiVersion":"sme.sap.com/v1alpha1","kind":"CAPTenant","metadata":{"name":"localenv-probe","namespace":"default"},
		"spec":{"capApplicationInstance":"localenv-none","subDomain":"s","tenantId":"t"}}`
	probeVersion = `{"apiVersion":"sme.sap.com/v1alpha1","kind":"CAPApplicationVersion","metadata":{"name":"localenv-probe","namespace":"default"},
		"spec":{"capApplicationInstance":"localenv-none","version":"1","workloads":[{"name":"a","consumedBTPServices":[],
		"deploymentDefinition":{"type":"CAP","image":"i","env":[{"name":"N","value":1}]}}]}}`
)

// waitWebhooksCalled polls with dry-run creations until the API server, which picks up new
// configurations asynchronously, calls both webhooks.
func (s *Session) waitWebhooksCalled(ctx context.Context) error {
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	cfg := rest.CopyConfig(s.Env.Config)
	cfg.WarningHandler = rest.NoWarnings{} // the mutation's warning about the probe's number
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	err = s.poll(ctx, time.Minute, "the API server to call the webhooks", func() (bool, error) {
		var errs [2]error
		for i, doc := range []string{probeTenant, probeVersion} {
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON([]byte(doc)); err != nil {
				return false, err
			}
			resource := framework.Resource(obj.GetKind())
			_, errs[i] = client.Resource(resource).Namespace("default").Create(ctx, obj, dry)
		}
		denied := func(err error) bool { return err != nil && strings.Contains(err.Error(), "invalidated from webhook") }
		return denied(errs[0]) && denied(errs[1]), fmt.Errorf("tenant probe: %v; version probe: %v", errs[0], errs[1])
	})
	if err != nil {
		return err
	}
	s.opts.Logf("webhooks registered at %s (/validate, /mutate)", s.WebhookURL)
	return nil
}
