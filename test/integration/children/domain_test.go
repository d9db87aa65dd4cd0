package children

import (
	"context"
	"fmt"
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	gardenercertv1alpha1 "github.com/gardener/cert-management/pkg/apis/cert/v1alpha1"
	dnsv1alpha1 "github.com/gardener/external-dns-management/pkg/apis/dns/v1alpha1"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/domain"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/internal/controller/serviceexposure"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// domainYAML is the Domain of the test; %[1]s is its namespace, %[2]s the ingress selector
// value.
const domainYAML = `
apiVersion: sme.sap.com/v1alpha1
kind: Domain
metadata:
  name: primary
  namespace: %[1]s
spec:
  domain: %[1]s.drift.example.com
  ingressSelector:
    app: %[2]s
  tlsMode: Simple
  dnsMode: Wildcard
`

// appYAML is an application referencing the Domain, which makes the Domain create a
// NetworkPolicy in the application's namespace.
const appYAML = `
apiVersion: sme.sap.com/v1alpha1
kind: CAPApplication
metadata:
  name: app
  namespace: %[1]s
spec:
  btpAppName: drift
  globalAccountId: global
  providerSubaccountId: provider
  btp:
    services: []
  domainRefs:
  - kind: Domain
    name: primary
`

// TestDomainChildrenDriftCorrected edits and deletes each child of a Ready Domain by hand
// (Gateway, cert-manager Certificate, DNSEntry, NetworkPolicy) and sees it put back, and
// sees a sync without drift write nothing; likewise the exposure VirtualService of an
// application on the Domain.
func TestDomainChildrenDriftCorrected(t *testing.T) {
	env := testenv.Current()
	ns, opNs, ingressNs := env.NewNamespace(t), env.NewNamespace(t), env.NewNamespace(t)
	createIngressPod(t, ingressNs, ns)
	opts := controllertest.DefaultOptions(opNs)
	opts.DNSTarget = "ingress.example.com"
	var exposures *serviceexposure.Reconciler
	cctx, log := startRecorded(t, opts,
		func(c *controller.Context) (controller.Runnable, error) { return domain.NewController(c) },
		func(c *controller.Context) (controller.Runnable, error) {
			exposures = serviceexposure.NewReconciler(c)
			return idle{}, nil
		})
	ctx := context.Background()

	d := &v1alpha1.Domain{}
	must(t, yaml.UnmarshalStrict(fmt.Appendf(nil, domainYAML, ns, "ingress-"+ns), d))
	ca := &v1alpha1.CAPApplication{}
	must(t, yaml.UnmarshalStrict(fmt.Appendf(nil, appYAML, ns), ca))
	ca, err := cctx.Clients.SME.SmeV1alpha1().CAPApplications(ns).Create(ctx, ca, metav1.CreateOptions{})
	must(t, err)
	_, err = cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() { releaseDomain(t, cctx, ns) })
	waitDomainReady(t, cctx, ns, d.Name)

	owner := "sme.sap.com/owner-identifier-hash=" + identity.SHA1("Domain."+ns+".primary")
	tests := map[string]driftCase{
		"Gateway": {child: child{istionetworkingv1.SchemeGroupVersion.WithResource("gateways"), ns, owner, ""},
			edit: func(s map[string]any) { s["selector"] = map[string]any{"app": "hand-edited"} }},
		"Certificate": {child: child{cmv1.SchemeGroupVersion.WithResource("certificates"), ingressNs, owner, ""},
			edit: func(s map[string]any) { s["secretName"] = "hand-edited" }},
		"DNSEntry": {child: child{dnsv1alpha1.SchemeGroupVersion.WithResource("dnsentries"), ns, owner, ""},
			edit: func(s map[string]any) { s["targets"] = []any{"hand-edited.example.com"} }},
		"NetworkPolicy": {child: child{networkingv1.SchemeGroupVersion.WithResource("networkpolicies"), ns, owner, ""},
			edit: func(s map[string]any) { s["policyTypes"] = []any{"Egress"} }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkDrift(t, tc)
			waitDomainReady(t, cctx, ns, d.Name)
		})
	}

	t.Run("VirtualService", func(t *testing.T) { checkExposureDrift(t, cctx, exposures, ca, opNs) })

	t.Run("no write without drift", func(t *testing.T) {
		waitDomainReady(t, cctx, ns, d.Name)
		checkNoWrites(t, cctx, log, "Domain", pokeAnnotation(v1alpha1.SchemeGroupVersion.WithResource("domains"), ns, d.Name),
			"gateways", "certificates", "dnsentries", "networkpolicies", "secrets")
	})
}

