package captenantoperation

import (
	"testing"

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
