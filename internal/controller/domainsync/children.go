package domainsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	gardenercertv1alpha1 "github.com/gardener/cert-management/pkg/apis/cert/v1alpha1"
	dnsv1alpha1 "github.com/gardener/external-dns-management/pkg/apis/dns/v1alpha1"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainreadiness"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// firstNotReady turns the first failure or wait among the children into the sync's result.
func firstNotReady(rs ...domainreadiness.State) error {
	for _, r := range rs {
		if r.Err != nil {
			return &syncError{reason: ReasonProcessingError, err: r.Err}
		}
	}
	for _, r := range rs {
		if r.NotReady != "" {
			return &syncError{reason: ReasonCertificateNotReady, waiting: true, requeueAfter: readinessRecheck,
				err: fmt.Errorf("%s", r.NotReady)}
		}
	}
	return nil
}

// ownerSelector selects the children of an owner hash.
func ownerSelector(ownerHash string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{v1alpha1.LabelOwnerIdentifierHash: ownerHash})
}

// deleteOpts are the options of every delete.
var deleteOpts = metav1.DeleteOptions{}

// childError turns the error of writing a child (controller.CreateChild or UpdateChild)
// into the sync's result: a name held by an object the domain does not control is reported
// as ChildNameConflict and checked again, a wait (a cache that is behind, a child being
// deleted) is a normal wait, and anything else is wrapped with what was being done. A nil
// err stays nil.
func childError(doing string, err error) error {
	if err == nil {
		return nil
	}
	var conflict *controller.ChildConflictError
	if errors.As(err, &conflict) {
		return &syncError{reason: controller.ReasonChildConflict, err: conflict, requeueAfter: conflictRecheck}
	}
	if after, ok := controller.IsRequeue(err); ok {
		return &syncError{reason: ReasonProcessing, waiting: true, requeueAfter: after, err: err}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// oldestFirst sorts children by creation time, then name, so that among duplicates the
// one that has served longest is kept.
func oldestFirst[T metav1.Object](objs []T) {
	sort.Slice(objs, func(i, j int) bool {
		ti, tj := objs[i].GetCreationTimestamp(), objs[j].GetCreationTimestamp()
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}

// withoutFinalizer returns the finalizers without the domain finalizer and whether it was
// there.
func withoutFinalizer(finalizers []string) ([]string, bool) {
	kept := slices.DeleteFunc(slices.Clone(finalizers), func(f string) bool { return f == v1alpha1.FinalizerDomain })
	return kept, len(kept) != len(finalizers)
}

// The child descriptions below tell controller.CreateChild and UpdateChild how to write each
// kind a domain owns and which part of it the operator manages. The domain's children mostly
// have generated names, so each ensure function finds the existing object itself.

func (r *Reconciler) gatewayChild() controller.Child[*istionetworkingv1.Gateway] {
	return controller.Child[*istionetworkingv1.Gateway]{
		Kind: "Gateway",
		Client: func(ns string) controller.Writer[*istionetworkingv1.Gateway] {
			return r.clients.Istio.NetworkingV1().Gateways(ns)
		},
		Spec:     func(o *istionetworkingv1.Gateway) any { return &o.Spec },
		SetSpec:  func(desired, actual *istionetworkingv1.Gateway) { desired.Spec.DeepCopyInto(&actual.Spec) },
		DeepCopy: (*istionetworkingv1.Gateway).DeepCopy,
	}
}

func (r *Reconciler) certManagerChild() controller.Child[*cmv1.Certificate] {
	return controller.Child[*cmv1.Certificate]{
		Kind: "Certificate",
		Live: controller.LiveMetadata(r.clients.Metadata, cmv1.SchemeGroupVersion.WithResource("certificates")),
		Client: func(ns string) controller.Writer[*cmv1.Certificate] {
			return r.clients.CertManager.CertmanagerV1().Certificates(ns)
		},
		Spec:     func(o *cmv1.Certificate) any { return o.Spec },
		SetSpec:  func(desired, actual *cmv1.Certificate) { desired.Spec.DeepCopyInto(&actual.Spec) },
		DeepCopy: (*cmv1.Certificate).DeepCopy,
	}
}

func (r *Reconciler) gardenerCertChild() controller.Child[*gardenercertv1alpha1.Certificate] {
	return controller.Child[*gardenercertv1alpha1.Certificate]{
		Kind: "Certificate",
		Client: func(ns string) controller.Writer[*gardenercertv1alpha1.Certificate] {
			return r.clients.GardenerCert.CertV1alpha1().Certificates(ns)
		},
		Spec:     func(o *gardenercertv1alpha1.Certificate) any { return o.Spec },
		SetSpec:  func(desired, actual *gardenercertv1alpha1.Certificate) { desired.Spec.DeepCopyInto(&actual.Spec) },
		DeepCopy: (*gardenercertv1alpha1.Certificate).DeepCopy,
	}
}

// secretChild reads the additional-CA Secret live: the Secret cache holds metadata only, and
// the drift rule compares the data.
func (r *Reconciler) secretChild(ctx context.Context) controller.Child[*corev1.Secret] {
	return controller.Child[*corev1.Secret]{
		Kind: "Secret",
		Get: func(ns, n string) (*corev1.Secret, error) {
			return r.clients.Kube.CoreV1().Secrets(ns).Get(ctx, n, metav1.GetOptions{})
		},
		Client:   func(ns string) controller.Writer[*corev1.Secret] { return r.clients.Kube.CoreV1().Secrets(ns) },
		Spec:     func(o *corev1.Secret) any { return o.Data },
		SetSpec:  func(desired, actual *corev1.Secret) { actual.Data = desired.Data },
		DeepCopy: (*corev1.Secret).DeepCopy,
	}
}

func (r *Reconciler) networkPolicyChild() controller.Child[*networkingv1.NetworkPolicy] {
	return controller.Child[*networkingv1.NetworkPolicy]{
		Kind: "NetworkPolicy",
		Client: func(ns string) controller.Writer[*networkingv1.NetworkPolicy] {
			return r.clients.Kube.NetworkingV1().NetworkPolicies(ns)
		},
		Spec:     func(o *networkingv1.NetworkPolicy) any { return o.Spec },
		SetSpec:  func(desired, actual *networkingv1.NetworkPolicy) { desired.Spec.DeepCopyInto(&actual.Spec) },
		DeepCopy: (*networkingv1.NetworkPolicy).DeepCopy,
	}
}

func (r *Reconciler) dnsEntryChild() controller.Child[*dnsv1alpha1.DNSEntry] {
	return controller.Child[*dnsv1alpha1.DNSEntry]{
		Kind: "DNSEntry",
		Client: func(ns string) controller.Writer[*dnsv1alpha1.DNSEntry] {
			return r.clients.GardenerDNS.DnsV1alpha1().DNSEntries(ns)
		},
		Spec:     func(o *dnsv1alpha1.DNSEntry) any { return o.Spec },
		SetSpec:  func(desired, actual *dnsv1alpha1.DNSEntry) { desired.Spec.DeepCopyInto(&actual.Spec) },
		DeepCopy: (*dnsv1alpha1.DNSEntry).DeepCopy,
	}
}
