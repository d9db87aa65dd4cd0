package domains

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/internal/controller/domainsync"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// newDomain returns a Domain of the examples' ingress gateway with the given host.
func newDomain(ns, name, host string) *v1alpha1.Domain {
	return &v1alpha1.Domain{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.DomainSpec{Domain: host, IngressSelector: exampleSelector,
			TLSMode: v1alpha1.TLSModeSimple, DNSMode: v1alpha1.DNSModeWildcard},
	}
}

// TestDuplicateDomainHost checks that a Domain and a ClusterDomain with the same host both
// report the other (kind, namespace and name), and that removing one heals the other.
func TestDuplicateDomainHost(t *testing.T) {
	env := testenv.Current()
	ensureIngressGateway(t)
	ns, opNs := env.NewNamespace(t), env.NewNamespace(t)
	cctx := startControllers(t, controllertest.DefaultOptions(opNs))
	cdName := "dup-" + ns
	cleanupDomains(t, cctx, ns, cdName)
	ctx := context.Background()
	host := "dup.example.com"
	_, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(ctx, newDomain(ns, "dup", host), metav1.CreateOptions{})
	must(t, err)
	waitReady(t, cctx, ns, "dup")
	cd := &v1alpha1.ClusterDomain{ObjectMeta: metav1.ObjectMeta{Name: cdName}, Spec: newDomain("", "", host).Spec}
	_, err = cctx.Clients.SME.SmeV1alpha1().ClusterDomains().Create(ctx, cd, metav1.CreateOptions{})
	must(t, err)
	waitForState(t, cctx, "", cdName, v1alpha1.DomainStateError, domainsync.ReasonDuplicateDomainHost, false,
		`domain "dup.example.com" of ClusterDomain `+cdName+" is also used by Domain "+ns+"/dup")
	waitForState(t, cctx, ns, "dup", v1alpha1.DomainStateError, domainsync.ReasonDuplicateDomainHost, false,
		"is also used by ClusterDomain "+cdName)
	waitEvent(t, ns, "dup", domainsync.ReasonDuplicateDomainHost, "ClusterDomain "+cdName)

	must(t, cctx.Clients.SME.SmeV1alpha1().ClusterDomains().Delete(ctx, cdName, metav1.DeleteOptions{}))
	waitReady(t, cctx, ns, "dup")
}

// TestIngressGatewayErrors checks the ingress rules: no gateway pods, pods in two
// namespaces, and recovery once exactly one namespace has them.
func TestIngressGatewayErrors(t *testing.T) {
	env := testenv.Current()
	ns, opNs, gwA, gwB := env.NewNamespace(t), env.NewNamespace(t), env.NewNamespace(t), env.NewNamespace(t)
	cctx := startControllers(t, controllertest.DefaultOptions(opNs))
	cleanupDomains(t, cctx, ns)
	ctx := context.Background()
	selector := map[string]string{"test-ingress": ns}
	d := newDomain(ns, "ingress", "ingress-errors.example.com")
	d.Spec.IngressSelector = selector
	_, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)
	waitForState(t, cctx, ns, d.Name, v1alpha1.DomainStateError, domainsync.ReasonMissingIngressGatewayInfo, false,
		"must be in exactly one namespace, found 0")
	waitEvent(t, ns, d.Name, domainsync.ReasonMissingIngressGatewayInfo, "found 0")

	createIngressGateway(t, gwA, "gw", selector, "a.example.com")
	createIngressGateway(t, gwB, "gw", selector, "b.example.com")
	touch(t, cctx.Clients.SME.SmeV1alpha1().Domains(ns), d.Name)
	waitForState(t, cctx, ns, d.Name, v1alpha1.DomainStateError, domainsync.ReasonMissingIngressGatewayInfo, false,
		fmt.Sprintf("found 2 [%s %s]", min(gwA, gwB), max(gwA, gwB)))

	must(t, env.Clientset().CoreV1().Pods(gwB).Delete(ctx, "gw-0", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}))
	touch(t, cctx.Clients.SME.SmeV1alpha1().Domains(ns), d.Name)
	st := waitReady(t, cctx, ns, d.Name)
	if st.DNSTarget != "a.example.com" {
		t.Errorf("dnsTarget %q, want the remaining gateway's", st.DNSTarget)
	}
}

// domainUpdater is the part of the Domain client touch needs.
type domainUpdater interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*v1alpha1.Domain, error)
	Update(ctx context.Context, d *v1alpha1.Domain, opts metav1.UpdateOptions) (*v1alpha1.Domain, error)
}

// touch changes an annotation of a Domain so it is synced at once: the controller does not
// watch ingress gateway pods, and its backoff after repeated errors can be long.
func touch(t *testing.T, client domainUpdater, name string) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		d, err := client.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if d.Annotations == nil {
			d.Annotations = map[string]string{}
		}
		d.Annotations["test/touch"] = d.ResourceVersion
		_, err = client.Update(context.Background(), d, metav1.UpdateOptions{})
		return err == nil, err
	})
}

