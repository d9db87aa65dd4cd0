package capapplicationversion

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// finalize handles a version being deleted: it waits while a tenant of the application
// runs or targets this version, then removes the finalizer; the children go with the
// version through garbage collection.
func (ctl *Controller) finalize(ctx context.Context, cav *v1alpha1.CAPApplicationVersion) error {
	if !controller.HasFinalizer(cav, v1alpha1.FinalizerCAPApplicationVersion) {
		return nil
	}
	tenants, err := controller.ByIndex[*v1alpha1.CAPTenant](ctl.tenants, controller.IndexByApplication, controller.ApplicationKey(cav.Namespace, cav.Spec.CAPApplicationInstance))
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if t.Status.CurrentCAPApplicationVersionInstance == cav.Name || t.Spec.Version == cav.Spec.Version {
			// A change of the tenant queues this version again.
			msg := fmt.Sprintf("waiting for tenant %s to move off this version", t.Name)
			return ctl.writeStatus(ctx, cav, outcome{state: v1alpha1.CAPApplicationVersionStateDeleting, reason: ReasonDeleteTriggered, message: msg})
		}
	}
	updated := cav.DeepCopy()
	controller.RemoveFinalizer(updated, v1alpha1.FinalizerCAPApplicationVersion)
	_, err = ctl.c.Clients.SME.SmeV1alpha1().CAPApplicationVersions(cav.Namespace).Update(ctx, updated, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	return err
}
