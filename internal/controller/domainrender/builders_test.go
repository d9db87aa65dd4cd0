package domainrender

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/dnstemplate"
	"github.com/capstan-io/capstan/internal/golden"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// testCA is a PEM placeholder; the builders copy it verbatim.
const testCA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

// testDomain returns a Domain with the example's ingress selector.
func testDomain(mutate ...func(*v1alpha1.Domain)) *Object {
	d := &v1alpha1.Domain{
		ObjectMeta: metav1.ObjectMeta{Namespace: "cap-app-01", Name: "cap-app-01-primary", UID: "uid-domain", Generation: 2},
		Spec: v1alpha1.DomainSpec{
			Domain:          "my.cluster.shoot.url.k8s.example.com",
			IngressSelector: map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"},
			TLSMode:         v1alpha1.TLSModeSimple,
			DNSMode:         v1alpha1.DNSModeWildcard,
		},
	}
	for _, m := range mutate {
		m(d)
	}
	return FromDomain(d)
}

// testClusterDomain returns a ClusterDomain with the Mutual TLS example's settings.
func testClusterDomain() *Object {
	return FromClusterDomain(&v1alpha1.ClusterDomain{
		ObjectMeta: metav1.ObjectMeta{Name: "cap-example-domain", UID: "uid-cluster-domain", Generation: 1},
		Spec: v1alpha1.DomainSpec{
			Domain:          "myapp.example.com",
			IngressSelector: map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"},
			TLSMode:         v1alpha1.TLSModeMutual,
			DNSMode:         v1alpha1.DNSModeNone,
			CertConfig:      &v1alpha1.CertConfig{AdditionalCACertificate: testCA},
		},
	})
}

