package tenant

import (
	"fmt"

	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// StepsError reports a version whose workloads cannot run an operation; the version must
// change before a retry can help.
type StepsError struct{ msg string }

// Error implements error.
func (e *StepsError) Error() string { return e.msg }

// Steps derives the steps of an operation from a version. Without a list for the operation
// in tenantOperations, the single step is the first TenantOperation workload or, when the
// version has none, the CAP deployment workload standing in for it. Otherwise the listed
// TenantOperation and CustomTenantOperation workloads run in order; continueOnFailure
// applies to custom steps only, and at least one TenantOperation step is required.
func Steps(cav *v1alpha1.CAPApplicationVersion, op v1alpha1.CAPTenantOperationType) ([]v1alpha1.CAPTenantOperationStep, error) {
	refs := listedSteps(cav.Spec.TenantOperations, op)
	if len(refs) == 0 {
		return defaultStep(cav)
	}
	var steps []v1alpha1.CAPTenantOperationStep
	hasTenantOperation := false
	for _, ref := range refs {
		w := workload.Find(cav, ref.WorkloadName)
		if w == nil || w.JobDefinition == nil {
			continue
		}
		switch w.JobDefinition.Type {
		case v1alpha1.JobTenantOperation:
			hasTenantOperation = true
			steps = append(steps, v1alpha1.CAPTenantOperationStep{Name: w.Name, Type: v1alpha1.StepTenantOperation})
		case v1alpha1.JobCustomTenantOperation:
			steps = append(steps, v1alpha1.CAPTenantOperationStep{Name: w.Name, Type: v1alpha1.StepCustomTenantOperation, ContinueOnFailure: ref.ContinueOnFailure})
		}
	}
	if !hasTenantOperation {
		return nil, &StepsError{msg: fmt.Sprintf("the %s steps of CAPApplicationVersion %s include no TenantOperation workload", op, cav.Name)}
	}
	return steps, nil
}

// listedSteps returns the workloads tenantOperations lists for an operation.
func listedSteps(ops *v1alpha1.TenantOperations, op v1alpha1.CAPTenantOperationType) []v1alpha1.TenantOperationWorkloadReference {
	if ops == nil {
		return nil
	}
	switch op {
	case v1alpha1.CAPTenantOperationTypeProvisioning:
		return ops.Provisioning
	case v1alpha1.CAPTenantOperationTypeUpgrade:
		return ops.Upgrade
	case v1alpha1.CAPTenantOperationTypeDeprovisioning:
		return ops.Deprovisioning
	}
	return nil
}

// defaultStep returns the single step of a version without a list for the operation.
func defaultStep(cav *v1alpha1.CAPApplicationVersion) ([]v1alpha1.CAPTenantOperationStep, error) {
	for _, w := range cav.Spec.Workloads {
		if w.JobDefinition != nil && w.JobDefinition.Type == v1alpha1.JobTenantOperation {
			return []v1alpha1.CAPTenantOperationStep{{Name: w.Name, Type: v1alpha1.StepTenantOperation}}, nil
		}
	}
	if w := capWorkload(cav); w != nil {
		return []v1alpha1.CAPTenantOperationStep{{Name: w.Name, Type: v1alpha1.StepTenantOperation}}, nil
	}
	return nil, &StepsError{msg: fmt.Sprintf("CAPApplicationVersion %s has neither a TenantOperation nor a CAP workload", cav.Name)}
}

// capWorkload returns the CAP deployment workload of a version.
func capWorkload(cav *v1alpha1.CAPApplicationVersion) *v1alpha1.WorkloadDetails {
	for i := range cav.Spec.Workloads {
		w := &cav.Spec.Workloads[i]
		if w.DeploymentDefinition != nil && w.DeploymentDefinition.Type == v1alpha1.DeploymentCAP {
			return w
		}
	}
	return nil
}

// StepJob is what the Job of one step is built from.
type StepJob struct {
	// Workload is the workload running the step (a job workload, or the CAP deployment
	// standing in for a missing TenantOperation workload).
	Workload *v1alpha1.WorkloadDetails
	// Common are the container and pod settings of the Job.
	Common v1alpha1.CommonDetails
	// Job carries backoffLimit, ttlSecondsAfterFinished and activeDeadlineSeconds; nil for a
	// standing-in deployment.
	Job *v1alpha1.JobDetails
}

// ResolveStep finds the workload of a step. A TenantOperation step naming the CAP deployment
// (a version without TenantOperation workload) runs with the deployment's image, pull policy
// and environment; its consumed services are the workload's.
func ResolveStep(cav *v1alpha1.CAPApplicationVersion, step v1alpha1.CAPTenantOperationStep) (StepJob, error) {
	w := workload.Find(cav, step.Name)
	switch {
	case w == nil:
		return StepJob{}, &StepsError{msg: fmt.Sprintf("CAPApplicationVersion %s has no workload %s", cav.Name, step.Name)}
	case w.JobDefinition != nil:
		return StepJob{Workload: w, Common: w.JobDefinition.CommonDetails, Job: w.JobDefinition}, nil
	case step.Type == v1alpha1.StepTenantOperation && w.DeploymentDefinition != nil && w.DeploymentDefinition.Type == v1alpha1.DeploymentCAP:
		d := w.DeploymentDefinition
		return StepJob{Workload: w, Common: v1alpha1.CommonDetails{Image: d.Image, ImagePullPolicy: d.ImagePullPolicy, Env: d.Env}}, nil
	}
	return StepJob{}, &StepsError{msg: fmt.Sprintf("workload %s of CAPApplicationVersion %s cannot run a %s step", step.Name, cav.Name, step.Type)}
}
