package capapplication

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// finalize handles an application being deleted: the provider tenant is deleted (and so
// deprovisioned); while consumer tenants exist the application stays, since deleting it
// would leave subscribed tenants without their application. Versions go with the
// application through garbage collection.
func (ctl *Controller) finalize(ctx context.Context, ca *v1alpha1.CAPApplication) error {
	if !controller.HasFinalizer(ca, v1alpha1.FinalizerCAPApplication) {
		return nil
	}
	tenants, err := ctl.appTenants(ca)
	if err != nil {
		return err
	}
	consumers := 0
	for _, t := range tenants {
		if t.Labels[v1alpha1.LabelTenantType] == v1alpha1.TenantTypeProvider || t.Name == providerTenantName(ca) {
			if err := ctl.deleteTenant(ctx, t); err != nil {
				return err
			}
			continue
		}
		consumers++
	}
	if len(tenants) > 0 {
		reason, msg := ReasonDeleteTriggered, "waiting for the provider tenant to be deprovisioned"
		if consumers > 0 {
			reason, msg = ReasonTenantsExist, fmt.Sprintf("%d consumer tenants are still subscribed; the application is deleted once they unsubscribe", consumers)
		}
		// Tenant deletions queue the application again.
		return ctl.writeStatus(ctx, ca, notReady(v1alpha1.CAPApplicationStateDeleting, reason, msg), nil)
	}
	updated := ca.DeepCopy()
	controller.RemoveFinalizer(updated, v1alpha1.FinalizerCAPApplication)
	_, err = ctl.c.Clients.SME.SmeV1alpha1().CAPApplications(ca.Namespace).Update(ctx, updated, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	return err
}

// deleteTenant deletes a tenant unless its deletion already started.
func (ctl *Controller) deleteTenant(ctx context.Context, t *v1alpha1.CAPTenant) error {
	if t.DeletionTimestamp != nil {
		return nil
	}
	err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(t.Namespace).Delete(ctx, t.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &t.UID}})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
