package e2etest

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/testenv"
)

// TestMain starts one E2E environment for the package.
func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{E2E: true})
}

// podTemplate returns a pod template with one container and the labels.
func podTemplate(labels map[string]string, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy: restart,
			Containers:    []corev1.Container{{Name: "main", Image: "example.invalid/app:1"}},
		},
	}
}

// TestDeploymentBecomesAvailable checks pods get scheduled on the kwok node
// and become ready.
func TestDeploymentBecomesAvailable(t *testing.T) {
	t.Parallel()
	env := testenv.Current()
	ns := env.NewNamespace(t)
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate(labels, corev1.RestartPolicyAlways),
		},
	}
	deps := env.Clientset().AppsV1().Deployments(ns)
	if _, err := deps.Create(context.Background(), dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, func() (bool, error) {
		d, err := deps.Get(context.Background(), dep.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.AvailableReplicas == 2 && hasDeploymentCondition(d, appsv1.DeploymentAvailable), nil
	})
	pods, err := env.Clientset().CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != env.NodeName || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s on node %q in phase %s, want %s and Running", p.Name, p.Spec.NodeName, p.Status.Phase, env.NodeName)
		}
	}
}

// TestJobCompletes checks a plain Job succeeds.
func TestJobCompletes(t *testing.T) {
	t.Parallel()
	env := testenv.Current()
	ns := env.NewNamespace(t)
	job := newJob("ok", nil)
	waitJobCondition(t, env, ns, job, batchv1.JobComplete)
}

// TestJobWithFailLabelFails checks the kwok fail stage: a Job whose pod
// carries testenv.FailPodLabel fails after its only attempt.
func TestJobWithFailLabelFails(t *testing.T) {
	t.Parallel()
	env := testenv.Current()
	ns := env.NewNamespace(t)
	job := newJob("fail", map[string]string{testenv.FailPodLabel: "true"})
	got := waitJobCondition(t, env, ns, job, batchv1.JobFailed)
	if got.Status.Failed != 1 || got.Status.Succeeded != 0 {
		t.Errorf("job status failed=%d succeeded=%d, want 1 and 0", got.Status.Failed, got.Status.Succeeded)
	}
	pods, err := env.Clientset().CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("got %d pods, want 1", len(pods.Items))
	}
	p := pods.Items[0]
	if p.Status.Phase != corev1.PodFailed || len(p.Status.ContainerStatuses) != 1 {
		t.Fatalf("pod %s phase %s with %d container statuses, want Failed with 1", p.Name, p.Status.Phase, len(p.Status.ContainerStatuses))
	}
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode == 0 {
		t.Errorf("container state %+v, want terminated with a non-zero exit code", p.Status.ContainerStatuses[0].State)
	}
}

// newJob returns a single-attempt Job whose pod template has the labels.
func newJob(name string, labels map[string]string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template:     podTemplate(labels, corev1.RestartPolicyNever),
		},
	}
}

// waitJobCondition creates job in ns and waits until it has the condition.
func waitJobCondition(t *testing.T, env *testenv.Env, ns string, job *batchv1.Job, cond batchv1.JobConditionType) *batchv1.Job {
	t.Helper()
	jobs := env.Clientset().BatchV1().Jobs(ns)
	if _, err := jobs.Create(context.Background(), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *batchv1.Job
	testenv.Eventually(t, time.Minute, func() (bool, error) {
		var err error
		if got, err = jobs.Get(context.Background(), job.Name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == cond && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	return got
}

// hasDeploymentCondition reports whether the condition is true.
func hasDeploymentCondition(d *appsv1.Deployment, cond appsv1.DeploymentConditionType) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == cond && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
