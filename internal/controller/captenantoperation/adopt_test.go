package captenantoperation

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// referenceJob is the Job the previous implementation created for step i of op: a generated
// name ("<tenant>-<workload>-<random>"), the step labels and a controller reference to op.
func referenceJob(op *v1alpha1.CAPTenantOperation, i int, suffix string, cond batchv1.JobConditionType) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Name: "t-" + op.Spec.Steps[i].Name + "-" + suffix, Namespace: op.Namespace,
		Labels: stepJobLabels(op, i), OwnerReferences: ownerRef(op),
	}}
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
	}
	return j
}

// referenceStarted is op as the previous implementation left it while running step n with
// the given Job.
func referenceStarted(op *v1alpha1.CAPTenantOperation, n int, job string) *v1alpha1.CAPTenantOperation {
	op = op.DeepCopy()
	op.Status.State, op.Status.CurrentStep, op.Status.ActiveJob = v1alpha1.CAPTenantOperationStateProcessing, ptr.To(uint32(n)), ptr.To(job)
	meta.SetStatusCondition(&op.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: tenant.ReasonStepInitiated,
		Message: "step 1/2 : job ns." + job + " created"})
	return op
}

func TestSyncAdoptsReferenceJobs(t *testing.T) {
	base := newOperation(v1alpha1.CAPTenantOperationTypeUpgrade)
	foreign := base.DeepCopy()
	foreign.UID = "uid-other"
	cases := map[string]syncCase{
		"running reference job is adopted, not duplicated": {
			op: referenceStarted(base, 1, "t-mtx-x7k2p"), jobs: []*batchv1.Job{referenceJob(base, 0, "x7k2p", "")},
			writes: nil, // the status already shows the step and the Job
			state:  v1alpha1.CAPTenantOperationStateProcessing, reason: tenant.ReasonStepInitiated, step: 1, jobName: "t-mtx-x7k2p",
		},
		"completed reference job leads to the next step's own job": {
			op: referenceStarted(base, 1, "t-mtx-x7k2p"), jobs: []*batchv1.Job{referenceJob(base, 0, "x7k2p", batchv1.JobComplete)},
			writes: []string{"create jobs", "update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateProcessing, reason: tenant.ReasonStepInitiated, step: 2, jobName: "t-abcde-notify",
		},
		"a job controlled by another operation is not adopted": {
			op: referenceStarted(base, 1, "t-mtx-x7k2p"), jobs: []*batchv1.Job{referenceJob(foreign, 0, "x7k2p", "")},
			writes: []string{"create secrets", "create jobs", "update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateProcessing, reason: tenant.ReasonStepInitiated, step: 1, jobName: "t-abcde-mtx",
		},
		"two jobs for one step are an error, and nothing is created": {
			op:     referenceStarted(base, 1, "t-mtx-x7k2p"),
			jobs:   []*batchv1.Job{referenceJob(base, 0, "x7k2p", ""), referenceJob(base, 0, "q9w8e", "")},
			writes: []string{"update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateProcessing, reason: tenant.ReasonStepProcessingError, step: 1, jobName: "t-mtx-x7k2p",
		},
	}
	for name, tc := range cases {
		t.Run(name, tc.run)
	}
}
