package domains

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/controller/serviceexposure"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// idle is a Runnable that only keeps its constructor's informers requested.
type idle struct{}

// Run blocks until ctx ends.
func (idle) Run(ctx context.Context, _ int) error { <-ctx.Done(); return nil }

// TestServicesOnlyExample applies the Domain and ClusterDomain of
// domains/clusterdomain-subdomain.yaml and the services-only application, then exposes the
// version's services the way the CAPApplication controller does: the domains reach Ready
// with their DNS entries and NetworkPolicies, and the VirtualServices route as documented.
func TestServicesOnlyExample(t *testing.T) {
	env := testenv.Current()
	ensureIngressGateway(t)
	ns, opNs := env.NewNamespace(t), env.NewNamespace(t)
	var exposures *serviceexposure.Reconciler
	cctx := startControllers(t, controllertest.DefaultOptions(opNs), func(c *controller.Context) (controller.Runnable, error) {
		exposures = serviceexposure.NewReconciler(c)
		return idle{}, nil
	})
	ctx := context.Background()
	docs := exampleDocs(t, "domains/clusterdomain-subdomain.yaml")
	d, cd := docs[0].(*v1alpha1.Domain), docs[1].(*v1alpha1.ClusterDomain)
	cleanupDomains(t, cctx, ns, cd.Name)
	d.Namespace = ns
	ca := createApp(t, cctx, ns, nil, "api", "service")
	cav := exampleDocs(t, "services-only/cav.yaml")[0].(*v1alpha1.CAPApplicationVersion)
	cav.Namespace = ns
	cav, err := cctx.Clients.SME.SmeV1alpha1().CAPApplicationVersions(ns).Create(ctx, cav, metav1.CreateOptions{})
	must(t, err)
	_, err = cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)
	_, err = cctx.Clients.SME.SmeV1alpha1().ClusterDomains().Create(ctx, cd, metav1.CreateOptions{})
	must(t, err)
	dst := waitReady(t, cctx, ns, d.Name)
	cdst := waitReady(t, cctx, "", cd.Name)

	waitDNSEntries(t, cctx, ns, "Domain."+ns+"."+d.Name, entry("*.my.cluster.shoot.url.k8s.example.com", ingressTarget))
	waitDNSEntries(t, cctx, opNs, "ClusterDomain."+cd.Name, entry("api.my.example.com", ingressTarget), entry("service.my.example.com", ingressTarget))
	for _, owner := range []string{"Domain." + ns + "." + d.Name, "ClusterDomain." + cd.Name} {
		nps, err := env.Clientset().NetworkingV1().NetworkPolicies(ns).List(ctx, ownerList(owner))
		must(t, err)
		if len(nps.Items) != 1 {
			t.Errorf("%s: %d network policies in the app namespace, want 1", owner, len(nps.Items))
		}
	}

	// Resolve the references as the CAPApplication controller does, through the listers.
	sme := cctx.SMEInformers.Sme().V1alpha1()
	var domains []domainref.DomainInfo
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		domains, err = domainref.Resolve(ca, sme.Domains().Lister(), sme.ClusterDomains().Lister(), opNs)
		return err == nil && exposures.Synced(), err
	})
	must(t, exposures.Reconcile(ctx, ca, cav, domains))
	gateways := []string{ns + "/" + dst.GatewayName, opNs + "/" + cdst.GatewayName}
	want := map[string]string{
		"service": fmt.Sprintf("hosts=[service.my.cluster.shoot.url.k8s.example.com service.my.example.com] gateways=%v routes=[/ -> cav-ca-app-01-1-cap-backend-service-svc.%s.svc.cluster.local:4004]", gateways, ns),
		"api":     fmt.Sprintf("hosts=[api.my.cluster.shoot.url.k8s.example.com api.my.example.com] gateways=%v routes=[/api/v2 -> cav-ca-app-01-1-api-svc.%[2]s.svc.cluster.local:8000 /api -> cav-ca-app-01-1-api-svc.%[2]s.svc.cluster.local:8001]", gateways, ns),
	}
	vss := checkVirtualServices(t, cctx, ca, want)

	// A second pass changes nothing.
	must(t, exposures.Reconcile(ctx, ca, cav, domains))
	again := checkVirtualServices(t, cctx, ca, want)
	for sub, vs := range vss {
		if again[sub].ResourceVersion != vs.ResourceVersion {
			t.Errorf("%s was rewritten without a change", sub)
		}
	}
	// A version without the "api" exposure removes its VirtualService.
	cav.Spec.ServiceExposures = cav.Spec.ServiceExposures[:1]
	must(t, exposures.Reconcile(ctx, ca, cav, domains))
	delete(want, "api")
	checkVirtualServices(t, cctx, ca, want)
}

// checkVirtualServices compares the application's exposure VirtualServices, summarised per
// subdomain, with want, and returns them by subdomain.
func checkVirtualServices(t *testing.T, cctx *controller.Context, ca *v1alpha1.CAPApplication, want map[string]string) map[string]*istionetworkingv1.VirtualService {
	t.Helper()
	sel := labels.SelectorFromSet(labels.Set{v1alpha1.LabelOwnerIdentifierHash: serviceexposure.OwnerHash(ca)})
	list, err := cctx.Clients.Istio.NetworkingV1().VirtualServices(ca.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: sel.String()})
	must(t, err)
	got := map[string]string{}
	bySub := map[string]*istionetworkingv1.VirtualService{}
	for _, vs := range list.Items {
		var routes []string
		for _, r := range vs.Spec.Http {
			dest := r.Route[0].Destination
			routes = append(routes, fmt.Sprintf("%s -> %s:%d", r.Match[0].Uri.GetPrefix(), dest.Host, dest.Port.Number))
		}
		sub := vs.Spec.Hosts[0][:slices.Index([]byte(vs.Spec.Hosts[0]), '.')]
		got[sub] = fmt.Sprintf("hosts=%v gateways=%v routes=%v", vs.Spec.Hosts, vs.Spec.Gateways, routes)
		bySub[sub] = vs
		if ref := metav1.GetControllerOf(vs); ref == nil || ref.UID != ca.UID || vs.GenerateName != ca.Name {
			t.Errorf("%s: owner %v, generateName %q", vs.Name, ref, vs.GenerateName)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("virtual services:\n got %v\nwant %v", got, want)
	}
	return bySub
}
