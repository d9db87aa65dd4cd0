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
	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// cleanupVCAPSecrets deletes the VCAP_SERVICES Secrets a Deployment no longer needs (see
// workload.StaleVCAPSecrets). The delete names the UID it saw, so a Secret re-created under
// the same name meanwhile survives.
func (ctl *Controller) cleanupVCAPSecrets(ctx context.Context, in versionrender.Input, d *appsv1.Deployment) error {
	if d == nil {
		return nil
	}
	selector := labels.SelectorFromSet(labels.Set{v1alpha1.LabelSecretOwnerHash: workload.VCAPOwnerHash(in.CAV, d.Name)})
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
	for _, stale := range workload.StaleVCAPSecrets(d, metas) {
		uid := stale.GetUID()
		err := ctl.c.Clients.Kube.CoreV1().Secrets(d.Namespace).Delete(ctx, stale.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting superseded VCAP_SERVICES secret %s: %w", stale.GetName(), err)
		}
		klog.FromContext(ctx).V(2).Info("Deleted superseded VCAP_SERVICES secret", "secret", klog.KRef(d.Namespace, stale.GetName()), "deployment", klog.KObj(d))
	}
	return nil
}
