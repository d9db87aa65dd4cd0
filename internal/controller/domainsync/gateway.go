package domainsync

import (
	"context"
	"fmt"

	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ensureGateway creates or updates the domain's Istio Gateway in the sub namespace and
// returns its name. Gateways of the owner beyond the oldest are deleted: they can only come
// from an interrupted earlier sync.
func (r *Reconciler) ensureGateway(ctx context.Context, l layout) (string, error) {
	want := newGateway(l)
	selector := ownerSelector(l.obj.OwnerHash())
	existing, err := r.gateways.Gateways(l.subNamespace).List(selector)
	if err != nil {
		return "", err
	}
	client := r.clients.Istio.NetworkingV1().Gateways(l.subNamespace)
	oldestFirst(existing)
	for _, extra := range existing[min(1, len(existing)):] {
		if err := client.Delete(ctx, extra.Name, deleteOpts); err != nil && !apierrors.IsNotFound(err) {
			return "", fmt.Errorf("deleting duplicate gateway %s/%s: %w", extra.Namespace, extra.Name, err)
		}
	}
	var current *istionetworkingv1.Gateway
	if len(existing) > 0 {
		current = existing[0]
	} else {
		// The cache may not yet hold a Gateway the previous sync created; ask the API server
		// before creating another with a generated name.
		live, err := client.List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return "", fmt.Errorf("listing gateways: %w", err)
		}
		if len(live.Items) == 0 {
			created, err := client.Create(ctx, want, createOpts)
			if err != nil {
				return "", fmt.Errorf("creating gateway in %s: %w", l.subNamespace, err)
			}
			return created.Name, nil
		}
		current = live.Items[0]
	}
	if hashDiffers(want, current) {
		adopt(want, current)
		if _, err := client.Update(ctx, want, updateOpts); err != nil {
			return "", fmt.Errorf("updating gateway %s/%s: %w", want.Namespace, want.Name, err)
		}
	}
	return current.Name, nil
}

// ensureCACertSecret creates, updates or deletes the additional-CA Secret next to the TLS
// Secret in the ingress namespace. Secrets are cached as metadata only, which is enough to
// compare the content hash.
func (r *Reconciler) ensureCACertSecret(ctx context.Context, l layout) error {
	want := newCACertSecret(l)
	if err := r.deleteCACertSecrets(ctx, l.obj.OwnerHash(), want); err != nil {
		return err
	}
	if want == nil {
		return nil
	}
	client := r.clients.Kube.CoreV1().Secrets(want.Namespace)
	cached, err := r.secrets.ByNamespace(want.Namespace).Get(want.Name)
	if apierrors.IsNotFound(err) {
		if _, err := client.Create(ctx, want, createOpts); err != nil {
			return fmt.Errorf("creating secret %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	existing, err := meta.Accessor(cached)
	if err != nil {
		return err
	}
	// Never take over a Secret this operator did not create.
	if existing.GetLabels()[v1alpha1.LabelOwnerIdentifierHash] != l.obj.OwnerHash() {
		return fmt.Errorf("secret %s/%s exists and is not owned by %s", want.Namespace, want.Name, l.obj.Describe())
	}
	if !hashDiffers(want, existing) {
		return nil
	}
	adopt(want, existing)
	if _, err := client.Update(ctx, want, updateOpts); err != nil {
		return fmt.Errorf("updating secret %s/%s: %w", want.Namespace, want.Name, err)
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
