package domainrender

import (
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Layout is where and under which names a domain's children live; it is computed once per
// sync from the object, the options and the discovered ingress gateway.
type Layout struct {
	// Obj is the Domain or ClusterDomain.
	Obj *Object
	// Sub is the name-derived prefix of generated names.
	Sub string
	// SubNamespace holds the Gateway, Gardener Certificate and DNSEntries.
	SubNamespace string
	// IngressNamespace holds the ingress gateway pods, the TLS and CA Secrets and the
	// cert-manager Certificate.
	IngressNamespace string
	// Credential is the TLS Secret's name.
	Credential string
	// CertManager is CertManagerGardener or CertManagerCertManager.
	CertManager string
}

// NewLayout computes the layout of obj's children.
func NewLayout(obj *Object, operatorNamespace, ingressNamespace, certManager string) Layout {
	l := Layout{Obj: obj, Sub: obj.Sub(), SubNamespace: obj.SubNamespace(operatorNamespace),
		IngressNamespace: ingressNamespace, CertManager: certManager}
	l.Credential = CredentialName(l.SubNamespace, l.Sub, certManager)
	return l
}

// childMeta returns the metadata every child carries: the owner labels the filtered
// informers select on, the owner identifier the event handlers route by, and the hash of
// the desired content (the resource-hash annotation of controller.ChildDrifted).
func (l Layout) childMeta(namespace, name, generateName, hash string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace:    namespace,
		Name:         name,
		GenerateName: generateName,
		Labels: map[string]string{
			v1alpha1.LabelOwnerIdentifierHash: l.Obj.OwnerHash(),
			v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(l.Obj.Meta.Generation, 10),
		},
		Annotations: map[string]string{
			v1alpha1.AnnotationOwnerIdentifier: l.Obj.OwnerID(),
			v1alpha1.AnnotationResourceHash:    hash,
		},
	}
}

// wildcardHost is the certificate's and Gateway's host pattern.
func (l Layout) wildcardHost() string { return "*." + l.Obj.Spec.Domain }

// CACertSecretName is the additional-CA Secret's name; Istio finds it by the "-cacert"
// suffix on the credential name.
func (l Layout) CACertSecretName() string { return l.Credential + "-cacert" }
