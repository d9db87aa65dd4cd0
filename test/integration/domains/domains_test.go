package domains

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/domainsync"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ownerList selects the children of a domain owner identifier.
func ownerList(ownerID string) metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{v1alpha1.LabelOwnerIdentifierHash: identity.SHA1(ownerID)}).String()}
}

// TestClusterDomainMutualTLS applies the Mutual TLS example: its Gateway, Certificate and
// additional-CA Secret are named and placed as the specification says, it becomes Ready
// once the Certificate is, the CA Secret follows the spec, and deletion cleans up.
func TestClusterDomainMutualTLS(t *testing.T) {
	env := testenv.Current()
	ensureIngressGateway(t)
	opNs := env.NewNamespace(t)
	cctx := startControllers(t, controllertest.DefaultOptions(opNs))
	ctx := context.Background()
	cd := exampleDocs(t, "domains/clusterdomain-mutual-tls.yaml")[0].(*v1alpha1.ClusterDomain)
	cleanupDomains(t, cctx, opNs, cd.Name)
	_, err := cctx.Clients.SME.SmeV1alpha1().ClusterDomains().Create(ctx, cd, metav1.CreateOptions{})
	must(t, err)
	st := waitReady(t, cctx, "", cd.Name)

	cred := opNs + "--cap-example-domain-cert-manager"
	gw, err := cctx.Clients.Istio.NetworkingV1().Gateways(opNs).Get(ctx, st.GatewayName, metav1.GetOptions{})
	must(t, err)
	server := gw.Spec.Servers[0]
	if !reflect.DeepEqual(server.Hosts, []string{"*/*.myapp.example.com"}) || server.Tls.Mode.String() != "MUTUAL" ||
		server.Tls.CredentialName != cred || server.Port.Number != 443 || !reflect.DeepEqual(gw.Spec.Selector, exampleSelector) {
		t.Errorf("gateway spec: %v", gw.Spec.String())
	}
	cert, err := cctx.Clients.CertManager.CertmanagerV1().Certificates(ingressNamespace).Get(ctx, opNs+"--cap-example-domain", metav1.GetOptions{})
	must(t, err)
	if cert.Spec.SecretName != cred || !reflect.DeepEqual(cert.Spec.DNSNames, []string{"*.myapp.example.com"}) ||
		cert.Spec.IssuerRef.Name != "cluster-ca" || cert.Spec.IssuerRef.Kind != "ClusterIssuer" || !slices.Contains(cert.Finalizers, v1alpha1.FinalizerDomain) {
		t.Errorf("certificate: %+v finalizers %v", cert.Spec, cert.Finalizers)
	}
	secret, err := env.Clientset().CoreV1().Secrets(ingressNamespace).Get(ctx, cred+"-cacert", metav1.GetOptions{})
	must(t, err)
	if string(secret.Data["ca.crt"]) != cd.Spec.CertConfig.AdditionalCACertificate {
		t.Errorf("ca.crt differs from the additional CA")
	}
	if st.DNSTarget != ingressTarget || st.ObservedDomain != "myapp.example.com" {
		t.Errorf("status: %+v", st)
	}

	// Dropping the additional CA removes its Secret.
	stored, err := cctx.Clients.SME.SmeV1alpha1().ClusterDomains().Get(ctx, cd.Name, metav1.GetOptions{})
	must(t, err)
	stored.Spec.CertConfig = nil
	_, err = cctx.Clients.SME.SmeV1alpha1().ClusterDomains().Update(ctx, stored, metav1.UpdateOptions{})
	must(t, err)
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		_, err := env.Clientset().CoreV1().Secrets(ingressNamespace).Get(ctx, cred+"-cacert", metav1.GetOptions{})
		return errors.IsNotFound(err), err
	})

	// Deleting the unreferenced domain removes the finalized Certificate and the domain.
	must(t, cctx.Clients.SME.SmeV1alpha1().ClusterDomains().Delete(ctx, cd.Name, metav1.DeleteOptions{}))
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		_, err := cctx.Clients.CertManager.CertmanagerV1().Certificates(ingressNamespace).Get(ctx, cert.Name, metav1.GetOptions{})
		_, err2 := cctx.Clients.SME.SmeV1alpha1().ClusterDomains().Get(ctx, cd.Name, metav1.GetOptions{})
		return errors.IsNotFound(err) && errors.IsNotFound(err2), fmt.Errorf("certificate: %v, domain: %v", err, err2)
	})
}

