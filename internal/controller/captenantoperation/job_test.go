package captenantoperation

import (
	"testing"

	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/golden"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestNewJob(t *testing.T) {
	cases := map[string]struct {
		op      v1alpha1.CAPTenantOperationType
		step    int
		payload string
		vcap    string
	}{
		"provisioning":                 {op: v1alpha1.CAPTenantOperationTypeProvisioning, payload: "ctx-secret", vcap: "t-abcde-mtx"},
		"provisioning-without-payload": {op: v1alpha1.CAPTenantOperationTypeProvisioning, vcap: "t-abcde-mtx"},
		"upgrade-custom-step":          {op: v1alpha1.CAPTenantOperationTypeUpgrade, step: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			op, cav := newOperation(tc.op), testCAV()
			sj, err := tenant.ResolveStep(cav, op.Spec.Steps[tc.step])
			if err != nil {
				t.Fatal(err)
			}
			job := newJob(jobInput{ca: testCA(), cav: cav, op: op, index: tc.step, name: tenant.JobName(op.Name, op.Spec.Steps, tc.step),
				step: sj, vcapSecret: tc.vcap, payloadSecret: tc.payload})
			golden.CheckNamed(t, "TestNewJob/"+name, job)
		})
	}
}

func TestJobResult(t *testing.T) {
	op := newOperation(v1alpha1.CAPTenantOperationTypeUpgrade)
	if f, _, _ := jobResult(jobFor(op, 0, "")); f {
		t.Error("a running job finished")
	}
	if f, failed, _ := jobResult(jobFor(op, 0, "Complete")); !f || failed {
		t.Error("a complete job did not succeed")
	}
	if f, failed, reason := jobResult(jobFor(op, 0, "Failed")); !f || !failed || reason != "BackoffLimitExceeded: Job has reached the specified backoff limit" {
		t.Errorf("failed job: %v %v %q", f, failed, reason)
	}
}

// TestJobCarriesEveryPodField checks that every container and pod setting of a step's
// workload, and its Job limits, reach the tenant operation's Job.
func TestJobCarriesEveryPodField(t *testing.T) {
	op, cav := newOperation(v1alpha1.CAPTenantOperationTypeUpgrade), testCAV()
	const step = 1 // the custom step, which runs the workload's own command
	j := cav.Spec.Workloads[step].JobDefinition
	j.CommonDetails = controllertest.EveryCommonField()
	j.BackoffLimit, j.TTLSecondsAfterFinished, j.ActiveDeadlineSeconds = ptr.To[int32](4), ptr.To[int32](600), ptr.To[int64](900)
	sj, err := tenant.ResolveStep(cav, op.Spec.Steps[step])
	if err != nil {
		t.Fatal(err)
	}
	job := newJob(jobInput{ca: testCA(), cav: cav, op: op, index: step, name: tenant.JobName(op.Name, op.Spec.Steps, step), step: sj})
	controllertest.CheckPodFields(t, j.CommonDetails, job.Spec.Template.Spec, false)
	if got := job.Spec.Template.Spec.ImagePullSecrets; len(got) != 1 || got[0].Name != "regcred" {
		t.Errorf("imagePullSecrets = %v, want the version's registrySecrets [regcred]", got)
	}
	b, ttl, deadline := ptr.Deref(job.Spec.BackoffLimit, 0), ptr.Deref(job.Spec.TTLSecondsAfterFinished, 0), ptr.Deref(job.Spec.ActiveDeadlineSeconds, 0)
	if b != 4 || ttl != 600 || deadline != 900 {
		t.Errorf("job limits = %d %d %d, want 4 600 900", b, ttl, deadline)
	}
}
