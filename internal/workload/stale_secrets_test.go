package workload

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestStaleVCAPSecrets(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	secret := func(name string, age time.Duration, deleting bool) metav1.Object {
		m := &metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(-age))}
		if deleting {
			m.DeletionTimestamp = &metav1.Time{Time: t0}
		}
		return m
	}
	// deployment returns a Deployment of 2 replicas injecting "current" whose pods all run
	// the current template; edit changes that.
	deployment := func(edit func(d *appsv1.Deployment)) *appsv1.Deployment {
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "v1-router", Generation: 2},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "router", EnvFrom: EnvFromSecret("current")}}}}},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2},
		}
		if edit != nil {
			edit(d)
		}
		return d
	}
	tests := map[string]struct {
		deployment *appsv1.Deployment
		secrets    []metav1.Object
		want       []string
	}{
		"rolled out: older secrets go": {
			deployment: deployment(nil),
			secrets:    []metav1.Object{secret("older", 2*time.Hour, false), secret("current", time.Hour, false), secret("old", 90*time.Minute, false)},
			want:       []string{"older", "old"},
		},
		"only the injected secret: nothing to do": {
			deployment: deployment(nil),
			secrets:    []metav1.Object{secret("current", time.Hour, false)},
		},
		"the deployment controller has not seen the new template yet": {
			deployment: deployment(func(d *appsv1.Deployment) { d.Status.ObservedGeneration = 1 }),
			secrets:    []metav1.Object{secret("old", 2*time.Hour, false), secret("current", time.Hour, false)},
		},
		"old pods still running (surge)": {
			deployment: deployment(func(d *appsv1.Deployment) { d.Status.Replicas = 3 }),
			secrets:    []metav1.Object{secret("old", 2*time.Hour, false), secret("current", time.Hour, false)},
		},
		"not every replica updated": {
			deployment: deployment(func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 1 }),
			secrets:    []metav1.Object{secret("old", 2*time.Hour, false), secret("current", time.Hour, false)},
		},
		"scaled to zero counts as rolled out": {
			deployment: deployment(func(d *appsv1.Deployment) {
				d.Spec.Replicas = ptr.To[int32](0)
				d.Status.Replicas, d.Status.UpdatedReplicas = 0, 0
			}),
			secrets: []metav1.Object{secret("old", 2*time.Hour, false), secret("current", time.Hour, false)},
			want:    []string{"old"},
		},
		"a newer secret (the rollout is about to point the deployment at it) stays": {
			deployment: deployment(nil),
			secrets:    []metav1.Object{secret("current", time.Hour, false), secret("next", 0, false)},
		},
		"a secret created in the same second as the injected one stays": {
			deployment: deployment(nil),
			secrets:    []metav1.Object{secret("current", time.Hour, false), secret("twin", time.Hour, false)},
		},
		"the injected secret is not in the cache yet: nothing goes": {
			deployment: deployment(nil),
			secrets:    []metav1.Object{secret("old", 2*time.Hour, false)},
		},
		"a secret already being deleted is not deleted again": {
			deployment: deployment(nil),
			secrets:    []metav1.Object{secret("old", 2*time.Hour, true), secret("current", time.Hour, false)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, s := range StaleVCAPSecrets(tc.deployment, tc.secrets) {
				got = append(got, s.GetName())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("stale %v, want %v", got, tc.want)
			}
		})
	}
}
