package captenantoperation

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// prepare makes sure an operation carries the labels and annotations the operator relies
// on, and no owner reference to its tenant (see tenant.WithoutTenantOwner). Operations the
// tenant controller creates already comply; this is for operations created by hand and for
// running operations of earlier versions, which were owned by their tenant. It adds no
// finalizer: an operation that finished needs none, and one deleted while it runs is
// cancelled. It reports false (with the status set) when the tenant cannot be found.
func (ctl *Controller) prepare(ctx context.Context, op *v1alpha1.CAPTenantOperation) (*v1alpha1.CAPTenantOperation, bool, error) {
	_, owned := tenant.WithoutTenantOwner(op.OwnerReferences)
	_, named := tenant.OperationTenant(op)
	if op.DeletionTimestamp != nil || (named && !owned && op.Labels[v1alpha1.LabelTenantOperationType] != "") {
		return op, true, nil
	}
	cat := ctl.tenantOf(op)
	if cat == nil {
		msg := fmt.Sprintf("no CAPTenant with tenant id %s found in namespace %s", op.Spec.TenantId, op.Namespace)
		return nil, false, ctl.stepError(ctx, op, reasonInvalidReference, msg)
	}
	want := op.DeepCopy()
	id := tenant.OperationIdentity(cat, op.Spec.Operation)
	for k, v := range id.Labels {
		controller.SetIfMissing(&want.Labels, k, v)
	}
	for k, v := range id.Annotations {
		controller.SetIfMissing(&want.Annotations, k, v)
	}
	want.OwnerReferences, _ = tenant.WithoutTenantOwner(want.OwnerReferences)
	if !controller.MetadataChanged(op, want) {
		return op, true, nil
	}
	updated, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenantOperations(op.Namespace).Update(ctx, want, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	if err != nil {
		return nil, false, fmt.Errorf("preparing: %w", err)
	}
	return updated, true, nil
}

// tenantOf returns the tenant of an operation: its controller when set (operations of
// earlier versions), the tenant its owner identifier names, else the tenant of the namespace
// with the operation's tenant id (and, when the operation names one, its application), so
// two applications with the same tenant id do not collide.
func (ctl *Controller) tenantOf(op *v1alpha1.CAPTenantOperation) *v1alpha1.CAPTenant {
	if ref := metav1.GetControllerOfNoCopy(op); ref != nil && ref.Kind == "CAPTenant" {
		if t, err := ctl.tenants.CAPTenants(op.Namespace).Get(ref.Name); err == nil && t.UID == ref.UID {
			return t
		}
		return nil
	}
	if name, ok := tenant.OperationTenant(op); ok {
		if t, err := ctl.tenants.CAPTenants(op.Namespace).Get(name); err == nil && t.Spec.TenantId == op.Spec.TenantId {
			return t
		}
		return nil
	}
	selector := labels.Set{v1alpha1.LabelBTPTenantIdentifier: op.Spec.TenantId}
	if app := op.Labels[v1alpha1.LabelAppIdentifierHash]; app != "" {
		selector[v1alpha1.LabelAppIdentifierHash] = app
	}
	cats, err := ctl.tenants.CAPTenants(op.Namespace).List(labels.SelectorFromSet(selector))
	if err != nil || len(cats) == 0 {
		return nil
	}
	var chosen *v1alpha1.CAPTenant
	for _, t := range cats {
		if chosen == nil || t.Name < chosen.Name {
			chosen = t
		}
	}
	return chosen
}

// removeFinalizer lets a finished operation of an earlier version, which carried the
// finalizer, go once it is deleted.
func (ctl *Controller) removeFinalizer(ctx context.Context, op *v1alpha1.CAPTenantOperation) error {
	updated := op.DeepCopy()
	if !controller.RemoveFinalizer(updated, v1alpha1.FinalizerCAPTenantOperation) {
		return nil
	}
	_, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenantOperations(op.Namespace).Update(ctx, updated, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	return err
}
