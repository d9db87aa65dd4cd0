package domainrender

import (
	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	gardenercertv1alpha1 "github.com/gardener/cert-management/pkg/apis/cert/v1alpha1"
	dnsv1alpha1 "github.com/gardener/external-dns-management/pkg/apis/dns/v1alpha1"
	istioapi "istio.io/api/networking/v1alpha3"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/dnstemplate"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Defaults of the cert-manager issuer when certConfig.certManager is not set.
const (
	defaultIssuerName = "cluster-ca"
	defaultIssuerKind = "ClusterIssuer"
)

// CACertKey is the key of the additional CA in its Secret, the name Istio looks for.
const CACertKey = "ca.crt"

// DNS entry settings the specification fixes.
const (
	dnsEntryTTL                 = 600
	dnsEntryCNAMELookupInterval = 30
)

// tlsMode maps the domain's TLS mode to Istio's.
func tlsMode(m v1alpha1.TLSMode) istioapi.ServerTLSSettings_TLSmode {
	switch m {
	case v1alpha1.TLSModeMutual:
		return istioapi.ServerTLSSettings_MUTUAL
	case v1alpha1.TLSModeOptionalMutual:
		return istioapi.ServerTLSSettings_OPTIONAL_MUTUAL
	default:
		return istioapi.ServerTLSSettings_SIMPLE
	}
}

// NewGateway builds the Istio Gateway serving the domain on 443. A Domain's Gateway accepts
// virtual services of its own namespace ("./"), a ClusterDomain's those of every namespace.
func NewGateway(l Layout) *istionetworkingv1.Gateway {
	hostNamespace := "./"
	if l.Obj.Kind == v1alpha1.DomainRefKindClusterDomain {
		hostNamespace = "*/"
	}
	gw := &istionetworkingv1.Gateway{}
	gw.Spec.Selector = l.Obj.Spec.IngressSelector
	gw.Spec.Servers = []*istioapi.Server{{
		Hosts: []string{hostNamespace + l.wildcardHost()},
		Port:  &istioapi.Port{Number: 443, Name: "https", Protocol: "HTTPS"},
		Tls:   &istioapi.ServerTLSSettings{Mode: tlsMode(l.Obj.Spec.TLSMode), CredentialName: l.Credential},
	}}
	gw.ObjectMeta = l.childMeta(l.SubNamespace, "", l.Sub+"-", controller.SpecHash(&gw.Spec))
	gw.OwnerReferences = []metav1.OwnerReference{l.Obj.OwnerReference()}
	return gw
}

// issuerRef is the cert-manager issuer of the domain: certConfig.certManager.issuerRef, else
// the ClusterIssuer cluster-ca.
func issuerRef(spec *v1alpha1.DomainSpec) cmmeta.IssuerReference {
	if spec.CertConfig != nil && spec.CertConfig.CertManager != nil && spec.CertConfig.CertManager.IssuerRef != nil {
		ref := spec.CertConfig.CertManager.IssuerRef
		return cmmeta.IssuerReference{Name: ref.Name, Kind: ref.Kind, Group: ref.Group}
	}
	return cmmeta.IssuerReference{Name: defaultIssuerName, Kind: defaultIssuerKind}
}

// NewCertManagerCertificate builds the cert-manager Certificate. It lives in the ingress
// namespace because cert-manager writes its Secret next to it and Istio reads the Secret
// there; it therefore has no owner reference and carries the domain finalizer instead.
func NewCertManagerCertificate(l Layout) *cmv1.Certificate {
	commonName := l.Obj.Meta.Annotations[v1alpha1.AnnotationCertManagerCommonName]
	issuer := issuerRef(l.Obj.Spec)
	hash := identity.SHA256(l.Obj.Spec.Domain, l.Credential, l.IngressNamespace, commonName, issuer.Kind, issuer.Name, issuer.Group)
	cert := &cmv1.Certificate{
		ObjectMeta: l.childMeta(l.IngressNamespace, l.SubNamespace+"--"+l.Sub, "", hash),
		Spec: cmv1.CertificateSpec{
			CommonName: commonName,
			DNSNames:   []string{l.wildcardHost()},
			SecretName: l.Credential,
			IssuerRef:  issuer,
		},
	}
	cert.Finalizers = []string{v1alpha1.FinalizerDomain}
	return cert
}

// NewGardenerCertificate builds the Gardener Certificate; the Gardener certificate
// controller writes the Secret to the ingress namespace given in secretRef.
func NewGardenerCertificate(l Layout) *gardenercertv1alpha1.Certificate {
	hash := identity.SHA256(l.Obj.Spec.Domain, l.Credential, l.IngressNamespace)
	cert := &gardenercertv1alpha1.Certificate{
		ObjectMeta: l.childMeta(l.SubNamespace, "", l.Sub+"-", hash),
		Spec: gardenercertv1alpha1.CertificateSpec{
			DNSNames:  []string{l.wildcardHost()},
			SecretRef: &corev1.SecretReference{Name: l.Credential, Namespace: l.IngressNamespace},
		},
	}
	cert.Finalizers = []string{v1alpha1.FinalizerDomain}
	return cert
}

// NewCACertSecret builds the Secret with the additional CA that Mutual and OptionalMutual
// TLS verify client certificates against; nil when the spec has no additional CA.
func NewCACertSecret(l Layout) *corev1.Secret {
	if l.Obj.Spec.CertConfig == nil || l.Obj.Spec.CertConfig.AdditionalCACertificate == "" {
		return nil
	}
	ca := l.Obj.Spec.CertConfig.AdditionalCACertificate
	return &corev1.Secret{
		ObjectMeta: l.childMeta(l.IngressNamespace, l.CACertSecretName(), "", identity.SHA256(ca)),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{CACertKey: []byte(ca)},
	}
}

// NewNetworkPolicy builds the NetworkPolicy that lets the ingress gateway pods, in whatever
// namespace, reach the exposed workloads of an application namespace.
func NewNetworkPolicy(l Layout, namespace string) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{
				v1alpha1.LabelExposedWorkload:  "true",
				v1alpha1.LabelResourceCategory: v1alpha1.CategoryWorkload,
			}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					PodSelector:       &metav1.LabelSelector{MatchLabels: l.Obj.Spec.IngressSelector},
					NamespaceSelector: &metav1.LabelSelector{},
				}},
			}},
		},
	}
	np.ObjectMeta = l.childMeta(namespace, "", l.Sub+"-", controller.SpecHash(np.Spec))
	np.OwnerReferences = []metav1.OwnerReference{l.Obj.OwnerReference()}
	return np
}

// NewDNSEntry builds the Gardener DNSEntry of one record. The dns-name-hash label finds the
// entry of a name again and lets stale entries be deleted by one label selector.
func NewDNSEntry(l Layout, r dnstemplate.DNSRecord) *dnsv1alpha1.DNSEntry {
	e := &dnsv1alpha1.DNSEntry{
		ObjectMeta: l.childMeta(l.SubNamespace, "", l.Sub+"-", identity.SHA256(r.Name, r.Target, string(r.AppUID))),
		Spec: dnsv1alpha1.DNSEntrySpec{
			DNSName:             r.Name,
			Targets:             []string{r.Target},
			TTL:                 ptr.To[int64](dnsEntryTTL),
			CNameLookupInterval: ptr.To[int64](dnsEntryCNAMELookupInterval),
		},
	}
	e.Labels[v1alpha1.LabelDNSNameHash] = identity.SHA1(r.Name)
	e.Annotations[v1alpha1.AnnotationGardenerDNSClass] = v1alpha1.GardenerDNSClassGarden
	e.OwnerReferences = []metav1.OwnerReference{l.Obj.OwnerReference()}
	return e
}
