package domainsync

import (
	"sort"

	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ReferencingApps returns the CAPApplications whose domainRefs name the domain, sorted by
// creation time and then namespace and name, so that "first" and "later" are stable.
func ReferencingApps(indexer cache.Indexer, kind v1alpha1.DomainRefKind, namespace, name string) ([]*v1alpha1.CAPApplication, error) {
	key := controller.DomainRefKey(namespace, v1alpha1.DomainRef{Kind: kind, Name: name})
	objs, err := indexer.ByIndex(controller.IndexByDomainRef, key)
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
