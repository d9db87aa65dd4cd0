package captenant

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestRetried(t *testing.T) {
	cav := &v1alpha1.CAPApplicationVersion{ObjectMeta: metav1.ObjectMeta{Name: "v2"}}
	finished := func(op v1alpha1.CAPTenantOperationType, version, reason string) *v1alpha1.CAPTenantOperation {
		o := &v1alpha1.CAPTenantOperation{ObjectMeta: metav1.ObjectMeta{Name: "op", Annotations: map[string]string{tenant.AnnotationSequence: "1"}},
			Spec: v1alpha1.CAPTenantOperationSpec{Operation: op, CAPApplicationVersionInstance: version}}
		o.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionTypeReady, Status: metav1.ConditionTrue, Reason: reason}}
		return o
	}
	upgrade := tenant.Decision{Action: tenant.ActionStart, Operation: v1alpha1.CAPTenantOperationTypeUpgrade, Version: cav, Attempt: 1}
	second := upgrade
	second.Attempt = 2
	for _, tc := range []struct {
		name string
		ops  []*v1alpha1.CAPTenantOperation
		d    tenant.Decision
		want string
	}{
		{"first operation", nil, upgrade, ""},
		{"after a completed one", []*v1alpha1.CAPTenantOperation{finished(v1alpha1.CAPTenantOperationTypeUpgrade, "v2", tenant.ReasonStepCompleted)}, upgrade, ""},
		{"automatic retry", []*v1alpha1.CAPTenantOperation{finished(v1alpha1.CAPTenantOperationTypeUpgrade, "v2", tenant.ReasonStepFailed)}, second, controller.RetryAutomatic},
		{"requested retry restarts the budget", []*v1alpha1.CAPTenantOperation{finished(v1alpha1.CAPTenantOperationTypeUpgrade, "v2", tenant.ReasonStepFailed)}, upgrade, controller.RetryRequested},
		{"failed toward another version", []*v1alpha1.CAPTenantOperation{finished(v1alpha1.CAPTenantOperationTypeUpgrade, "v1", tenant.ReasonStepFailed)}, upgrade, ""},
		{"failed other operation", []*v1alpha1.CAPTenantOperation{finished(v1alpha1.CAPTenantOperationTypeProvisioning, "v2", tenant.ReasonStepFailed)}, upgrade, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retried(tc.ops, tc.d); got != tc.want {
				t.Errorf("retried = %q, want %q", got, tc.want)
			}
		})
	}
}
