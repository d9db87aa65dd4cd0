package versionrender

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ContentJobs returns the Content workloads in execution order with their Job names: the
// ContentJobs list when set, else the first Content workload as `<cav>-content`.
func ContentJobs(cav *v1alpha1.CAPApplicationVersion) ([]*v1alpha1.WorkloadDetails, []string) {
	var workloads []*v1alpha1.WorkloadDetails
	var names []string
	if cav.Spec.ContentJobs == nil {
		for i := range cav.Spec.Workloads {
			w := &cav.Spec.Workloads[i]
			if w.JobDefinition != nil && w.JobDefinition.Type == v1alpha1.JobContent {
				return []*v1alpha1.WorkloadDetails{w}, []string{workload.JobName(cav.Name + "-content")}
			}
		}
		return nil, nil
	}
	for _, name := range cav.Spec.ContentJobs {
		if w := workload.Find(cav, name); w != nil && w.JobDefinition != nil {
			workloads = append(workloads, w)
			names = append(names, workload.JobName(workload.Name(cav.Name, w.Name)))
		}
	}
	return workloads, names
}

// NewContentJob builds the Job of a Content workload. Its pods carry only the user's labels
// and the karydia opt-out; the Job itself carries the owner labels so the operator's
// filtered informer sees it.
func NewContentJob(in Input, w *v1alpha1.WorkloadDetails, name, vcapSecret string) *batchv1.Job {
	j := w.JobDefinition
	podLabels := controller.MergeMaps(w.Labels, map[string]string{v1alpha1.LabelDisableKarydiaInject: "true"})
	restart := j.RestartPolicy
	if restart == "" {
		restart = corev1.RestartPolicyNever
	}
	template := workload.PodTemplate(workload.PodInput{
		ContainerName: w.Name, Common: &j.CommonDetails,
		Env: in.AppVersionEnv(), VCAPSecret: vcapSecret,
		PullSecrets: in.CAV.Spec.RegistrySecrets,
		Labels:      podLabels, Annotations: w.Annotations,
		RestartPolicy: restart,
	})
	labels := controller.MergeMaps(w.Labels, in.OwnerLabels())
	labels[v1alpha1.LabelWorkloadName] = name
	labels[v1alpha1.LabelWorkloadType] = string(j.Type)
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: in.ObjectMeta(name, labels, w.Annotations),
		Spec: batchv1.JobSpec{
			BackoffLimit:            j.BackoffLimit,
			TTLSecondsAfterFinished: j.TTLSecondsAfterFinished,
			ActiveDeadlineSeconds:   j.ActiveDeadlineSeconds,
			Template:                template,
		},
	}
}
