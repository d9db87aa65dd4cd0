// Package domainrender holds the pure parts of the Domain and ClusterDomain reconciliation: the
// Object both kinds are seen through, the Layout of a domain's children (where they live and
// how they are named) and the builders of the children themselves (Gateway, Certificate of
// either manager, additional-CA Secret, NetworkPolicy, DNSEntry). Nothing here talks to the
// API server; internal/controller/domainsync writes what these functions return.
package domainrender

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// CertManager values of controller.Options.CertManager.
const (
	// CertManagerGardener issues certificates through cert.gardener.cloud/v1alpha1.
	CertManagerGardener = "gardener"
	// CertManagerCertManager issues certificates through cert-manager.io/v1.
	CertManagerCertManager = "cert-manager.io"
)

// DNSManagerGardener is the value of controller.Options.DNSManager under which DNSEntries
// are created; with any other value ("kubernetes") DNS is left to external-dns.
const DNSManagerGardener = "gardener"

// maxSubLength bounds the name-derived prefix so that generated names, with the API server's
// five random characters and the "-" separator, stay valid DNS labels.
const maxSubLength = 57

// Object is a Domain or a ClusterDomain seen through the fields both kinds share. Meta, Spec
// and Status point into API, so changes made through them are written by Update and
// UpdateStatus.
type Object struct {
	// Kind is Domain or ClusterDomain.
	Kind v1alpha1.DomainRefKind
	// Meta is the object's metadata.
	Meta *metav1.ObjectMeta
	// Spec is the object's spec.
	Spec *v1alpha1.DomainSpec
	// Status is the object's status.
	Status *v1alpha1.DomainStatus
	// API is the Domain or ClusterDomain itself, used for events and writes.
	API runtime.Object
}

// FromDomain wraps a Domain; the caller passes a copy it owns, never a cached object.
func FromDomain(d *v1alpha1.Domain) *Object {
	return &Object{Kind: v1alpha1.DomainRefKindDomain, Meta: &d.ObjectMeta, Spec: &d.Spec, Status: &d.Status, API: d}
}

// FromClusterDomain wraps a ClusterDomain; the caller passes a copy it owns.
func FromClusterDomain(d *v1alpha1.ClusterDomain) *Object {
	return &Object{Kind: v1alpha1.DomainRefKindClusterDomain, Meta: &d.ObjectMeta, Spec: &d.Spec, Status: &d.Status, API: d}
}

// OwnerID is the owner identifier of the object's children: `Domain.<ns>.<name>` or
// `ClusterDomain.<name>`.
func (o *Object) OwnerID() string {
	if o.Kind == v1alpha1.DomainRefKindClusterDomain {
		return identity.DomainOwnerID("", o.Meta.Name)
	}
	return identity.DomainOwnerID(o.Meta.Namespace, o.Meta.Name)
}

// OwnerHash is the owner-identifier-hash label value of the object's children.
func (o *Object) OwnerHash() string { return identity.SHA1(o.OwnerID()) }

// Describe names the object for messages, with kind, namespace and name.
func (o *Object) Describe() string {
	if o.Kind == v1alpha1.DomainRefKindClusterDomain {
		return "ClusterDomain " + o.Meta.Name
	}
	return "Domain " + o.Meta.Namespace + "/" + o.Meta.Name
}

// Sub is the name-derived prefix of the children's names: the object name with dots
// replaced by "--" (dots are not allowed in every child's name), cut to 57 characters.
func (o *Object) Sub() string {
	sub := strings.ReplaceAll(o.Meta.Name, ".", "--")
	if len(sub) > maxSubLength {
		sub = strings.TrimRight(sub[:maxSubLength], "-")
	}
	return sub
}

// SubNamespace is where the Gateway, Gardener Certificate and DNSEntries live: the Domain's
// namespace or, for a ClusterDomain, the operator's namespace.
func (o *Object) SubNamespace(operatorNamespace string) string {
	if o.Kind == v1alpha1.DomainRefKindClusterDomain {
		return operatorNamespace
	}
	return o.Meta.Namespace
}

// CredentialName is the name of the TLS Secret the certificate is stored in, in the ingress
// gateway's namespace, where Istio reads it.
func CredentialName(subNamespace, sub, certManager string) string {
	suffix := "-cert-manager"
	if certManager == CertManagerGardener {
		suffix = "-gardener"
	}
	return subNamespace + "--" + sub + suffix
}

// OwnerReference is the controller reference children in reach of the object carry, so they
// are garbage-collected with it.
func (o *Object) OwnerReference() metav1.OwnerReference {
	return *metav1.NewControllerRef(o.Meta, v1alpha1.SchemeGroupVersion.WithKind(string(o.Kind)))
}

// ParseOwnerID splits a Domain or ClusterDomain owner identifier into kind, namespace and
// name; ok is false for identifiers of other owners.
func ParseOwnerID(id string) (kind v1alpha1.DomainRefKind, namespace, name string, ok bool) {
	if rest, found := strings.CutPrefix(id, "ClusterDomain."); found && rest != "" {
		return v1alpha1.DomainRefKindClusterDomain, "", rest, true
	}
	if rest, found := strings.CutPrefix(id, "Domain."); found {
		// Namespaces are DNS labels without dots, so the first dot ends the namespace.
		if ns, n, cut := strings.Cut(rest, "."); cut && ns != "" && n != "" {
			return v1alpha1.DomainRefKindDomain, ns, n, true
		}
	}
	return "", "", "", false
}
