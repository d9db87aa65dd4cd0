package domainsync

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ensureNetworkPolicies keeps one NetworkPolicy per namespace of a referencing application
// (for a Domain that is its own namespace only, since Domain references are local) and
// removes those of namespaces no longer referencing the domain.
func (r *Reconciler) ensureNetworkPolicies(ctx context.Context, l domainrender.Layout, apps []*v1alpha1.CAPApplication) error {
	namespaces := sets.New[string]()
	for _, ca := range apps {
		if l.Obj.Kind == v1alpha1.DomainRefKindDomain && ca.Namespace != l.Obj.Meta.Namespace {
			continue
		}
		namespaces.Insert(ca.Namespace)
	}
	existing, err := r.networkPols.List(ownerSelector(l.Obj.OwnerHash()))
	if err != nil {
		return err
	}
	oldestFirst(existing)
	current := map[string]*networkingv1.NetworkPolicy{}
	for _, np := range existing {
		if _, seen := current[np.Namespace]; seen || !namespaces.Has(np.Namespace) {
			if err := r.deleteNetworkPolicy(ctx, np); err != nil {
				return err
			}
			continue
		}
		current[np.Namespace] = np
	}
	for _, ns := range sets.List(namespaces) {
		if err := r.ensureNetworkPolicy(ctx, l, ns, current[ns]); err != nil {
			return err
		}
	}
	return nil
}

// ensureNetworkPolicy creates or updates the NetworkPolicy of one namespace.
func (r *Reconciler) ensureNetworkPolicy(ctx context.Context, l domainrender.Layout, namespace string, current *networkingv1.NetworkPolicy) error {
	want := domainrender.NewNetworkPolicy(l, namespace)
	if current == nil {
		// The cache may lag behind a policy created by the previous sync.
		live, err := r.clients.Kube.NetworkingV1().NetworkPolicies(namespace).List(ctx, metav1.ListOptions{LabelSelector: ownerSelector(l.Obj.OwnerHash()).String()})
		if err != nil {
			return fmt.Errorf("listing network policies in %s: %w", namespace, err)
		}
		if len(live.Items) == 0 {
			_, _, err := controller.CreateChild(ctx, r.networkPolicyChild(), want)
			return childError("creating network policy in "+namespace, err)
		}
		current = &live.Items[0]
	}
	_, _, err := controller.UpdateChild(ctx, r.networkPolicyChild(), want, current)
	return childError("updating network policy "+namespace+"/"+current.Name, err)
}

// deleteNetworkPolicy deletes one NetworkPolicy.
func (r *Reconciler) deleteNetworkPolicy(ctx context.Context, np *networkingv1.NetworkPolicy) error {
	err := r.clients.Kube.NetworkingV1().NetworkPolicies(np.Namespace).Delete(ctx, np.Name, deleteOpts)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting network policy %s/%s: %w", np.Namespace, np.Name, err)
	}
	return nil
}
