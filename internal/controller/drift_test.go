package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func TestDrifted(t *testing.T) {
	base := func() appsv1.DeploymentSpec {
		return appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "c", Image: "i:1",
				Env:       []corev1.EnvVar{{Name: "A", Value: "1"}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.2")}},
			}}}},
		}
	}
	tests := map[string]struct {
		actual func(*appsv1.DeploymentSpec)
		want   bool
	}{
		"identical": {actual: func(*appsv1.DeploymentSpec) {}, want: false},
		"server defaults are ignored": {actual: func(s *appsv1.DeploymentSpec) {
			s.Template.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log"
			s.RevisionHistoryLimit = ptr.To[int32](10)
		}},
		"changed image": {actual: func(s *appsv1.DeploymentSpec) { s.Template.Spec.Containers[0].Image = "i:2" }, want: true},
		"removed env":   {actual: func(s *appsv1.DeploymentSpec) { s.Template.Spec.Containers[0].Env = nil }, want: true},
		"extra env": {actual: func(s *appsv1.DeploymentSpec) {
			s.Template.Spec.Containers[0].Env = append(s.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "B"})
		}, want: true},
		"scaled": {actual: func(s *appsv1.DeploymentSpec) { s.Replicas = ptr.To[int32](5) }, want: true},
		"canonical quantity": {actual: func(s *appsv1.DeploymentSpec) {
			s.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("200m")
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			desired, actual := base(), base()
			tc.actual(&actual)
			if got := Drifted(desired, actual); got != tc.want {
				t.Fatalf("Drifted = %v, want %v", got, tc.want)
			}
		})
	}
}
