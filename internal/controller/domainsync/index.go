package domainsync

import (
	"fmt"
	"sort"

	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// DomainRefIndex is the name of the CAPApplication informer index that maps a Domain or
// ClusterDomain to the applications referencing it. The CAPApplication controller may add
// the same index; EnsureDomainRefIndex tolerates that.
const DomainRefIndex = "sme.sap.com/domain-refs"

// DomainRefKey is the index key of a domain: "Domain/<ns>/<name>" or "ClusterDomain/<name>".
// Domain references are namespace-local, so a Domain's key carries the namespace of the
// application that references it.
func DomainRefKey(kind v1alpha1.DomainRefKind, namespace, name string) string {
	if kind == v1alpha1.DomainRefKindClusterDomain {
		return "ClusterDomain/" + name
	}
	return "Domain/" + namespace + "/" + name
}

// IndexByDomainRefs is a cache.IndexFunc for CAPApplications: one key per entry of
// spec.domainRefs.
func IndexByDomainRefs(obj any) ([]string, error) {
	ca, ok := obj.(*v1alpha1.CAPApplication)
	if !ok {
		return nil, nil
	}
	keys := make([]string, 0, len(ca.Spec.DomainRefs))
	for _, ref := range ca.Spec.DomainRefs {
		keys = append(keys, DomainRefKey(ref.Kind, ca.Namespace, ref.Name))
	}
	return keys, nil
}

// EnsureDomainRefIndex adds DomainRefIndex to a CAPApplication informer unless it is there
// already; several controllers share the informer and each may call this before the
// factories start.
func EnsureDomainRefIndex(informer cache.SharedIndexInformer) error {
	if _, exists := informer.GetIndexer().GetIndexers()[DomainRefIndex]; exists {
		return nil
	}
	if err := informer.AddIndexers(cache.Indexers{DomainRefIndex: IndexByDomainRefs}); err != nil {
		return fmt.Errorf("adding the %s index: %w", DomainRefIndex, err)
	}
	return nil
}

// ReferencingApps returns the CAPApplications whose domainRefs name the domain, sorted by
// creation time and then namespace and name, so that "first" and "later" are stable.
func ReferencingApps(indexer cache.Indexer, kind v1alpha1.DomainRefKind, namespace, name string) ([]*v1alpha1.CAPApplication, error) {
	objs, err := indexer.ByIndex(DomainRefIndex, DomainRefKey(kind, namespace, name))
	if err != nil {
		return nil, err
	}
	apps := make([]*v1alpha1.CAPApplication, 0, len(objs))
	for _, obj := range objs {
		if ca, ok := obj.(*v1alpha1.CAPApplication); ok {
			apps = append(apps, ca)
		}
	}
	sort.Slice(apps, func(i, j int) bool {
		ti, tj := apps[i].CreationTimestamp, apps[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		if apps[i].Namespace != apps[j].Namespace {
			return apps[i].Namespace < apps[j].Namespace
		}
		return apps[i].Name < apps[j].Name
	})
	return apps, nil
}
