package capapplicationversion

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Condition reasons of a CAPApplicationVersion.
const (
	ReasonReadyForProcessing   = "ReadyForProcessing"
	ReasonWaitingForSecrets    = "WaitingForSecrets"
	ReasonWaitingForWorkloads  = "WaitingForWorkloads"
	ReasonWaitingForDNSEntries = "WaitingForServiceDNSEntries"
	ReasonWorkloadsReady       = "WorkloadsReady"
	ReasonDeleteTriggered      = "DeleteTriggered"
	ReasonInvalidEnv           = "ErrorInEnvironmentConfiguration"
	ReasonContentJobError      = "ErrorInContentDeploymentJob"
	ReasonDeploymentError      = "ErrorInServerDeployment"
	ReasonServiceError         = "ErrorInServerService"
	ReasonNetworkPolicyError   = "ErrorInNetworkPolicy"
	ReasonWorkloadStatusError  = "ErrorInWorkloadStatus"
)

// outcome is the result of one reconciliation, from which the status is computed.
type outcome struct {
	// state is the resulting state; Ready, Processing or Error.
	state v1alpha1.CAPApplicationVersionState
	// reason and message of the Ready condition.
	reason, message string
	// finishedJobs are the content Jobs that completed or failed.
	finishedJobs []string
	// err is the error behind an Error state, or a transient error (then the status is not
	// written and the sync is retried).
	err error
}

// ready is the outcome of a fully reconciled version.
func ready(finished []string) outcome {
	return outcome{state: v1alpha1.CAPApplicationVersionStateReady, reason: ReasonWorkloadsReady, message: "all workloads are ready", finishedJobs: finished}
}

// waiting is the outcome of a version waiting for something an event will announce.
func waiting(reason, format string, args ...any) outcome {
	return outcome{state: v1alpha1.CAPApplicationVersionStateProcessing, reason: reason, message: fmt.Sprintf(format, args...)}
}

// failed is the outcome of a version that cannot become Ready until something changes.
func failed(reason string, err error) outcome {
	return outcome{state: v1alpha1.CAPApplicationVersionStateError, reason: reason, message: err.Error(), err: err}
}

// transient is the outcome of a failure that is retried with backoff.
func transient(err error) outcome {
	return outcome{err: err}
}

// computeStatus returns the status a version should have after a reconciliation.
func computeStatus(cav *v1alpha1.CAPApplicationVersion, o outcome) v1alpha1.CAPApplicationVersionStatus {
	status := *cav.Status.DeepCopy()
	status.ObservedGeneration = cav.Generation
	status.State = o.state
	if o.finishedJobs != nil {
		status.FinishedJobs = o.finishedJobs
	}
	cond := metav1.Condition{
		Type: v1alpha1.ConditionTypeReady, Status: metav1.ConditionFalse,
		Reason: o.reason, Message: o.message, ObservedGeneration: cav.Generation,
	}
	if o.state == v1alpha1.CAPApplicationVersionStateReady {
		cond.Status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&status.Conditions, cond)
	return status
}

// writeStatus writes the computed status when it differs from the stored one and records a
// warning event when the version enters the Error state.
func (ctl *Controller) writeStatus(ctx context.Context, cav *v1alpha1.CAPApplicationVersion, o outcome) error {
	status := computeStatus(cav, o)
	if apiequality.Semantic.DeepEqual(status, cav.Status) {
		return nil
	}
	if o.state == v1alpha1.CAPApplicationVersionStateError && cav.Status.State != o.state {
		ctl.c.Recorder.Eventf(cav, nil, "Warning", o.reason, "ReconcileWorkloads", "%s", o.message)
	}
	updated := cav.DeepCopy()
	updated.Status = status
	_, err := ctl.c.Clients.SME.SmeV1alpha1().CAPApplicationVersions(cav.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	return err
}
