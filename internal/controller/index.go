package controller

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Index names used on the sme.sap.com informers. Controllers add them with AddIndexers
// before the informers start; adding an index twice is an error, so use EnsureIndex.
const (
	// IndexByApplication indexes CAPApplicationVersions, CAPTenants by "<ns>/<app name>".
	IndexByApplication = "byApplication"
	// IndexByDomainRef indexes CAPApplications by "Domain/<ns>/<name>" and
	// "ClusterDomain/<name>" for each domain they reference.
	IndexByDomainRef = "byDomainRef"
	// IndexBySecret indexes CAPApplications by "<ns>/<secret>" for each binding Secret.
	IndexBySecret = "bySecret"
)

// ApplicationKey is the IndexByApplication value of an object of app in namespace.
func ApplicationKey(namespace, app string) string { return namespace + "/" + app }

// DomainRefKey is the IndexByDomainRef value of a reference made from namespace.
func DomainRefKey(namespace string, ref v1alpha1.DomainRef) string {
	if ref.Kind == v1alpha1.DomainRefKindClusterDomain {
		return "ClusterDomain/" + ref.Name
	}
	return "Domain/" + namespace + "/" + ref.Name
}

// byApplication indexes versions and tenants by their application.
func byApplication(obj any) ([]string, error) {
	switch o := obj.(type) {
	case *v1alpha1.CAPApplicationVersion:
		return []string{ApplicationKey(o.Namespace, o.Spec.CAPApplicationInstance)}, nil
	case *v1alpha1.CAPTenant:
		return []string{ApplicationKey(o.Namespace, o.Spec.CAPApplicationInstance)}, nil
	}
	return nil, fmt.Errorf("byApplication: unexpected type %T", obj)
}

// byDomainRef indexes applications by the domains they reference.
func byDomainRef(obj any) ([]string, error) {
	ca, ok := obj.(*v1alpha1.CAPApplication)
	if !ok {
		return nil, fmt.Errorf("byDomainRef: unexpected type %T", obj)
	}
	keys := make([]string, 0, len(ca.Spec.DomainRefs))
	for _, ref := range ca.Spec.DomainRefs {
		keys = append(keys, DomainRefKey(ca.Namespace, ref))
	}
	return keys, nil
}

// bySecret indexes applications by their binding Secrets.
func bySecret(obj any) ([]string, error) {
	ca, ok := obj.(*v1alpha1.CAPApplication)
	if !ok {
		return nil, fmt.Errorf("bySecret: unexpected type %T", obj)
	}
	keys := make([]string, 0, len(ca.Spec.BTP.Services))
	for _, s := range ca.Spec.BTP.Services {
		keys = append(keys, ca.Namespace+"/"+s.Secret)
	}
	return keys, nil
}

// indexFuncs maps index names to their functions.
var indexFuncs = map[string]cache.IndexFunc{
	IndexByApplication: byApplication,
	IndexByDomainRef:   byDomainRef,
	IndexBySecret:      bySecret,
}

// EnsureIndex adds the named indexes to an informer unless it already has them.
func EnsureIndex(informer cache.SharedIndexInformer, names ...string) error {
	add := cache.Indexers{}
	for _, name := range names {
		if _, ok := informer.GetIndexer().GetIndexers()[name]; ok {
			continue
		}
		fn, ok := indexFuncs[name]
		if !ok {
			return fmt.Errorf("unknown index %q", name)
		}
		add[name] = fn
	}
	if len(add) == 0 {
		return nil
	}
	return informer.AddIndexers(add)
}

// ByIndex returns the objects of an indexer under one index value, typed.
func ByIndex[T any](indexer cache.Indexer, index, value string) ([]T, error) {
	objs, err := indexer.ByIndex(index, value)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// ByIndexForEvent is ByIndex for event handlers, which cannot return an error: a failed
// lookup (an index the informer lacks, a programming error) is reported through
// utilruntime.HandleError and yields no objects.
func ByIndexForEvent[T any](indexer cache.Indexer, index, value string) []T {
	out, err := ByIndex[T](indexer, index, value)
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("looking up %s=%q: %w", index, value, err))
	}
	return out
}

// ApplicationsOfDomain returns, for an event handler, the applications whose domainRefs name
// the changed Domain or ClusterDomain (from an indexer with IndexByDomainRef).
func ApplicationsOfDomain(caIndexer cache.Indexer, domain metav1.Object) []*v1alpha1.CAPApplication {
	ref := v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindDomain, Name: domain.GetName()}
	if _, ok := domain.(*v1alpha1.ClusterDomain); ok {
		ref.Kind = v1alpha1.DomainRefKindClusterDomain
	}
	return ByIndexForEvent[*v1alpha1.CAPApplication](caIndexer, IndexByDomainRef, DomainRefKey(domain.GetNamespace(), ref))
}

// ApplicationsOfSecret returns, for an event handler, the applications bound to the changed
// Secret (from an indexer with IndexBySecret).
func ApplicationsOfSecret(caIndexer cache.Indexer, secret metav1.Object) []*v1alpha1.CAPApplication {
	return ByIndexForEvent[*v1alpha1.CAPApplication](caIndexer, IndexBySecret, secret.GetNamespace()+"/"+secret.GetName())
}

// Indexers returns the named index functions, for indexers built outside informers (tests).
func Indexers(names ...string) cache.Indexers {
	out := cache.Indexers{}
	for _, n := range names {
		if fn, ok := indexFuncs[n]; ok {
			out[n] = fn
		}
	}
	return out
}