// TestInvalidDNSTemplate checks that a template that does not parse is an Error condition
// naming the template, and that fixing it makes the domain Ready.
func TestInvalidDNSTemplate(t *testing.T) {
	env := testenv.Current()
	ensureIngressGateway(t)
	ns, opNs := env.NewNamespace(t), env.NewNamespace(t)
	cctx := startControllers(t, controllertest.DefaultOptions(opNs))
	cleanupDomains(t, cctx, ns)
	ctx := context.Background()
	d := newDomain(ns, "templates", "templates.example.com")
	d.Spec.DNSMode = v1alpha1.DNSModeCustom
	d.Spec.DNSTemplates = []v1alpha1.DNSTemplate{{Name: "*.{{.domain}}", Target: "{{.dnsTarget}}"}, {Name: "x.{{ .domain", Target: "{{.dnsTarget}}"}}
	_, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)
	waitForState(t, cctx, ns, d.Name, v1alpha1.DomainStateError, domainsync.ReasonInvalidDNSTemplate, true,
		`DNS template dnsTemplates[1] name "x.{{ .domain"`)

	stored, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Get(ctx, d.Name, metav1.GetOptions{})
	must(t, err)
	stored.Spec.DNSTemplates[1].Name = "x.{{ .domain }}"
	_, err = cctx.Clients.SME.SmeV1alpha1().Domains(ns).Update(ctx, stored, metav1.UpdateOptions{})
	must(t, err)
	waitReady(t, cctx, ns, d.Name)
	waitDNSEntries(t, cctx, ns, "Domain."+ns+"."+d.Name, entry("*.templates.example.com", ingressTarget), entry("x.templates.example.com", ingressTarget))
}

// TestDNSTemplateCannotReadTheEnvironment is the attack of a Domain author who asks a DNS
// template for the controller's environment: the domain goes to Error with a condition
// naming the refused function, and the value appears neither there nor in a DNS entry.
func TestDNSTemplateCannotReadTheEnvironment(t *testing.T) {
	const secret = "s3cr3t-of-the-controller"
	t.Setenv("CAPSTAN_DOMAINS_TEST_SECRET", secret) // the controllers run in this process
	env := testenv.Current()
	ensureIngressGateway(t)
	ns, opNs := env.NewNamespace(t), env.NewNamespace(t)
	cctx := startControllers(t, controllertest.DefaultOptions(opNs))
	cleanupDomains(t, cctx, ns)
	d := newDomain(ns, "leaky", "leaky.example.com")
	d.Spec.DNSMode = v1alpha1.DNSModeCustom
	d.Spec.DNSTemplates = []v1alpha1.DNSTemplate{{Name: `{{ env "CAPSTAN_DOMAINS_TEST_SECRET" }}.{{ .domain }}`, Target: "{{ .dnsTarget }}"}}
	_, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(context.Background(), d, metav1.CreateOptions{})
	must(t, err)
	st := waitForState(t, cctx, ns, d.Name, v1alpha1.DomainStateError, domainsync.ReasonInvalidDNSTemplate, true,
		"dnsTemplates[0] name", `function "env" is not available in DNS templates`)
	if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeReady); c == nil || strings.Contains(c.Message, secret) {
		t.Errorf("the condition echoes the environment: %+v", c)
	}
	entries, err := cctx.Clients.GardenerDNS.DnsV1alpha1().DNSEntries(metav1.NamespaceAll).List(context.Background(), metav1.ListOptions{})
	must(t, err)
	for _, e := range entries.Items {
		if strings.Contains(e.Spec.DNSName, secret) {
			t.Errorf("DNSEntry %s/%s carries the environment: %s", e.Namespace, e.Name, e.Spec.DNSName)
		}
	}
}

