package children

import (
	"context"
	"fmt"
	"testing"

	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/controller/serviceexposure"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// idle is a Runnable that only keeps its constructor's informers requested.
type idle struct{}

// Run blocks until ctx ends.
func (idle) Run(ctx context.Context, _ int) error { <-ctx.Done(); return nil }

// exposuresYAML exposes the version's server on the subdomain api.
const exposuresYAML = `
- subDomain: api
  routes:
  - workloadName: server
    port: 4004
`

// checkExposureDrift runs the drift case of the exposure VirtualService of ca, which the
// CAPApplication controller keeps through the serviceexposure reconciler when the
// VirtualService's events enqueue the application: here the test calls the reconciler after
// each hand change, as the controller would. A second reconcile without drift writes nothing.
func checkExposureDrift(t *testing.T, cctx *controller.Context, exposures *serviceexposure.Reconciler, ca *v1alpha1.CAPApplication, opNs string) {
	t.Helper()
	ctx := context.Background()
	cav := &v1alpha1.CAPApplicationVersion{}
	must(t, yaml.UnmarshalStrict(fmt.Appendf(nil, versionYAML, ca.Namespace), cav))
	must(t, yaml.UnmarshalStrict([]byte(exposuresYAML), &cav.Spec.ServiceExposures))
	sme := cctx.SMEInformers.Sme().V1alpha1()
	var domains []domainref.DomainInfo
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		var err error
		if domains, err = domainref.Resolve(ca, sme.Domains().Lister(), sme.ClusterDomains().Lister(), opNs); err != nil {
			return false, err
		}
		if !exposures.Synced() {
			return false, fmt.Errorf("the VirtualService cache has not synced")
		}
		return true, nil
	})
	reconcile := func() error { return exposures.Reconcile(ctx, ca, cav, domains) }
	must(t, reconcile())
	vs := child{istionetworkingv1.SchemeGroupVersion.WithResource("virtualservices"), ca.Namespace,
		v1alpha1.LabelOwnerIdentifierHash + "=" + serviceexposure.OwnerHash(ca), ""}
	checkDrift(t, driftCase{child: vs, sync: reconcile,
		edit: func(s map[string]any) { s["gateways"] = []any{ca.Namespace + "/hand-edited"} }})

	before := vs.wait(t, "present", nil, func(*unstructured.Unstructured) bool { return true })
	must(t, reconcile())
	after := vs.wait(t, "present", nil, func(*unstructured.Unstructured) bool { return true })
	if after.GetResourceVersion() != before.GetResourceVersion() {
		t.Errorf("a reconcile without drift rewrote %s", after.GetName())
	}
}
