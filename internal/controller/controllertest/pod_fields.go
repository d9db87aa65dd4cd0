package controllertest

import (
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// EveryCommonField returns a CommonDetails with every field set to a value no default produces.
func EveryCommonField() v1alpha1.CommonDetails {
	return v1alpha1.CommonDetails{
		Image:              "registry.example.com/app:1",
		ImagePullPolicy:    corev1.PullAlways,
		Command:            []string{"/bin/app"},
		Args:               []string{"--serve"},
		Env:                []corev1.EnvVar{{Name: "USER_VAR", Value: "x"}},
		Volumes:            []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		VolumeMounts:       []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
		ServiceAccountName: "app-sa",
		Resources: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		},
		SecurityContext:    &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), ReadOnlyRootFilesystem: ptr.To(true)},
		PodSecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000)},
		NodeName:           "node-1",
		NodeSelector:       map[string]string{"pool": "apps"},
		PriorityClassName:  "high",
		Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}},
		}}},
		Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "apps", Effect: corev1.TaintEffectNoSchedule}},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}},
		InitContainers:                []corev1.Container{{Name: "init", Image: "busybox", Command: []string{"true"}}},
		RestartPolicy:                 corev1.RestartPolicyOnFailure,
		TerminationGracePeriodSeconds: ptr.To[int64](42),
		Lifecycle:                     &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}}},
	}
}

// commonFieldChecks says, for every field of CommonDetails, whether the pod template carries
// the value set by EveryCommonField. deployment tells a Deployment's template (whose restart
// policy is always Always) from a Job's.
var commonFieldChecks = map[string]func(c v1alpha1.CommonDetails, pod corev1.PodSpec, deployment bool) bool{
	"Image": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool { return p.Containers[0].Image == c.Image },
	"ImagePullPolicy": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return p.Containers[0].ImagePullPolicy == c.ImagePullPolicy
	},
	"Command": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return slices.Equal(p.Containers[0].Command, c.Command)
	},
	"Args": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return slices.Equal(p.Containers[0].Args, c.Args)
	},
	"Env": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return slices.Contains(p.Containers[0].Env, c.Env[0])
	},
	"Volumes": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return equality.Semantic.DeepEqual(p.Volumes, c.Volumes)
	},
	"VolumeMounts": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return slices.Contains(p.Containers[0].VolumeMounts, c.VolumeMounts[0])
	},
	"ServiceAccountName": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return p.ServiceAccountName == c.ServiceAccountName
	},
	"Resources": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return equality.Semantic.DeepEqual(p.Containers[0].Resources, c.Resources)
	},
	"SecurityContext": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return equality.Semantic.DeepEqual(p.Containers[0].SecurityContext, c.SecurityContext)
	},
	"PodSecurityContext": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return equality.Semantic.DeepEqual(p.SecurityContext, c.PodSecurityContext)
	},
	"NodeName": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool { return p.NodeName == c.NodeName },
	"NodeSelector": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return reflect.DeepEqual(p.NodeSelector, c.NodeSelector)
	},
	"PriorityClassName": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return p.PriorityClassName == c.PriorityClassName
	},
	"Affinity": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return equality.Semantic.DeepEqual(p.Affinity, c.Affinity)
	},
	"Tolerations": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return equality.Semantic.DeepEqual(p.Tolerations, c.Tolerations)
	},
	"TopologySpreadConstraints": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return equality.Semantic.DeepEqual(p.TopologySpreadConstraints, c.TopologySpreadConstraints)
	},
	"InitContainers": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return len(p.InitContainers) == 1 && p.InitContainers[0].Name == c.InitContainers[0].Name &&
			p.InitContainers[0].Image == c.InitContainers[0].Image && slices.Equal(p.InitContainers[0].Command, c.InitContainers[0].Command)
	},
	"RestartPolicy": func(c v1alpha1.CommonDetails, p corev1.PodSpec, deployment bool) bool {
		if deployment {
			return p.RestartPolicy == corev1.RestartPolicyAlways // the only policy a Deployment accepts
		}
		return p.RestartPolicy == c.RestartPolicy
	},
	"TerminationGracePeriodSeconds": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return equality.Semantic.DeepEqual(p.TerminationGracePeriodSeconds, c.TerminationGracePeriodSeconds)
	},
	"Lifecycle": func(c v1alpha1.CommonDetails, p corev1.PodSpec, _ bool) bool {
		return equality.Semantic.DeepEqual(p.Containers[0].Lifecycle, c.Lifecycle)
	},
}

// CheckPodFields checks that every field of c, as set by EveryCommonField, reached the pod
// template of a Deployment (deployment true) or a Job built from it.
func CheckPodFields(t testing.TB, c v1alpha1.CommonDetails, pod corev1.PodSpec, deployment bool) {
	t.Helper()
	for field, check := range commonFieldChecks {
		if !check(c, pod, deployment) {
			t.Errorf("%s was not copied into the pod template", field)
		}
	}
}
