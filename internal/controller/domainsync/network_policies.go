package domainsync

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ensureNetworkPolicies keeps one NetworkPolicy per namespace of a referencing application
// (for a Domain that is its own namespace only, since Domain references are local) and
// removes those of namespaces no longer referencing the domain.
func (r *Reconciler) ensureNetworkPolicies(ctx context.Context, l layout, apps []*v1alpha1.CAPApplication) error {
	namespaces := sets.New[string]()
	for _, ca := range apps {
		if l.obj.Kind == v1alpha1.DomainRefKindDomain && ca.Namespace != l.obj.Meta.Namespace {
			continue
		}
		namespaces.Insert(ca.Namespace)
	}
	existing, err := r.networkPols.List(ownerSelector(l.obj.OwnerHash()))
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
func (r *Reconciler) ensureNetworkPolicy(ctx context.Context, l layout, namespace string, current *networkingv1.NetworkPolicy) error {
	want := newNetworkPolicy(l, namespace)
	client := r.clients.Kube.NetworkingV1().NetworkPolicies(namespace)
	if current == nil {
		// The cache may lag behind a policy created by the previous sync.
		live, err := client.List(ctx, metav1.ListOptions{LabelSelector: ownerSelector(l.obj.OwnerHash()).String()})
		if err != nil {
			return fmt.Errorf("listing network policies in %s: %w", namespace, err)
		}
		if len(live.Items) == 0 {
			if _, err := client.Create(ctx, want, createOpts); err != nil {
				return fmt.Errorf("creating network policy in %s: %w", namespace, err)
			}
			return nil
		}
		current = &live.Items[0]
	}
	if !hashDiffers(want, current) {
		return nil
	}
	adopt(want, current)
	if _, err := client.Update(ctx, want, updateOpts); err != nil {
		return fmt.Errorf("updating network policy %s/%s: %w", namespace, want.Name, err)
	}
	return nil
}

// deleteNetworkPolicy deletes one NetworkPolicy.
func (r *Reconciler) deleteNetworkPolicy(ctx context.Context, np *networkingv1.NetworkPolicy) error {
	err := r.clients.Kube.NetworkingV1().NetworkPolicies(np.Namespace).Delete(ctx, np.Name, deleteOpts)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting network policy %s/%s: %w", np.Namespace, np.Name, err)
	}
	return nil
}
