package tenants

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

// provisioningCAV is version 2 of the walk-through as the first version, provisioning with
// its TenantOperation step followed by the custom step (continueOnFailure as given).
func provisioningCAV(t *testing.T, ns string, continueOnFailure bool) *v1alpha1.CAPApplicationVersion {
	cav := upgradeCAV(t, ns)
	cav.Spec.TenantOperations.Provisioning = []v1alpha1.TenantOperationWorkloadReference{
		{WorkloadName: "tenant-operation"}, {WorkloadName: "notify-upgrade", ContinueOnFailure: continueOnFailure},
	}
	return cav
}

func TestFailingStep(t *testing.T) {
	cases := map[string]struct {
		// failing names the workload whose pods fail.
		failing string
		// continueOnFailure is set on the custom step.
		continueOnFailure bool
		// expectations
		state      v1alpha1.CAPTenantState
		opState    v1alpha1.CAPTenantOperationState
		opMessage  []string
		catMessage []string
	}{
		"custom step without continueOnFailure fails the operation": {
			failing: "notify-upgrade", state: v1alpha1.CAPTenantStateProvisioningError, opState: v1alpha1.CAPTenantOperationStateFailed,
			opMessage:  []string{"step 2/2 (notify-upgrade)", "-notify-upgrade failed: BackoffLimitExceeded"},
			catMessage: []string{"failed: step 2/2 (notify-upgrade): job ", "BackoffLimitExceeded", "no automatic retries left"},
		},
		"custom step with continueOnFailure is skipped": {
			failing: "notify-upgrade", continueOnFailure: true, state: v1alpha1.CAPTenantStateReady, opState: v1alpha1.CAPTenantOperationStateCompleted,
			opMessage: []string{"2 of 2 steps completed; step 2 (notify-upgrade) failed and was skipped"},
		},
		"failing TenantOperation step stops the operation": {
			failing: "tenant-operation", continueOnFailure: true, state: v1alpha1.CAPTenantStateProvisioningError, opState: v1alpha1.CAPTenantOperationStateFailed,
			opMessage: []string{"step 1/2 (tenant-operation)", "BackoffLimitExceeded"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			env := testenv.Current()
			ns := env.NewNamespace(t)
			startController(t, env, ns, "--retry-attempts=0")
			framework.MultitenantApp(t, env, ns)
			cav := provisioningCAV(t, ns, tc.continueOnFailure)
			failing(workloadByName(cav, tc.failing))
			createCAV(t, env, cav)
			cat := waitTenant(t, env, ns, providerTenant, func(c *v1alpha1.CAPTenant) bool { return c.Status.State == tc.state })
			ops := operations(t, env, ns, providerTenant)
			if len(ops) != 1 || ops[0].Status.State != tc.opState {
				t.Fatalf("%d operations, state %v", len(ops), ops)
			}
			for _, want := range tc.opMessage {
				if msg := readyMessage(ops[0].Status.Conditions); !strings.Contains(msg, want) {
					t.Errorf("operation message %q lacks %q", msg, want)
				}
			}
			for _, want := range tc.catMessage {
				if msg := readyMessage(cat.Status.Conditions); !strings.Contains(msg, want) {
					t.Errorf("tenant message %q lacks %q", msg, want)
				}
			}
		})
	}
}

// TestAutomaticRetry fails provisioning three times (the first run and two automatic
// retries) and then retries once more on the retry-operation annotation.
func TestAutomaticRetry(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	ctx := context.Background()
	client := sme(env).SmeV1alpha1()
	startController(t, env, ns, "--retry-attempts=2")
	framework.MultitenantApp(t, env, ns)
	cav := provisioningCAV(t, ns, false)
	failing(workloadByName(cav, "tenant-operation"))
	createCAV(t, env, cav)
	t.Cleanup(func() {
		if t.Failed() {
			c, _ := client.CAPTenants(ns).Get(ctx, providerTenant, metav1.GetOptions{})
			t.Logf("tenant status: %+v", c.Status)
			for _, op := range operations(t, env, ns, providerTenant) {
				t.Logf("operation %s %v: %+v", op.Name, op.Annotations, op.Status)
			}
		}
	})
	cat := waitTenant(t, env, ns, providerTenant, func(c *v1alpha1.CAPTenant) bool {
		return strings.Contains(readyMessage(c.Status.Conditions), "no automatic retries left")
	})
	ops := operations(t, env, ns, providerTenant)
	if len(ops) != 3 || cat.Status.State != v1alpha1.CAPTenantStateProvisioningError {
		t.Fatalf("%d operations (want 3), tenant state %s", len(ops), cat.Status.State)
	}
	for i, op := range ops {
		if op.Status.State != v1alpha1.CAPTenantOperationStateFailed || op.Annotations["sme.sap.com/operation-attempt"] != string(rune('1'+i)) {
			t.Errorf("operation %d: state %s attempt %s", i, op.Status.State, op.Annotations["sme.sap.com/operation-attempt"])
		}
	}

	// The retry annotation starts a fourth run at once, with a fresh retry budget, and is
	// consumed. (The version is not fixed first: changing a version's spec is not what this
	// test is about.)
	cat, _ = client.CAPTenants(ns).Get(ctx, providerTenant, metav1.GetOptions{})
	cat.Annotations[v1alpha1.AnnotationRetryOperation] = "now"
	if _, err := client.CAPTenants(ns).Update(ctx, cat, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, timeout, func() (bool, error) {
		return len(operations(t, env, ns, providerTenant)) >= 4, nil
	})
	cat = waitTenant(t, env, ns, providerTenant, func(c *v1alpha1.CAPTenant) bool {
		_, pending := c.Annotations[v1alpha1.AnnotationRetryOperation]
		return !pending
	})
	ops = operations(t, env, ns, providerTenant)
	if n := len(ops); n < 4 || ops[3].Annotations["sme.sap.com/operation-attempt"] != "1" {
		t.Errorf("%d operations; the manual retry should be the fourth, attempt 1", n)
	}
}

// TestRestartMidOperation kills the controller while a step's Job runs; the restarted
// controller finishes the operation with exactly one Job per step.
func TestRestartMidOperation(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	first := startController(t, env, ns)
	framework.MultitenantApp(t, env, ns)
	cav := provisioningCAV(t, ns, false)
	createCAV(t, env, cav)
	testenv.Eventually(t, timeout, func() (bool, error) {
		ops := operations(t, env, ns, providerTenant)
		return len(ops) == 1 && len(jobsOf(t, env, &ops[0])) >= 1, nil
	})
	first.Kill()
	startController(t, env, ns)
	waitTenant(t, env, ns, providerTenant, readyOn(cav.Name))
	ops := operations(t, env, ns, providerTenant)
	if len(ops) != 1 {
		t.Fatalf("%d operations, want 1", len(ops))
	}
	jobs := jobsOf(t, env, &ops[0])
	if len(jobs) != 2 || jobs[0].Labels[v1alpha1.LabelTenantOperationStep] != "1" || jobs[1].Labels[v1alpha1.LabelTenantOperationStep] != "2" {
		t.Errorf("jobs %v, want one per step", jobNames(jobs))
	}
}