// TestGardenerCertificateDriftCorrected does the same for the Gardener Certificate of a
// Domain under CERT_MANAGER=gardener.
func TestGardenerCertificateDriftCorrected(t *testing.T) {
	env := testenv.Current()
	ns, opNs, ingressNs := env.NewNamespace(t), env.NewNamespace(t), env.NewNamespace(t)
	createIngressPod(t, ingressNs, ns)
	opts := controllertest.DefaultOptions(opNs)
	opts.DNSTarget, opts.CertManager = "ingress.example.com", domainrender.CertManagerGardener
	cctx, log := startRecorded(t, opts, func(c *controller.Context) (controller.Runnable, error) { return domain.NewController(c) })
	d := &v1alpha1.Domain{}
	must(t, yaml.UnmarshalStrict(fmt.Appendf(nil, domainYAML, ns, "ingress-"+ns), d))
	_, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(context.Background(), d, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() { releaseDomain(t, cctx, ns) })
	waitDomainReady(t, cctx, ns, d.Name)

	owner := "sme.sap.com/owner-identifier-hash=" + identity.SHA1("Domain."+ns+".primary")
	checkDrift(t, driftCase{child: child{gardenercertv1alpha1.SchemeGroupVersion.WithResource("certificates"), ns, owner, ""},
		edit: func(s map[string]any) { s["dnsNames"] = []any{"hand-edited.example.com"} }})
	waitDomainReady(t, cctx, ns, d.Name)
	checkNoWrites(t, cctx, log, "Domain", pokeAnnotation(v1alpha1.SchemeGroupVersion.WithResource("domains"), ns, d.Name),
		"gateways", "certificates", "dnsentries", "networkpolicies", "secrets")
}

// createIngressPod creates the ingress gateway pod the Domain selects (app=ingress-<app>).
// Without a scheduler the pod is never started; the reconciler only lists it.
func createIngressPod(t *testing.T, ns, app string) {
	t.Helper()
	kube := testenv.Current().Clientset()
	ctx := context.Background()
	// No controller-manager creates the default ServiceAccount, which pod admission requires.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}
	_, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})
	must(t, err)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ingress-0", Labels: map[string]string{"app": "ingress-" + app}},
		Spec: corev1.PodSpec{NodeName: "no-node", Containers: []corev1.Container{{Name: "istio-proxy", Image: "istio/proxyv2"}}}}
	_, err = kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	must(t, err)
}

// waitDomainReady waits until the Domain is Ready, playing cert-manager and the Gardener DNS
// controller meanwhile: it marks the Domain's Certificate and DNSEntries Ready for their
// current generation.
func waitDomainReady(t *testing.T, cctx *controller.Context, ns, name string) {
	t.Helper()
	ctx := context.Background()
	owner := metav1.ListOptions{LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.SHA1("Domain."+ns+"."+name)}
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		if err := controllertest.MarkDomainChildrenReady(ctx, cctx, owner); err != nil {
			return false, err
		}
		d, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionTypeReady)
		if d.Status.State != v1alpha1.DomainStateReady || c == nil || c.ObservedGeneration != d.Generation {
			return false, fmt.Errorf("domain %s/%s: state %q, Ready %+v", ns, name, d.Status.State, c)
		}
		return true, nil
	})
}

// releaseDomain deletes, before the controllers stop, the application and the Domain of ns
// and waits until the controller has released the Domain (a plain control plane never
// finishes deleting a namespace, so it would stay behind).
func releaseDomain(t *testing.T, cctx *controller.Context, ns string) {
	ctx := context.Background()
	sme := cctx.Clients.SME.SmeV1alpha1()
	_ = sme.CAPApplications(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	_ = sme.Domains(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		left, err := sme.Domains(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(left.Items) == 0, err
	})
}
