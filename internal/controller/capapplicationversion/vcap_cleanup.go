package capapplicationversion

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// cleanupVCAPSecrets deletes the VCAP_SERVICES Secrets a Deployment no longer needs (see
// staleVCAPSecrets). The delete names the UID it saw, so a Secret re-created under the same
// name meanwhile survives.
func (ctl *Controller) cleanupVCAPSecrets(ctx context.Context, in input, d *appsv1.Deployment) error {
	if d == nil {
		return nil
	}
	selector := labels.SelectorFromSet(labels.Set{v1alpha1.LabelSecretOwnerHash: workload.VCAPOwnerHash(in.cav, d.Name)})
	objs, err := ctl.secrets.ByNamespace(d.Namespace).List(selector)
	if err != nil {
		return err
	}
	metas := make([]metav1.Object, 0, len(objs))
	for _, o := range objs {
		if m, ok := controller.MetaOf(o); ok {
			metas = append(metas, m)
		}
	}
	for _, stale := range staleVCAPSecrets(d, metas) {
		uid := stale.GetUID()
		err := ctl.c.Clients.Kube.CoreV1().Secrets(d.Namespace).Delete(ctx, stale.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting superseded VCAP_SERVICES secret %s: %w", stale.GetName(), err)
		}
		klog.FromContext(ctx).V(2).Info("Deleted superseded VCAP_SERVICES secret", "secret", klog.KRef(d.Namespace, stale.GetName()), "deployment", klog.KObj(d))
	}
	return nil
}

// staleVCAPSecrets returns, among the VCAP_SERVICES Secrets of one Deployment (all carrying
// its secret-owner-hash), those that may be deleted:
//   - not the Secret the pod template injects;
//   - only once the Deployment has rolled out completely: a pod of an older template would
//     restart its containers without credentials (the envFrom is optional);
//   - only Secrets created before the injected one: a newer Secret was just written by the
//     credential rollout, which points the Deployment at it next.
//
// Nothing is stale while the injected Secret is not among them (the cache lags behind).
func staleVCAPSecrets(d *appsv1.Deployment, secrets []metav1.Object) []metav1.Object {
	if !rolledOut(d) {
		return nil
	}
	current := workload.VCAPSecretOf(&d.Spec.Template.Spec)
	var injected metav1.Object
	for _, s := range secrets {
		if s.GetName() == current {
			injected = s
		}
	}
	if injected == nil {
		return nil
	}
	created := injected.GetCreationTimestamp()
	var out []metav1.Object
	for _, s := range secrets {
		t := s.GetCreationTimestamp()
		if s.GetName() != current && s.GetDeletionTimestamp() == nil && t.Before(&created) {
			out = append(out, s)
		}
	}
	return out
}

// rolledOut reports whether every pod of a Deployment runs its current template: the
// controller observed the latest spec, and all replicas, and no more, are updated ones.
func rolledOut(d *appsv1.Deployment) bool {
	if d.Status.ObservedGeneration < d.Generation {
		return false
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return d.Status.UpdatedReplicas == want && d.Status.Replicas == want
}