// TestDomainChangeMovesEverything changes spec.domain of a Ready domain: the Gateway, the
// Certificate and the DNS entries follow, and the domain becomes Ready again.
func TestDomainChangeMovesEverything(t *testing.T) {
	env := testenv.Current()
	ensureIngressGateway(t)
	ns, opNs := env.NewNamespace(t), env.NewNamespace(t)
	cctx := startControllers(t, controllertest.DefaultOptions(opNs))
	cleanupDomains(t, cctx, ns)
	ctx := context.Background()
	d := newDomain(ns, "moving", "before.example.com")
	_, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)
	st := waitReady(t, cctx, ns, d.Name)
	ownerID := "Domain." + ns + "." + d.Name
	waitDNSEntries(t, cctx, ns, ownerID, entry("*.before.example.com", ingressTarget))

	stored, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Get(ctx, d.Name, metav1.GetOptions{})
	must(t, err)
	stored.Spec.Domain = "after.example.com"
	_, err = cctx.Clients.SME.SmeV1alpha1().Domains(ns).Update(ctx, stored, metav1.UpdateOptions{})
	must(t, err)
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		if err := markChildrenReady(cctx); err != nil {
			return false, err
		}
		now, err := domainStatus(cctx, ns, d.Name)
		if err != nil {
			return false, err
		}
		return now.ObservedDomain == "after.example.com" && now.State == v1alpha1.DomainStateReady && now.ObservedGeneration == 2,
			fmt.Errorf("status %+v", now)
	})
	waitDNSEntries(t, cctx, ns, ownerID, entry("*.after.example.com", ingressTarget))
	gw, err := cctx.Clients.Istio.NetworkingV1().Gateways(ns).Get(ctx, st.GatewayName, metav1.GetOptions{})
	must(t, err)
	if !reflect.DeepEqual(gw.Spec.Servers[0].Hosts, []string{"./*.after.example.com"}) {
		t.Errorf("gateway hosts %v", gw.Spec.Servers[0].Hosts)
	}
	cert, err := cctx.Clients.CertManager.CertmanagerV1().Certificates(ingressNamespace).Get(ctx, ns+"--moving", metav1.GetOptions{})
	must(t, err)
	if !reflect.DeepEqual(cert.Spec.DNSNames, []string{"*.after.example.com"}) {
		t.Errorf("certificate dnsNames %v", cert.Spec.DNSNames)
	}
}

// TestGardenerCertificates runs with CERT_MANAGER=gardener: the Gardener Certificate lives
// in the domain's namespace and points at the TLS Secret in the ingress namespace.
func TestGardenerCertificates(t *testing.T) {
	env := testenv.Current()
	ensureIngressGateway(t)
	ns, opNs := env.NewNamespace(t), env.NewNamespace(t)
	opts := controllertest.DefaultOptions(opNs)
	opts.CertManager = domainrender.CertManagerGardener
	cctx := startControllers(t, opts)
	cleanupDomains(t, cctx, ns)
	ctx := context.Background()
	d := newDomain(ns, "gardener", "gardener.example.com")
	_, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)
	st := waitReady(t, cctx, ns, d.Name)
	certs, err := cctx.Clients.GardenerCert.CertV1alpha1().Certificates(ns).List(ctx, ownerList("Domain."+ns+".gardener"))
	must(t, err)
	cred := ns + "--gardener-gardener"
	if len(certs.Items) != 1 || certs.Items[0].Spec.SecretRef.Name != cred || certs.Items[0].Spec.SecretRef.Namespace != ingressNamespace ||
		!reflect.DeepEqual(certs.Items[0].Spec.DNSNames, []string{"*.gardener.example.com"}) {
		t.Errorf("gardener certificates: %+v", certs.Items)
	}
	gw, err := cctx.Clients.Istio.NetworkingV1().Gateways(ns).Get(ctx, st.GatewayName, metav1.GetOptions{})
	must(t, err)
	if gw.Spec.Servers[0].Tls.CredentialName != cred {
		t.Errorf("gateway credential %q, want %q", gw.Spec.Servers[0].Tls.CredentialName, cred)
	}
}

// TestCertificateNameHeldByHiddenObject puts an unlabelled cert-manager Certificate where
// the domain's Certificate belongs. The controller's cache only shows labelled objects, so
// its create fails with AlreadyExists: the domain reports the object in its status instead
// of retrying silently, and becomes Ready once the object is gone.
func TestCertificateNameHeldByHiddenObject(t *testing.T) {
	env := testenv.Current()
	ensureIngressGateway(t)
	ns, opNs := env.NewNamespace(t), env.NewNamespace(t)
	cctx := startControllers(t, controllertest.DefaultOptions(opNs))
	cleanupDomains(t, cctx, ns)
	ctx := context.Background()
	name := ns + "--squatted"
	certs := cctx.Clients.CertManager.CertmanagerV1().Certificates(ingressNamespace)
	squatter := &cmv1.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: ingressNamespace, Name: name},
		Spec: cmv1.CertificateSpec{SecretName: "someone-elses", DNSNames: []string{"other.example.com"},
			IssuerRef: cmmeta.IssuerReference{Name: "other", Kind: "ClusterIssuer"}}}
	_, err := certs.Create(ctx, squatter, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() { _ = certs.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	d := newDomain(ns, "squatted", "squatted.example.com")
	_, err = cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)
	waitForState(t, cctx, ns, d.Name, v1alpha1.DomainStateError, controller.ReasonChildConflict, false,
		"Certificate "+ingressNamespace+"/"+name+" already exists", "lacks the label sme.sap.com/owner-identifier-hash", "delete or rename it")

	must(t, certs.Delete(ctx, name, metav1.DeleteOptions{}))
	waitReady(t, cctx, ns, d.Name)
}
