package captenant

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ConditionTypeNetworkingReady is present, and False, while the tenant's VirtualService
// cannot be written because an object the tenant does not control holds its name. It is
// removed once the VirtualService is in place, so tenants without trouble do not carry it.
const ConditionTypeNetworkingReady = "NetworkingReady"

// computeStatus returns the status a decision gives the tenant; conflict, when not nil,
// explains why its VirtualService cannot be written.
func computeStatus(cat *v1alpha1.CAPTenant, d tenant.Decision, conflict *controller.ChildConflictError) v1alpha1.CAPTenantStatus {
	status := *cat.Status.DeepCopy()
	if d.State != "" {
		status.State = d.State
	}
	if d.Condition != nil {
		c := *d.Condition
		c.ObservedGeneration = cat.Generation
		meta.SetStatusCondition(&status.Conditions, c)
		status.ObservedGeneration = cat.Generation
	}
	status.CurrentCAPApplicationVersionInstance = d.Current
	status.PreviousCAPApplicationVersions = d.Previous
	if conflict != nil {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: ConditionTypeNetworkingReady, Status: metav1.ConditionFalse,
			Reason: controller.ReasonChildConflict, Message: conflict.Error(), ObservedGeneration: cat.Generation})
	} else {
		meta.RemoveStatusCondition(&status.Conditions, ConditionTypeNetworkingReady)
	}
	return status
}

// writeStatus writes the computed status when it differs from the stored one and reports
// whether it wrote.
func (ctl *Controller) writeStatus(ctx context.Context, cat *v1alpha1.CAPTenant, d tenant.Decision) (bool, error) {
	return ctl.writeStatusWith(ctx, cat, d, nil)
}

// writeStatusWith is writeStatus with the VirtualService name conflict, if any.
func (ctl *Controller) writeStatusWith(ctx context.Context, cat *v1alpha1.CAPTenant, d tenant.Decision, conflict *controller.ChildConflictError) (bool, error) {
	status := computeStatus(cat, d, conflict)
	if apiequality.Semantic.DeepEqual(status, cat.Status) {
		return false, nil
	}
	updated := cat.DeepCopy()
	updated.Status = status
	_, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(cat.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	return err == nil, err
}

// reportNetworking turns the outcome of ensuring the VirtualService into the tenant's
// NetworkingReady condition: a name conflict sets it (with a warning event when it appears)
// and rechecks later, since the removal of an object the tenant does not own announces
// nothing; success removes it. Other errors are returned for a retry.
func (ctl *Controller) reportNetworking(ctx context.Context, cat *v1alpha1.CAPTenant, d tenant.Decision, err error) error {
	var conflict *controller.ChildConflictError
	if err != nil && !errors.As(err, &conflict) {
		return err
	}
	if conflict == nil && meta.FindStatusCondition(cat.Status.Conditions, ConditionTypeNetworkingReady) == nil {
		return nil
	}
	// The tenant may have been written above: work on the stored object.
	fresh, getErr := ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(cat.Namespace).Get(ctx, cat.Name, metav1.GetOptions{})
	if getErr != nil {
		return getErr
	}
	d.State, d.Condition = "", nil
	wrote, err := ctl.writeStatusWith(ctx, fresh, d, conflict)
	if err != nil || conflict == nil {
		return err
	}
	if wrote && meta.FindStatusCondition(cat.Status.Conditions, ConditionTypeNetworkingReady) == nil {
		ctl.c.Recorder.Eventf(cat, nil, corev1.EventTypeWarning, controller.ReasonChildConflict, networkingAction, "%s", conflict.Error())
	}
	after := conflictRecheck
	if d.Action == tenant.ActionRetryLater && d.After < after {
		after = d.After // the retry the decision asks for comes first
	}
	return controller.RequeueAfter(after, conflict.Error())
}

// conflictRecheck is how often a tenant whose VirtualService name is taken looks again.
const conflictRecheck = 30 * time.Second
