package capapplicationversion

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestDeploymentDetail checks that a Deployment that is not available passes its own
// condition reason and message on.
func TestDeploymentDetail(t *testing.T) {
	cond := func(typ appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, msg string) appsv1.DeploymentCondition {
		return appsv1.DeploymentCondition{Type: typ, Status: status, Reason: reason, Message: msg}
	}
	for _, tc := range []struct {
		name                string
		conds               []appsv1.DeploymentCondition
		wantDetail, wantRep string
	}{
		{"no conditions yet", nil, "", ""},
		{"progress deadline exceeded comes first", []appsv1.DeploymentCondition{
			cond(appsv1.DeploymentAvailable, corev1.ConditionFalse, "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
			cond(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ProgressDeadlineExceeded", `ReplicaSet "cap-v1-srv-abc" has timed out progressing.`),
		}, `: ProgressDeadlineExceeded: ReplicaSet "cap-v1-srv-abc" has timed out progressing.`, ""},
		{"still progressing", []appsv1.DeploymentCondition{
			cond(appsv1.DeploymentAvailable, corev1.ConditionFalse, "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
			cond(appsv1.DeploymentProgressing, corev1.ConditionTrue, "ReplicaSetUpdated", "progressing"),
		}, ": MinimumReplicasUnavailable: Deployment does not have minimum availability.", ""},
		{"replica failure", []appsv1.DeploymentCondition{
			cond(appsv1.DeploymentReplicaFailure, corev1.ConditionTrue, "FailedCreate", `pods "x" is forbidden: exceeded quota`),
		}, "", `FailedCreate: pods "x" is forbidden: exceeded quota`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &appsv1.Deployment{Status: appsv1.DeploymentStatus{Conditions: tc.conds}}
			if got := notAvailableDetail(d); got != tc.wantDetail {
				t.Errorf("notAvailableDetail = %q\nwant                 %q", got, tc.wantDetail)
			}
			if got := replicaFailure(d); got != tc.wantRep {
				t.Errorf("replicaFailure = %q, want %q", got, tc.wantRep)
			}
		})
	}
}
