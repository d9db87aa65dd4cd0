package domainsync

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// RegisterHandlers routes to q the events that concern objects of kind: changes of the
// children (Gateways, Certificates, DNSEntries, NetworkPolicies, additional-CA Secrets) to
// their owner, and changes
// of CAPApplications to the domains they reference. get looks an owner up by namespace
// (empty for a ClusterDomain) and name.
func (r *Reconciler) RegisterHandlers(kind v1alpha1.DomainRefKind, q controller.Queue, get controller.OwnerGetter) error {
	notify := func(child metav1.Object) {
		if key, ok := ownerKey(child, kind, get); ok {
			controller.EnqueueBatched(q, key)
		}
	}
	for _, i := range r.dependentInformers {
		if _, err := i.AddEventHandler(controller.DependentHandler(notify)); err != nil {
			return fmt.Errorf("registering a dependent handler: %w", err)
		}
	}
	if _, err := r.appInformer.AddEventHandler(appHandler(kind, q)); err != nil {
		return fmt.Errorf("registering the CAPApplication handler: %w", err)
	}
	// A change of any Domain or ClusterDomain may create or resolve a duplicate host of an
	// object of this kind, which then checks again at once instead of after its recheck.
	sameHost := r.sameHostHandler(kind, q)
	for _, i := range r.domainInformers {
		if _, err := i.AddEventHandler(sameHost); err != nil {
			return fmt.Errorf("registering the duplicate-host handler: %w", err)
		}
	}
	return nil
}

// sameHostHandler enqueues the objects of kind that share a host-hash label with a changed
// Domain or ClusterDomain (before or after the change), except that object itself.
func (r *Reconciler) sameHostHandler(kind v1alpha1.DomainRefKind, q controller.Queue) cache.ResourceEventHandlerFuncs {
	enqueue := func(obj any) {
		changed, ok := controller.MetaOf(obj)
		if !ok || changed.GetLabels()[v1alpha1.LabelDomainHostHash] == "" {
			return
		}
		selector := labels.SelectorFromSet(labels.Set{v1alpha1.LabelDomainHostHash: changed.GetLabels()[v1alpha1.LabelDomainHostHash]})
		var keys []cache.ObjectName
		if kind == v1alpha1.DomainRefKindDomain {
			domains, err := r.domains.List(selector)
			if err != nil {
				utilruntime.HandleError(fmt.Errorf("listing Domains with host hash %s: %w", changed.GetLabels()[v1alpha1.LabelDomainHostHash], err))
			}
			for _, d := range domains {
				keys = append(keys, cache.ObjectName{Namespace: d.Namespace, Name: d.Name})
			}
		} else {
			clusterDomains, err := r.clusterDomains.List(selector)
			if err != nil {
				utilruntime.HandleError(fmt.Errorf("listing ClusterDomains with host hash %s: %w", changed.GetLabels()[v1alpha1.LabelDomainHostHash], err))
			}
			for _, d := range clusterDomains {
				keys = append(keys, cache.ObjectName{Name: d.Name})
			}
		}
		for _, key := range keys {
			if key.Namespace != changed.GetNamespace() || key.Name != changed.GetName() {
				controller.EnqueueBatched(q, key)
			}
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue,
		UpdateFunc: func(oldObj, newObj any) {
			enqueue(oldObj)
			enqueue(newObj)
		},
		DeleteFunc: enqueue,
	}
}

// ownerKey finds the owner of a child through its owner-identifier annotation, which every
// child carries (Certificates and Secrets in other namespaces cannot have an owner
// reference). When the child also has a controller reference, the owner's UID must match,
// so that a child of a deleted owner is not attributed to a new one of the same name.
func ownerKey(child metav1.Object, kind v1alpha1.DomainRefKind, get controller.OwnerGetter) (cache.ObjectName, bool) {
	k, ns, name, ok := domainrender.ParseOwnerID(child.GetAnnotations()[v1alpha1.AnnotationOwnerIdentifier])
	if !ok || k != kind {
		return cache.ObjectName{}, false
	}
	owner, err := get(ns, name)
	if err != nil {
		return cache.ObjectName{}, false
	}
	if ref := metav1.GetControllerOfNoCopy(child); ref != nil && ref.Kind == string(kind) && ref.UID != owner.GetUID() {
		return cache.ObjectName{}, false
	}
	return cache.ObjectName{Namespace: ns, Name: name}, true
}

// appHandler enqueues the domains of kind an application references, before and after a
// change of its references, its observed subdomains (which drive DNS entries) or its
// deletion (which may unblock a domain's deletion).
func appHandler(kind v1alpha1.DomainRefKind, q controller.Queue) cache.ResourceEventHandlerFuncs {
	enqueue := func(ca *v1alpha1.CAPApplication) {
		for _, ref := range ca.Spec.DomainRefs {
			if ref.Kind != kind {
				continue
			}
			key := cache.ObjectName{Name: ref.Name}
			if kind == v1alpha1.DomainRefKindDomain {
				key.Namespace = ca.Namespace
			}
			controller.EnqueueBatched(q, key)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if ca, ok := asApp(obj); ok {
				enqueue(ca)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			oldCA, ok1 := asApp(oldObj)
			newCA, ok2 := asApp(newObj)
			if !ok1 || !ok2 || !relevantAppChange(oldCA, newCA) {
				return
			}
			enqueue(oldCA)
			enqueue(newCA)
		},
		DeleteFunc: func(obj any) {
			if ca, ok := asApp(obj); ok {
				enqueue(ca)
			}
		},
	}
}

// relevantAppChange reports whether an application update matters to its domains.
func relevantAppChange(oldCA, newCA *v1alpha1.CAPApplication) bool {
	return oldCA.ResourceVersion != newCA.ResourceVersion &&
		(!slices.Equal(oldCA.Spec.DomainRefs, newCA.Spec.DomainRefs) ||
			!slices.Equal(oldCA.Status.ObservedSubdomains, newCA.Status.ObservedSubdomains) ||
			!oldCA.DeletionTimestamp.Equal(newCA.DeletionTimestamp))
}

// asApp unwraps a CAPApplication from an informer event object.
func asApp(obj any) (*v1alpha1.CAPApplication, bool) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	ca, ok := obj.(*v1alpha1.CAPApplication)
	return ca, ok
}
