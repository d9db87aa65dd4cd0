package capapplicationversion

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// benignWaiting are container waiting reasons of a pod that is starting normally.
var benignWaiting = map[string]bool{"ContainerCreating": true, "PodInitializing": true}

// podProblem explains the first pod (by name) that is failing: unschedulable, a container
// waiting for a reason other than starting (CrashLoopBackOff, ImagePullBackOff,
// CreateContainerConfigError, ...), or a container that restarted after terminating (the
// last termination's reason, for example OOMKilled). It returns "" when no pod says more.
func podProblem(pods []*corev1.Pod) string {
	sorted := append([]*corev1.Pod(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, p := range sorted {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return fmt.Sprintf("pod %s: %s", p.Name, reasonMessage(c.Reason, c.Message))
			}
		}
		statuses := append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
		for _, cs := range statuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" && !benignWaiting[w.Reason] {
				return fmt.Sprintf("pod %s: container %s: %s", p.Name, cs.Name, reasonMessage(w.Reason, w.Message))
			}
			if t := cs.LastTerminationState.Terminated; t != nil && cs.RestartCount > 0 && !cs.Ready {
				return fmt.Sprintf("pod %s: container %s restarted %d times, last exit: %s", p.Name, cs.Name, cs.RestartCount,
					reasonMessage(t.Reason, fmt.Sprintf("exit code %d", t.ExitCode)))
			}
		}
	}
	return ""
}

// deploymentPods returns the cached pods a Deployment selects.
func (ctl *Controller) deploymentPods(d *appsv1.Deployment) []*corev1.Pod {
	if ctl.pods == nil || d.Spec.Selector == nil {
		return nil
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || selector.Empty() {
		return nil
	}
	pods, err := ctl.pods.Pods(d.Namespace).List(selector)
	if err != nil {
		return nil
	}
	return pods
}
