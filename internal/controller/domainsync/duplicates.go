package domainsync

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// checkDuplicates fails when another Domain or ClusterDomain claims the same domain. Objects
// are compared by kind, namespace and name, so a Domain and a ClusterDomain of the same name
// are told apart. Both duplicates go to Error: neither can be trusted to own the host.
func (r *Reconciler) checkDuplicates(obj *domainrender.Object) error {
	selector := labels.SelectorFromSet(labels.Set{v1alpha1.LabelDomainHostHash: identity.SHA1(obj.Spec.Domain)})
	var others []string
	domains, err := r.domains.List(selector)
	if err != nil {
		return err
	}
	for _, d := range domains {
		// The label may lag behind a spec change; compare the domain itself.
		if d.Spec.Domain != obj.Spec.Domain || d.DeletionTimestamp != nil {
			continue
		}
		if obj.Kind != v1alpha1.DomainRefKindDomain || d.Namespace != obj.Meta.Namespace || d.Name != obj.Meta.Name {
			others = append(others, "Domain "+d.Namespace+"/"+d.Name)
		}
	}
	clusterDomains, err := r.clusterDomains.List(selector)
	if err != nil {
		return err
	}
	for _, d := range clusterDomains {
		if d.Spec.Domain != obj.Spec.Domain || d.DeletionTimestamp != nil {
			continue
		}
		if obj.Kind != v1alpha1.DomainRefKindClusterDomain || d.Name != obj.Meta.Name {
			others = append(others, "ClusterDomain "+d.Name)
		}
	}
	if len(others) == 0 {
		return nil
	}
	sort.Strings(others)
	return &syncError{reason: ReasonDuplicateDomainHost, requeueAfter: duplicateRecheck,
		err: fmt.Errorf("domain %q of %s is also used by %s", obj.Spec.Domain, obj.Describe(), strings.Join(others, ", "))}
}
