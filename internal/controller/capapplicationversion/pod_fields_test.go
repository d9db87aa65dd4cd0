package capapplicationversion

import (
	"slices"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// checkPod checks that every CommonDetails field reached the pod template.
func checkPod(t *testing.T, c v1alpha1.CommonDetails, pod corev1.PodSpec, deployment bool) {
	t.Helper()
	controllertest.CheckPodFields(t, c, pod, deployment)
	if len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "registry" {
		t.Errorf("imagePullSecrets = %v, want the version's registrySecrets [registry]", pod.ImagePullSecrets)
	}
}

func TestDeploymentCarriesEveryPodField(t *testing.T) {
	in := walkthrough(t)
	in.CAV.Spec.RegistrySecrets = []string{"registry"}
	w := findWorkload(t, in.CAV, "cap-backend")
	d := w.DeploymentDefinition
	d.CommonDetails = controllertest.EveryCommonField()
	d.Replicas = ptr.To[int32](3)
	d.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/live", Port: intstr.FromInt32(4004)}}, PeriodSeconds: 7}
	d.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(4004)}}, PeriodSeconds: 8}
	d.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(4004)}}, FailureThreshold: 30}

	dep := versionrender.NewDeployment(in, w, "", "vcap-secret")
	pod := dep.Spec.Template.Spec
	checkPod(t, d.CommonDetails, pod, true)
	if got := ptr.Deref(dep.Spec.Replicas, 0); got != 3 {
		t.Errorf("replicas = %d, want 3", got)
	}
	c := pod.Containers[0]
	for name, got := range map[string][2]*corev1.Probe{
		"liveness": {c.LivenessProbe, d.LivenessProbe}, "readiness": {c.ReadinessProbe, d.ReadinessProbe}, "startup": {c.StartupProbe, d.StartupProbe},
	} {
		if !equality.Semantic.DeepEqual(got[0], got[1]) {
			t.Errorf("%s probe = %v, want %v", name, got[0], got[1])
		}
	}
	if !slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool { return e.SecretRef != nil && e.SecretRef.Name == "vcap-secret" }) {
		t.Errorf("envFrom %v lacks the VCAP_SERVICES Secret", c.EnvFrom)
	}
}

func TestContentJobCarriesEveryPodField(t *testing.T) {
	in := walkthrough(t)
	in.CAV.Spec.RegistrySecrets = []string{"registry"}
	workloads, names := versionrender.ContentJobs(in.CAV)
	j := workloads[0].JobDefinition
	j.CommonDetails = controllertest.EveryCommonField()
	j.BackoffLimit = ptr.To[int32](4)
	j.TTLSecondsAfterFinished = ptr.To[int32](600)
	j.ActiveDeadlineSeconds = ptr.To[int64](900)

	job := versionrender.NewContentJob(in, workloads[0], names[0], "vcap-secret")
	checkPod(t, j.CommonDetails, job.Spec.Template.Spec, false)
	want := batchv1.JobSpec{BackoffLimit: j.BackoffLimit, TTLSecondsAfterFinished: j.TTLSecondsAfterFinished, ActiveDeadlineSeconds: j.ActiveDeadlineSeconds}
	got := batchv1.JobSpec{BackoffLimit: job.Spec.BackoffLimit, TTLSecondsAfterFinished: job.Spec.TTLSecondsAfterFinished, ActiveDeadlineSeconds: job.Spec.ActiveDeadlineSeconds}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("job limits = %+v, want %+v", got, want)
	}
}
