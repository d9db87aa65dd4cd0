package domainsync

import (
	"bytes"
	"encoding/json"
	"strconv"

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

// layout is where and under which names a domain's children live; it is computed once per
// sync from the object, the options and the discovered ingress gateway.
type layout struct {
	obj *Object
	// sub is the name-derived prefix of generated names.
	sub string
	// subNamespace holds the Gateway, Gardener Certificate and DNSEntries.
	subNamespace string
	// ingressNamespace holds the ingress gateway pods, the TLS and CA Secrets and the
	// cert-manager Certificate.
	ingressNamespace string
	// credential is the TLS Secret's name.
	credential string
	// certManager is CertManagerGardener or CertManagerCertManager.
	certManager string
}

// newLayout computes the layout of obj's children.
func newLayout(obj *Object, operatorNamespace, ingressNamespace, certManager string) layout {
	l := layout{obj: obj, sub: obj.Sub(), subNamespace: obj.SubNamespace(operatorNamespace),
		ingressNamespace: ingressNamespace, certManager: certManager}
	l.credential = CredentialName(l.subNamespace, l.sub, certManager)
	return l
}

// childMeta returns the metadata every child carries: the owner labels the filtered
// informers select on, the owner identifier the event handlers route by, and the hash of
// the desired content that gates updates.
func (l layout) childMeta(namespace, name, generateName, hash string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace:    namespace,
		Name:         name,
		GenerateName: generateName,
		Labels: map[string]string{
			v1alpha1.LabelOwnerIdentifierHash: l.obj.OwnerHash(),
			v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(l.obj.Meta.Generation, 10),
		},
		Annotations: map[string]string{
			v1alpha1.AnnotationOwnerIdentifier: l.obj.OwnerID(),
			v1alpha1.AnnotationResourceHash:    hash,
		},
	}
}

// wildcardHost is the certificate's and Gateway's host pattern.
func (l layout) wildcardHost() string { return "*." + l.obj.Spec.Domain }

// specHash hashes the JSON of v. Compacting first makes the hash independent of the
// whitespace some protobuf JSON marshalers vary.
func specHash(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		// Only unsupported types fail to marshal; the builders never produce them.
		panic(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		panic(err)
	}
	return identity.SHA256(buf.String())
}

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