// TestBuilders renders every child object into a golden file named after the case.
func TestBuilders(t *testing.T) {
	explicitIssuer := testDomain(func(d *v1alpha1.Domain) {
		d.Annotations = map[string]string{v1alpha1.AnnotationCertManagerCommonName: "my.example.com"}
		d.Spec.CertConfig = &v1alpha1.CertConfig{CertManager: &v1alpha1.CertManager{
			IssuerRef: &v1alpha1.CertManagerIssuer{Name: "letsencrypt", Kind: "Issuer", Group: "cert-manager.io"}}}
	})
	optional := testDomain(func(d *v1alpha1.Domain) { d.Spec.TLSMode = v1alpha1.TLSModeOptionalMutual })
	cmLayout := func(o *Object) Layout { return NewLayout(o, "cap-operator", "istio-system", CertManagerCertManager) }
	gardenerLayout := func(o *Object) Layout { return NewLayout(o, "cap-operator", "istio-system", CertManagerGardener) }
	tests := map[string]struct {
		build func() any
	}{
		"gateway-domain-simple":                     {func() any { return NewGateway(cmLayout(testDomain())) }},
		"gateway-domain-optional-mutual":            {func() any { return NewGateway(cmLayout(optional)) }},
		"gateway-clusterdomain-mutual":              {func() any { return NewGateway(cmLayout(testClusterDomain())) }},
		"certificate-cert-manager-default-issuer":   {func() any { return NewCertManagerCertificate(cmLayout(testDomain())) }},
		"certificate-cert-manager-explicit-issuer":  {func() any { return NewCertManagerCertificate(cmLayout(explicitIssuer)) }},
		"certificate-gardener-clusterdomain":        {func() any { return NewGardenerCertificate(gardenerLayout(testClusterDomain())) }},
		"cacert-secret-clusterdomain":               {func() any { return NewCACertSecret(cmLayout(testClusterDomain())) }},
		"networkpolicy-clusterdomain-app-namespace": {func() any { return NewNetworkPolicy(cmLayout(testClusterDomain()), "app-ns") }},
		"dnsentry-domain-wildcard": {func() any {
			return NewDNSEntry(cmLayout(testDomain()), dnstemplate.DNSRecord{Name: "*.my.cluster.shoot.url.k8s.example.com", Target: "ingress.example.com"})
		}},
		"dnsentry-domain-subdomain-with-app-uid": {func() any {
			return NewDNSEntry(cmLayout(testDomain()), dnstemplate.DNSRecord{Name: "api.my.cluster.shoot.url.k8s.example.com", Target: "ingress.example.com", AppUID: "uid-app"})
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { golden.Check(t, tc.build()) })
	}
}

// TestNewCACertSecretWithoutCA checks that no Secret is wanted without an additional CA.
func TestNewCACertSecretWithoutCA(t *testing.T) {
	if s := NewCACertSecret(NewLayout(testDomain(), "op", "istio-system", CertManagerCertManager)); s != nil {
		t.Errorf("want no secret, got %v", s.Name)
	}
}

// TestNames checks the derived names of the specification's definitions.
func TestNames(t *testing.T) {
	long := "a.very.long.name.with.many.dots.that.exceeds.the.limit.of.fifty.seven"
	tests := map[string]struct {
		obj                             *Object
		wantOwnerID, wantSub, wantSubNs string
		wantCred                        string
	}{
		"domain": {obj: testDomain(), wantOwnerID: "Domain.cap-app-01.cap-app-01-primary", wantSub: "cap-app-01-primary",
			wantSubNs: "cap-app-01", wantCred: "cap-app-01--cap-app-01-primary-cert-manager"},
		"cluster domain uses the operator namespace": {obj: testClusterDomain(), wantOwnerID: "ClusterDomain.cap-example-domain",
			wantSub: "cap-example-domain", wantSubNs: "op", wantCred: "op--cap-example-domain-cert-manager"},
		"dots become double dashes and the prefix is cut": {
			obj:         FromClusterDomain(&v1alpha1.ClusterDomain{ObjectMeta: metav1.ObjectMeta{Name: long}}),
			wantOwnerID: "ClusterDomain." + long, wantSub: "a--very--long--name--with--many--dots--that--exceeds--the",
			wantSubNs: "op", wantCred: "op--a--very--long--name--with--many--dots--that--exceeds--the-cert-manager"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.obj.OwnerID(); got != tc.wantOwnerID {
				t.Errorf("OwnerID = %q, want %q", got, tc.wantOwnerID)
			}
			if got := tc.obj.Sub(); got != tc.wantSub || len(got) > maxSubLength {
				t.Errorf("Sub = %q (%d), want %q", got, len(got), tc.wantSub)
			}
			ns := tc.obj.SubNamespace("op")
			if ns != tc.wantSubNs {
				t.Errorf("SubNamespace = %q, want %q", ns, tc.wantSubNs)
			}
			if got := CredentialName(ns, tc.obj.Sub(), CertManagerCertManager); got != tc.wantCred {
				t.Errorf("CredentialName = %q, want %q", got, tc.wantCred)
			}
		})
	}
}

// TestParseOwnerID checks the owner identifiers the event handlers route by.
func TestParseOwnerID(t *testing.T) {
	tests := map[string]struct {
		id               string
		wantKind         v1alpha1.DomainRefKind
		wantNs, wantName string
		wantOK           bool
	}{
		"domain":                 {id: "Domain.ns.my.domain", wantKind: "Domain", wantNs: "ns", wantName: "my.domain", wantOK: true},
		"cluster domain":         {id: "ClusterDomain.cd.with.dots", wantKind: "ClusterDomain", wantName: "cd.with.dots", wantOK: true},
		"application owner":      {id: "ns.app"},
		"domain without a name":  {id: "Domain.ns"},
		"cluster domain no name": {id: "ClusterDomain."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			kind, ns, n, ok := ParseOwnerID(tc.id)
			if kind != tc.wantKind || ns != tc.wantNs || n != tc.wantName || ok != tc.wantOK {
				t.Errorf("ParseOwnerID(%q) = %q %q %q %v", tc.id, kind, ns, n, ok)
			}
		})
	}
}
