package domainsync

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
)

// ensureGateway creates or updates the domain's Istio Gateway in the sub namespace and
// returns its name. Gateways of the owner beyond the oldest are deleted: they can only come
// from an interrupted earlier sync.
func (r *Reconciler) ensureGateway(ctx context.Context, l domainrender.Layout) (string, error) {
	want := domainrender.NewGateway(l)
	selector := ownerSelector(l.Obj.OwnerHash())
	existing, err := r.gateways.Gateways(l.SubNamespace).List(selector)
	if err != nil {
		return "", err
	}
	client := r.clients.Istio.NetworkingV1().Gateways(l.SubNamespace)
	oldestFirst(existing)
	for _, extra := range existing[min(1, len(existing)):] {
		if err := client.Delete(ctx, extra.Name, deleteOpts); err != nil && !apierrors.IsNotFound(err) {
			return "", fmt.Errorf("deleting duplicate gateway %s/%s: %w", extra.Namespace, extra.Name, err)
		}
	}
	if len(existing) == 0 {
		// The cache may not yet hold a Gateway the previous sync created; ask the API server
		// before creating another with a generated name.
		live, err := client.List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return "", fmt.Errorf("listing gateways: %w", err)
		}
		existing = live.Items
	}
	if len(existing) == 0 {
		created, _, err := controller.CreateChild(ctx, r.gatewayChild(), want)
		if err != nil {
			return "", childError("creating gateway in "+l.SubNamespace, err)
		}
		return created.Name, nil
	}
	current := existing[0]
	if _, _, err := controller.UpdateChild(ctx, r.gatewayChild(), want, current); err != nil {
		return "", childError("updating gateway "+current.Namespace+"/"+current.Name, err)
	}
	return current.Name, nil
}

// ensureCACertSecret creates, updates or deletes the additional-CA Secret next to the TLS
// Secret in the ingress namespace. A Secret of that name the domain does not own is never
// taken over (a ChildNameConflict).
func (r *Reconciler) ensureCACertSecret(ctx context.Context, l domainrender.Layout) error {
	want := domainrender.NewCACertSecret(l)
	if err := r.deleteCACertSecrets(ctx, l.Obj.OwnerHash(), want); err != nil {
		return err
	}
	if want == nil {
		return nil
	}
	if _, _, err := controller.EnsureChild(ctx, r.secretChild(ctx), want); err != nil {
		return childError("secret "+want.Namespace+"/"+want.Name, err)
	}
	return nil
}

// deleteCACertSecrets deletes the owner's CA Secrets except keep (nil deletes all).
func (r *Reconciler) deleteCACertSecrets(ctx context.Context, ownerHash string, keep *corev1.Secret) error {
	cached, err := r.secrets.List(ownerSelector(ownerHash))
	if err != nil {
		return err
	}
	for _, obj := range cached {
		s, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		if keep != nil && s.GetNamespace() == keep.Namespace && s.GetName() == keep.Name {
			continue
		}
		err = r.clients.Kube.CoreV1().Secrets(s.GetNamespace()).Delete(ctx, s.GetName(), deleteOpts)
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting secret %s/%s: %w", s.GetNamespace(), s.GetName(), err)
		}
	}
	return nil
}
