package captenantoperation

import (
	"context"
	"fmt"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// errSeveralJobs marks a step with more than one Job; it is reported as a step error.
type errSeveralJobs struct{ step int }

func (e errSeveralJobs) Error() string {
	return fmt.Sprintf("more than one Job is labelled as step %d of this operation; delete the extra Jobs", e.step)
}

// stepJob returns the Job of step i (0-based): the one with the operator's deterministic
// name or, for an operation the previous implementation started, the Job it created for the
// step with a generated name. Adopting that Job, instead of creating a second one, keeps a
// step from running twice when this operator takes over. A NotFound error means the step has
// no Job yet.
func (ctl *Controller) stepJob(op *v1alpha1.CAPTenantOperation, i int, name string) (*batchv1.Job, error) {
	job, err := ctl.jobs.Jobs(op.Namespace).Get(name)
	if !apierrors.IsNotFound(err) {
		return job, err
	}
	controlled, indexErr := controller.ByIndex[*batchv1.Job](ctl.jobIndex, indexJobsByController, string(op.UID))
	if indexErr != nil {
		return nil, indexErr
	}
	selector := labels.SelectorFromSet(stepJobLabels(op, i))
	var owned []*batchv1.Job
	for _, j := range controlled {
		if j.Namespace == op.Namespace && selector.Matches(labels.Set(j.Labels)) {
			owned = append(owned, j)
		}
	}
	switch len(owned) {
	case 0:
		return nil, err
	case 1:
		return owned[0], nil
	default:
		return nil, errSeveralJobs{step: i + 1}
	}
}

// stepJobLabels are the labels that identify the Job of step i, set by this operator and by
// the previous implementation alike: the operation's owner hash, its type, the 1-based step
// number and the step's workload type and name.
func stepJobLabels(op *v1alpha1.CAPTenantOperation, i int) labels.Set {
	step := op.Spec.Steps[i]
	return labels.Set{
		v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(op.Namespace, op.Name),
		v1alpha1.LabelTenantOperationType: string(op.Spec.Operation),
		v1alpha1.LabelTenantOperationStep: strconv.Itoa(i + 1),
		v1alpha1.LabelWorkloadType:        string(step.Type),
		v1alpha1.LabelWorkloadName:        identity.LabelValue(step.Name),
	}
}

// severalJobs turns errSeveralJobs into a step error on the operation; other errors are
// returned for a retry.
func (ctl *Controller) severalJobs(ctx context.Context, op *v1alpha1.CAPTenantOperation, i int, err error) error {
	if e, ok := err.(errSeveralJobs); ok {
		return ctl.stepError(ctx, op, tenant.ReasonStepProcessingError, stepMessage(op, i, e.Error()))
	}
	return err
}