// newGateway builds the Istio Gateway serving the domain on 443. A Domain's Gateway accepts
// virtual services of its own namespace ("./"), a ClusterDomain's those of every namespace.
func newGateway(l layout) *istionetworkingv1.Gateway {
	hostNamespace := "./"
	if l.obj.Kind == v1alpha1.DomainRefKindClusterDomain {
		hostNamespace = "*/"
	}
	gw := &istionetworkingv1.Gateway{}
	gw.Spec.Selector = l.obj.Spec.IngressSelector
	gw.Spec.Servers = []*istioapi.Server{{
		Hosts: []string{hostNamespace + l.wildcardHost()},
		Port:  &istioapi.Port{Number: 443, Name: "https", Protocol: "HTTPS"},
		Tls:   &istioapi.ServerTLSSettings{Mode: tlsMode(l.obj.Spec.TLSMode), CredentialName: l.credential},
	}}
	gw.ObjectMeta = l.childMeta(l.subNamespace, "", l.sub+"-", specHash(&gw.Spec))
	gw.OwnerReferences = []metav1.OwnerReference{l.obj.OwnerReference()}
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

// newCertManagerCertificate builds the cert-manager Certificate. It lives in the ingress
// namespace because cert-manager writes its Secret next to it and Istio reads the Secret
// there; it therefore has no owner reference and carries the domain finalizer instead.
func newCertManagerCertificate(l layout) *cmv1.Certificate {
	commonName := l.obj.Meta.Annotations[v1alpha1.AnnotationCertManagerCommonName]
	issuer := issuerRef(l.obj.Spec)
	hash := identity.SHA256(l.obj.Spec.Domain, l.credential, l.ingressNamespace, commonName, issuer.Kind, issuer.Name, issuer.Group)
	cert := &cmv1.Certificate{
		ObjectMeta: l.childMeta(l.ingressNamespace, l.subNamespace+"--"+l.sub, "", hash),
		Spec: cmv1.CertificateSpec{
			CommonName: commonName,
			DNSNames:   []string{l.wildcardHost()},
			SecretName: l.credential,
			IssuerRef:  issuer,
		},
	}
	cert.Finalizers = []string{v1alpha1.FinalizerDomain}
	return cert
}

// newGardenerCertificate builds the Gardener Certificate; the Gardener certificate
// controller writes the Secret to the ingress namespace given in secretRef.
func newGardenerCertificate(l layout) *gardenercertv1alpha1.Certificate {
	hash := identity.SHA256(l.obj.Spec.Domain, l.credential, l.ingressNamespace)
	cert := &gardenercertv1alpha1.Certificate{
		ObjectMeta: l.childMeta(l.subNamespace, "", l.sub+"-", hash),
		Spec: gardenercertv1alpha1.CertificateSpec{
			DNSNames:  []string{l.wildcardHost()},
			SecretRef: &corev1.SecretReference{Name: l.credential, Namespace: l.ingressNamespace},
		},
	}
	cert.Finalizers = []string{v1alpha1.FinalizerDomain}
	return cert
}

// caCertSecretName is the additional-CA Secret's name; Istio finds it by the "-cacert"
// suffix on the credential name.
func (l layout) caCertSecretName() string { return l.credential + "-cacert" }

// newCACertSecret builds the Secret with the additional CA that Mutual and OptionalMutual
// TLS verify client certificates against; nil when the spec has no additional CA.
func newCACertSecret(l layout) *corev1.Secret {
	if l.obj.Spec.CertConfig == nil || l.obj.Spec.CertConfig.AdditionalCACertificate == "" {
		return nil
	}
	ca := l.obj.Spec.CertConfig.AdditionalCACertificate
	return &corev1.Secret{
		ObjectMeta: l.childMeta(l.ingressNamespace, l.caCertSecretName(), "", identity.SHA256(ca)),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{CACertKey: []byte(ca)},
	}
}

// newNetworkPolicy builds the NetworkPolicy that lets the ingress gateway pods, in whatever
// namespace, reach the exposed workloads of an application namespace.
func newNetworkPolicy(l layout, namespace string) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{
				v1alpha1.LabelExposedWorkload:  "true",
				v1alpha1.LabelResourceCategory: v1alpha1.CategoryWorkload,
			}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					PodSelector:       &metav1.LabelSelector{MatchLabels: l.obj.Spec.IngressSelector},
					NamespaceSelector: &metav1.LabelSelector{},
				}},
			}},
		},
	}
	np.ObjectMeta = l.childMeta(namespace, "", l.sub+"-", specHash(np.Spec))
	np.OwnerReferences = []metav1.OwnerReference{l.obj.OwnerReference()}
	return np
}

// newDNSEntry builds the Gardener DNSEntry of one record. The dns-name-hash label finds the
// entry of a name again and lets stale entries be deleted by one label selector.
func newDNSEntry(l layout, r dnstemplate.DNSRecord) *dnsv1alpha1.DNSEntry {
	e := &dnsv1alpha1.DNSEntry{
		ObjectMeta: l.childMeta(l.subNamespace, "", l.sub+"-", identity.SHA256(r.Name, r.Target, string(r.AppUID))),
		Spec: dnsv1alpha1.DNSEntrySpec{
			DNSName:             r.Name,
			Targets:             []string{r.Target},
			TTL:                 ptr.To[int64](dnsEntryTTL),
			CNameLookupInterval: ptr.To[int64](dnsEntryCNAMELookupInterval),
		},
	}
	e.Labels[v1alpha1.LabelDNSNameHash] = identity.SHA1(r.Name)
	e.Annotations[v1alpha1.AnnotationGardenerDNSClass] = v1alpha1.GardenerDNSClassGarden
	e.OwnerReferences = []metav1.OwnerReference{l.obj.OwnerReference()}
	return e
}
