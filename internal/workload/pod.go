package workload

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// PodInput describes the pod of one workload.
type PodInput struct {
	// ContainerName is the name of the main container (the workload name).
	ContainerName string
	// Common are the workload's container and pod settings.
	Common *v1alpha1.CommonDetails
	// Env is placed before the workload's own variables, ExtraEnv after them.
	Env, ExtraEnv []corev1.EnvVar
	// VCAPSecret is the Secret injected with envFrom ("" for none).
	VCAPSecret string
	// PullSecrets are the names of image pull Secrets.
	PullSecrets []string
	// Labels and Annotations go on the pod template.
	Labels, Annotations map[string]string
	// Ports, and the probes, apply to deployments only.
	Ports                        []corev1.ContainerPort
	Liveness, Readiness, Startup *corev1.Probe
	// RestartPolicy is the pod's restart policy: Always for deployments; for jobs the
	// workload's own policy, else Never.
	RestartPolicy corev1.RestartPolicy
	// Command and Args replace the workload's when Command is not nil (the default command of
	// tenant operations).
	Command, Args []string
	// TopologyLabels select the workload's pods in topology spread constraints that have no
	// selector of their own.
	TopologyLabels map[string]string
}

// PodTemplate builds the pod template of a workload. Init containers receive the same
// operator environment (after their own variables) and VCAP_SERVICES as the main container.
func PodTemplate(in PodInput) corev1.PodTemplateSpec {
	c := in.Common
	env := append(append(append([]corev1.EnvVar{}, in.Env...), c.Env...), in.ExtraEnv...)
	command, args := c.Command, c.Args
	if in.Command != nil {
		command, args = in.Command, in.Args
	}
	container := corev1.Container{
		Name: in.ContainerName, Image: c.Image, ImagePullPolicy: c.ImagePullPolicy,
		Command: command, Args: args, Env: env, EnvFrom: EnvFromSecret(in.VCAPSecret),
		Ports: in.Ports, VolumeMounts: c.VolumeMounts, Resources: c.Resources,
		SecurityContext: c.SecurityContext, Lifecycle: c.Lifecycle,
		LivenessProbe: in.Liveness, ReadinessProbe: in.Readiness, StartupProbe: in.Startup,
	}
	spec := corev1.PodSpec{
		Containers:                    []corev1.Container{container},
		InitContainers:                initContainers(c.InitContainers, in.Env, in.VCAPSecret),
		ImagePullSecrets:              pullSecrets(in.PullSecrets),
		Volumes:                       c.Volumes,
		ServiceAccountName:            c.ServiceAccountName,
		SecurityContext:               c.PodSecurityContext,
		NodeName:                      c.NodeName,
		NodeSelector:                  c.NodeSelector,
		PriorityClassName:             c.PriorityClassName,
		Affinity:                      c.Affinity,
		Tolerations:                   c.Tolerations,
		TopologySpreadConstraints:     topologyConstraints(c.TopologySpreadConstraints, in.TopologyLabels),
		TerminationGracePeriodSeconds: c.TerminationGracePeriodSeconds,
		RestartPolicy:                 in.RestartPolicy,
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: in.Labels, Annotations: in.Annotations},
		Spec:       spec,
	}
}

// initContainers copies the workload's init containers and gives each the operator's
// environment and the VCAP_SERVICES Secret. The operator's variables come after the init
// container's own, the order the previous implementation rendered, so the pod templates of
// Deployments it created compare equal and taking them over does not restart their pods.
func initContainers(in []corev1.Container, env []corev1.EnvVar, vcapSecret string) []corev1.Container {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(in))
	for i := range in {
		c := *in[i].DeepCopy()
		c.Env = append(append([]corev1.EnvVar{}, c.Env...), env...)
		c.EnvFrom = append(c.EnvFrom, EnvFromSecret(vcapSecret)...)
		out[i] = c
	}
	return out
}

// pullSecrets turns Secret names into references.
func pullSecrets(names []string) []corev1.LocalObjectReference {
	if len(names) == 0 {
		return nil
	}
	out := make([]corev1.LocalObjectReference, len(names))
	for i, n := range names {
		out[i].Name = n
	}
	return out
}

// topologyConstraints gives every constraint without a label selector the workload's labels,
// plus pod-template-hash as a match label key so that rollouts spread each revision.
func topologyConstraints(in []corev1.TopologySpreadConstraint, labels map[string]string) []corev1.TopologySpreadConstraint {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.TopologySpreadConstraint, len(in))
	for i := range in {
		c := *in[i].DeepCopy()
		if c.LabelSelector == nil && labels != nil {
			c.LabelSelector = &metav1.LabelSelector{MatchLabels: labels}
			c.MatchLabelKeys = []string{"pod-template-hash"}
		}
		out[i] = c
	}
	return out
}
