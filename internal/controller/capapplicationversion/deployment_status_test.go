package capapplicationversion

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// TestPodProblem checks that the failing pod's own reason reaches the version's message.
func TestPodProblem(t *testing.T) {
	pod := func(name string, mutate func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodPending}}
		mutate(p)
		return p
	}
	waitingFor := func(reason, msg string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}
		}
	}
	for _, tc := range []struct {
		name string
		pods []*corev1.Pod
		want string
	}{
		{"no pods", nil, ""},
		{"starting", []*corev1.Pod{pod("a", waitingFor("ContainerCreating", ""))}, ""},
		{"image pull", []*corev1.Pod{pod("b", waitingFor("ContainerCreating", "")), pod("a", waitingFor("ImagePullBackOff", `Back-off pulling image "nope:1"`))},
			`pod a: container app: ImagePullBackOff: Back-off pulling image "nope:1"`},
		{"unschedulable", []*corev1.Pod{pod("a", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available: insufficient memory."}}
		})}, "pod a: Unschedulable: 0/3 nodes are available: insufficient memory."},
		{"crash with last exit", []*corev1.Pod{pod("a", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 3,
				State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}
		})}, "pod a: container app restarted 3 times, last exit: OOMKilled: exit code 137"},
		{"init container config error", []*corev1.Pod{pod("a", func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason: "CreateContainerConfigError", Message: `secret "db" not found`}}}}
		})}, `pod a: container init: CreateContainerConfigError: secret "db" not found`},
		{"ready after restarts", []*corev1.Pod{pod("a", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 1, Ready: true,
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}}}}
		})}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := podProblem(tc.pods); got != tc.want {
				t.Errorf("podProblem = %q\nwant         %q", got, tc.want)
			}
		})
	}
}
