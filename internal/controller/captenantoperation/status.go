package captenantoperation

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// eventAction is the action of the events this controller records.
const eventAction = "TrackJob"

// outcome is the result of one reconciliation, from which the status is computed.
type outcome struct {
	// state is the new state; "" keeps the current one (Processing for a new operation).
	state v1alpha1.CAPTenantOperationState
	// finished sets Ready True: the operation has ended.
	finished bool
	reason   string
	message  string
	// step (1-based) and job are the running step and its Job; nil clears them.
	step *uint32
	job  *string
}

// computeStatus returns the status an operation should have after a reconciliation. A
// running operation being deleted shows state Deleting (its steps still run to the end).
func computeStatus(op *v1alpha1.CAPTenantOperation, o outcome) v1alpha1.CAPTenantOperationStatus {
	status := *op.Status.DeepCopy()
	status.ObservedGeneration = op.Generation
	switch {
	case o.state != "":
		status.State = o.state
	case op.DeletionTimestamp != nil:
		status.State = v1alpha1.CAPTenantOperationStateDeleting
	case status.State == "":
		status.State = v1alpha1.CAPTenantOperationStateProcessing
	}
	ready := metav1.ConditionFalse
	if o.finished {
		ready = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionTypeReady, Status: ready, Reason: o.reason, Message: o.message, ObservedGeneration: op.Generation,
	})
	status.CurrentStep, status.ActiveJob = o.step, o.job
	return status
}

// writeStatus writes the computed status when it differs from the stored one and reports
// whether it wrote.
func (ctl *Controller) writeStatus(ctx context.Context, op *v1alpha1.CAPTenantOperation, o outcome) (bool, error) {
	status := computeStatus(op, o)
	if apiequality.Semantic.DeepEqual(status, op.Status) {
		return false, nil
	}
	updated := op.DeepCopy()
	updated.Status = status
	_, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenantOperations(op.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	return err == nil, err
}

// stepError records a problem that keeps the current step from running (a missing version,
// workload or tenant): Ready False with the reason, the state kept, and a Warning event when
// the status changes. It returns nil: the change that resolves it requeues the operation.
func (ctl *Controller) stepError(ctx context.Context, op *v1alpha1.CAPTenantOperation, reason, message string) error {
	wrote, err := ctl.writeStatus(ctx, op, outcome{reason: reason, message: message, step: op.Status.CurrentStep, job: op.Status.ActiveJob})
	if wrote {
		ctl.c.Recorder.Eventf(op, nil, corev1.EventTypeWarning, reason, eventAction, "%s", message)
	}
	return err
}