// createApp creates the services-only example application in ns (optionally with other
// domain references) and records observed subdomains in its status, as the CAPApplication
// controller would.
func createApp(t *testing.T, cctx *controller.Context, ns string, refs []v1alpha1.DomainRef, subdomains ...string) *v1alpha1.CAPApplication {
	t.Helper()
	ctx := context.Background()
	ca := exampleDocs(t, "services-only/capapplication.yaml")[0].(*v1alpha1.CAPApplication)
	ca.Namespace = ns
	if refs != nil {
		ca.Spec.DomainRefs = refs
	}
	created, err := cctx.Clients.SME.SmeV1alpha1().CAPApplications(ns).Create(ctx, ca, metav1.CreateOptions{})
	must(t, err)
	created.Status.State = "Consistent"
	created.Status.ObservedSubdomains = subdomains
	updated, err := cctx.Clients.SME.SmeV1alpha1().CAPApplications(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	must(t, err)
	return updated
}

// dnsEntries returns "<dnsName> -> <target>" of a domain's DNSEntries in ns, sorted.
func dnsEntries(cctx *controller.Context, ns, ownerID string) ([]string, error) {
	list, err := cctx.Clients.GardenerDNS.DnsV1alpha1().DNSEntries(ns).List(context.Background(), ownerList(ownerID))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range list.Items {
		if e.DeletionTimestamp == nil {
			out = append(out, fmt.Sprintf("%s -> %v ttl=%d cname=%d class=%s", e.Spec.DNSName, e.Spec.Targets, *e.Spec.TTL,
				*e.Spec.CNameLookupInterval, e.Annotations[v1alpha1.AnnotationGardenerDNSClass]))
		}
	}
	slices.Sort(out)
	return out, nil
}

// waitDNSEntries waits until a domain's DNSEntries are exactly want.
func waitDNSEntries(t *testing.T, cctx *controller.Context, ns, ownerID string, want ...string) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		got, err := dnsEntries(cctx, ns, ownerID)
		if err != nil {
			return false, err
		}
		return slices.Equal(got, want), fmt.Errorf("DNS entries %v, want %v", got, want)
	})
}

// entry formats an expected DNS entry.
func entry(name, target string) string {
	return fmt.Sprintf("%s -> [%s] ttl=600 cname=30 class=garden", name, target)
}

// TestDomainCustomDNS applies the Custom DNS example with an application using two
// subdomains: the templates expand per subdomain, a removed subdomain's entries go, and the
// domain cannot be deleted while the application references it.
func TestDomainCustomDNS(t *testing.T) {
	env := testenv.Current()
	ensureIngressGateway(t)
	ns, opNs := env.NewNamespace(t), env.NewNamespace(t)
	cctx := startControllers(t, controllertest.DefaultOptions(opNs))
	cleanupDomains(t, cctx, ns)
	ctx := context.Background()
	d := exampleDocs(t, "domains/domain-custom-dns.yaml")[0].(*v1alpha1.Domain)
	d.Namespace = ns
	ca := createApp(t, cctx, ns, nil, "api", "service")
	_, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)
	waitReady(t, cctx, ns, d.Name)
	ownerID := "Domain." + ns + "." + d.Name
	waitDNSEntries(t, cctx, ns, ownerID,
		entry("*.my.cluster.shoot.url.k8s.example.com", ingressTarget),
		entry("api.my.cluster.shoot.url.k8s.example.com", ingressTarget),
		entry("api.myapp.com", "api.my.cluster.shoot.url.k8s.example.com"),
		entry("service.my.cluster.shoot.url.k8s.example.com", ingressTarget),
		entry("service.myapp.com", "service.my.cluster.shoot.url.k8s.example.com"))
	nps, err := env.Clientset().NetworkingV1().NetworkPolicies(ns).List(ctx, ownerList(ownerID))
	must(t, err)
	if len(nps.Items) != 1 || !reflect.DeepEqual(nps.Items[0].Spec.Ingress[0].From[0].PodSelector.MatchLabels, exampleSelector) ||
		nps.Items[0].Spec.PodSelector.MatchLabels[v1alpha1.LabelExposedWorkload] != "true" {
		t.Errorf("network policies: %+v", nps.Items)
	}

	// The application stops using "service": its entries are removed.
	ca.Status.ObservedSubdomains = []string{"api"}
	ca, err = cctx.Clients.SME.SmeV1alpha1().CAPApplications(ns).UpdateStatus(ctx, ca, metav1.UpdateOptions{})
	must(t, err)
	waitDNSEntries(t, cctx, ns, ownerID,
		entry("*.my.cluster.shoot.url.k8s.example.com", ingressTarget),
		entry("api.my.cluster.shoot.url.k8s.example.com", ingressTarget),
		entry("api.myapp.com", "api.my.cluster.shoot.url.k8s.example.com"))

	// Deleting the referenced domain is blocked, with the reason in an event.
	must(t, cctx.Clients.SME.SmeV1alpha1().Domains(ns).Delete(ctx, d.Name, metav1.DeleteOptions{}))
	waitForState(t, cctx, ns, d.Name, v1alpha1.DomainStateDeleting, "Ready", false)
	waitEvent(t, ns, d.Name, domainsync.ReasonDeletionBlocked, "referenced by CAPApplication "+ns+"/"+ca.Name)
	// The application goes: the deletion completes.
	must(t, cctx.Clients.SME.SmeV1alpha1().CAPApplications(ns).Delete(ctx, ca.Name, metav1.DeleteOptions{}))
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		_, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Get(ctx, d.Name, metav1.GetOptions{})
		return errors.IsNotFound(err), err
	})
}

// waitEvent waits for an events.k8s.io event about an object with the reason and a note
// containing note.
func waitEvent(t *testing.T, ns, name, reason, note string) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		list, err := testenv.Current().Clientset().EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.Name == name && e.Reason == reason && strings.Contains(e.Note, note) {
				return true, nil
			}
			seen = append(seen, e.Reason+": "+e.Note)
		}
		return false, fmt.Errorf("no %s event with %q among %v", reason, note, seen)
	})
}
