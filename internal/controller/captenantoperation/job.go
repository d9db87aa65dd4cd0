package captenantoperation

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// jobInput is what the Job of one step is built from.
type jobInput struct {
	ca  *v1alpha1.CAPApplication
	cav *v1alpha1.CAPApplicationVersion
	op  *v1alpha1.CAPTenantOperation
	// index is the 0-based step index; name the Job's name.
	index int
	name  string
	// step is the resolved workload of the step.
	step tenant.StepJob
	// vcapSecret and payloadSecret are the Secrets the Job reads ("" for none).
	vcapSecret, payloadSecret string
}

// ownerRef makes the operation the controller of a Job or Secret, so its events reach this
// controller and it is garbage collected with the operation.
func ownerRef(op *v1alpha1.CAPTenantOperation) []metav1.OwnerReference {
	return []metav1.OwnerReference{*metav1.NewControllerRef(op, v1alpha1.SchemeGroupVersion.WithKind(Kind))}
}

// podLabels are the labels of a step's pods: the workload's labels under the operator's
// step labels.
func podLabels(in jobInput) map[string]string {
	stepDef := in.op.Spec.Steps[in.index]
	return controller.MergeMaps(in.step.Workload.Labels, map[string]string{
		v1alpha1.LabelApp:                 in.ca.Spec.BTPAppName,
		v1alpha1.LabelTenantOperationType: string(in.op.Spec.Operation),
		v1alpha1.LabelTenantOperationStep: strconv.Itoa(in.index + 1),
		v1alpha1.LabelWorkloadName:        identity.LabelValue(stepDef.Name),
		v1alpha1.LabelWorkloadType:        string(stepDef.Type),
		v1alpha1.LabelResourceCategory:    v1alpha1.CategoryWorkload,
	})
}

// newJob builds the Job of one step. The Job carries the owner labels (the operator's Job
// informer only sees labelled Jobs) and a controller reference to the operation.
func newJob(in jobInput) *batchv1.Job {
	stepDef := in.op.Spec.Steps[in.index]
	envIn := tenant.EnvInput{CA: in.ca, CAV: in.cav, Operation: in.op, StepType: stepDef.Type, PayloadSecret: in.payloadSecret}
	command, args := tenant.Command(envIn, &in.step.Common)
	restart := in.step.Common.RestartPolicy
	if restart == "" {
		restart = corev1.RestartPolicyNever
	}
	pods := podLabels(in)
	template := workload.PodTemplate(workload.PodInput{
		ContainerName: in.step.Workload.Name, Common: &in.step.Common,
		Env: tenant.Env(envIn), VCAPSecret: in.vcapSecret,
		PullSecrets: in.cav.Spec.RegistrySecrets,
		Labels:      pods, Annotations: in.step.Workload.Annotations,
		RestartPolicy: restart, Command: command, Args: args,
	})
	labels := controller.MergeMaps(pods, map[string]string{
		v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(in.op.Namespace, in.op.Name),
		v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(in.op.Generation, 10),
	})
	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: in.name, Namespace: in.op.Namespace, Labels: labels,
			Annotations:     controller.MergeMaps(in.step.Workload.Annotations, map[string]string{v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(in.op.Namespace, in.op.Name)}),
			OwnerReferences: ownerRef(in.op),
		},
		Spec: batchv1.JobSpec{Template: template},
	}
	if j := in.step.Job; j != nil {
		job.Spec.BackoffLimit, job.Spec.TTLSecondsAfterFinished, job.Spec.ActiveDeadlineSeconds = j.BackoffLimit, j.TTLSecondsAfterFinished, j.ActiveDeadlineSeconds
	}
	return job
}

// jobResult reads whether a Job has finished and, when it failed, why.
func jobResult(job *batchv1.Job) (finished, failed bool, reason string) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, false, ""
		case batchv1.JobFailed:
			reason = c.Reason
			if c.Message != "" {
				reason += ": " + c.Message
			}
			return true, true, reason
		}
	}
	return false, false, ""
}
