package versionrender

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// AppVersionEnv is the CAPOP_APP_VERSION variable of the version's pods.
func (in Input) AppVersionEnv() []corev1.EnvVar {
	return []corev1.EnvVar{{Name: workload.EnvAppVersion, Value: in.CAV.Spec.Version}}
}

// NewDeployment builds the Deployment of a deployment workload. destinations is the
// Router's merged `destinations` value ("" for other types); vcapSecret the Secret holding
// its VCAP_SERVICES.
func NewDeployment(in Input, w *v1alpha1.WorkloadDetails, destinations, vcapSecret string) *appsv1.Deployment {
	d := w.DeploymentDefinition
	labels := in.WorkloadLabels(w, true)
	var extraEnv []corev1.EnvVar
	if destinations != "" {
		extraEnv = []corev1.EnvVar{{Name: workload.EnvDestinations, Value: destinations}}
	}
	template := workload.PodTemplate(workload.PodInput{
		ContainerName: w.Name, Common: &d.CommonDetails,
		Env: in.AppVersionEnv(), ExtraEnv: extraEnv, VCAPSecret: vcapSecret,
		PullSecrets: in.CAV.Spec.RegistrySecrets,
		Labels:      labels,
		// The pods carry the user's annotations and the owner identifier, as the Deployment
		// does (and as the previous implementation rendered them).
		Annotations: controller.MergeMaps(w.Annotations, in.OwnerAnnotations()),
		Liveness:    d.LivenessProbe, Readiness: d.ReadinessProbe, Startup: d.StartupProbe,
		RestartPolicy:  corev1.RestartPolicyAlways,
		TopologyLabels: labels,
	})
	removeUserEnv(&template.Spec.Containers[0], workload.EnvDestinations, destinations != "")
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: in.ObjectMeta(workload.Name(in.CAV.Name, w.Name), labels, w.Annotations),
		Spec: appsv1.DeploymentSpec{
			Replicas: d.Replicas,
			Selector: &metav1.LabelSelector{MatchLabels: in.PodSelector(w)},
			Template: template,
		},
	}
}

// removeUserEnv drops a user-set variable of the given name when the operator sets a merged
// value of its own after it (the Router's destinations).
func removeUserEnv(c *corev1.Container, name string, replaced bool) {
	if !replaced {
		return
	}
	out := c.Env[:0]
	last := len(c.Env) - 1
	for i, e := range c.Env {
		if e.Name == name && i != last {
			continue
		}
		out = append(out, e)
	}
	c.Env = out
}
