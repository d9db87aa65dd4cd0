package children

import (
	"context"
	"fmt"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/capapplicationversion"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// versionYAML is a version with one CAP workload whose metrics are scraped, so it has a
// Deployment, a Service, a ServiceMonitor and NetworkPolicies; %[1]s is the namespace.
const versionYAML = `
apiVersion: sme.sap.com/v1alpha1
kind: CAPApplicationVersion
metadata:
  name: v1
  namespace: %[1]s
spec:
  capApplicationInstance: app
  version: "1.0.0"
  workloads:
  - name: server
    consumedBTPServices: []
    deploymentDefinition:
      type: CAP
      image: registry.example.com/server:1.0.0
      ports:
      - name: http
        port: 4004
        appProtocol: http
      - name: metrics
        port: 9000
        appProtocol: http
      monitoring:
        scrapeConfig:
          port: metrics
          path: /metrics
          interval: 30s
`

// TestVersionChildrenDriftCorrected edits and deletes each child of a version by hand
// (Deployment, Service, NetworkPolicy, ServiceMonitor) and sees it put back, and sees a
// sync without drift write nothing.
func TestVersionChildrenDriftCorrected(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	cctx, log := startRecorded(t, controllertest.DefaultOptions(env.NewNamespace(t)), func(c *controller.Context) (controller.Runnable, error) {
		return capapplicationversion.NewController(c)
	})
	ctx := context.Background()
	ca := &v1alpha1.CAPApplication{}
	must(t, yaml.UnmarshalStrict(fmt.Appendf(nil, appYAML, ns), ca))
	ca.Spec.DomainRefs = nil
	ca, err := cctx.Clients.SME.SmeV1alpha1().CAPApplications(ns).Create(ctx, ca, metav1.CreateOptions{})
	must(t, err)
	cav := &v1alpha1.CAPApplicationVersion{}
	must(t, yaml.UnmarshalStrict(fmt.Appendf(nil, versionYAML, ns), cav))
	_, err = cctx.Clients.SME.SmeV1alpha1().CAPApplicationVersions(ns).Create(ctx, cav, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() { releaseVersion(t, cctx, ns) })

	tests := map[string]driftCase{
		"Deployment": {child: child{appsv1.SchemeGroupVersion.WithResource("deployments"), ns, "", "v1-server"},
			edit: func(s map[string]any) {
				containers := s["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
				containers[0].(map[string]any)["image"] = "registry.example.com/hand-edited:1"
			}},
		"Service": {child: child{corev1.SchemeGroupVersion.WithResource("services"), ns, "", "v1-server-svc"},
			edit:      func(s map[string]any) { s["selector"] = map[string]any{"hand": "edited"} },
			allocated: []string{"clusterIP", "clusterIPs"}},
		"NetworkPolicy": {child: child{networkingv1.SchemeGroupVersion.WithResource("networkpolicies"), ns, "", "v1"},
			edit: func(s map[string]any) {
				s["podSelector"] = map[string]any{"matchLabels": map[string]any{"hand": "edited"}}
			}},
		"ServiceMonitor": {child: child{monitoringv1.SchemeGroupVersion.WithResource("servicemonitors"), ns, "", "v1-server-svc"},
			edit: func(s map[string]any) { s["endpoints"].([]any)[0].(map[string]any)["path"] = "/hand-edited" }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { checkDrift(t, tc) })
	}

	t.Run("no write without drift", func(t *testing.T) {
		checkNoWrites(t, cctx, log, capapplicationversion.Kind, pokeAnnotation(v1alpha1.SchemeGroupVersion.WithResource("capapplicationversions"), ns, cav.Name),
			"deployments", "services", "networkpolicies", "servicemonitors", "secrets")
	})
}

// releaseVersion deletes, before the controller stops, the version of ns and waits until
// the controller has released it.
func releaseVersion(t *testing.T, cctx *controller.Context, ns string) {
	ctx := context.Background()
	sme := cctx.Clients.SME.SmeV1alpha1()
	_ = sme.CAPApplicationVersions(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		left, err := sme.CAPApplicationVersions(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(left.Items) == 0, err
	})
	_ = sme.CAPApplications(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
}
