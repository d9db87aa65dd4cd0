package capapplicationversion

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/examples"
	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/internal/golden"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// load decodes a published example into a typed object, turning numeric env values into
// strings as the mutating webhook does.
func load(t *testing.T, path string, out runtime.Object) {
	t.Helper()
	data := strings.ReplaceAll(string(examples.MustRead(path)), "value: 4000", `value: "4000"`)
	if err := yaml.UnmarshalStrict([]byte(data), out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// walkthrough returns the multitenant application and its first version.
func walkthrough(t *testing.T) versionrender.Input {
	t.Helper()
	ca, cav := &v1alpha1.CAPApplication{}, &v1alpha1.CAPApplicationVersion{}
	load(t, "multitenant/capapplication.yaml", ca)
	load(t, "multitenant/cav-v1.yaml", cav)
	ca.UID, cav.UID, cav.Generation = "ca-uid", "cav-uid", 1
	return versionrender.Input{CA: ca, CAV: cav}
}

func TestBuildDeployments(t *testing.T) {
	tests := map[string]struct {
		// edit customises the walk-through version before building.
		edit     func(in versionrender.Input)
		workload string
	}{
		"cap":    {workload: "cap-backend"},
		"router": {workload: "app-router"},
		"cap with pod settings": {workload: "cap-backend", edit: func(in versionrender.Input) {
			d := in.CAV.Spec.Workloads[0].DeploymentDefinition
			d.Replicas = ptr.To[int32](3)
			d.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: "DoNotSchedule"}}
			d.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Env: []corev1.EnvVar{{Name: "INIT_MODE", Value: "migrate"}}}}
			in.CAV.Spec.Workloads[0].Labels = map[string]string{"team": "a"}
			in.CAV.Spec.Workloads[0].Annotations = map[string]string{"team.example.com/contact": "a@example.com"}
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := walkthrough(t)
			if tc.edit != nil {
				tc.edit(in)
			}
			w := findWorkload(t, in.CAV, tc.workload)
			destinations := ""
			if w.DeploymentDefinition.Type == v1alpha1.DeploymentRouter {
				var err error
				if destinations, err = versionrender.RouterDestinations(in, w); err != nil {
					t.Fatal(err)
				}
			}
			golden.Check(t, versionrender.NewDeployment(in, w, destinations, "vcap-secret"))
		})
	}
}

func TestBuildServicesAndExtras(t *testing.T) {
	in := walkthrough(t)
	router := findWorkload(t, in.CAV, "app-router")
	backend := findWorkload(t, in.CAV, "cap-backend")
	backend.DeploymentDefinition.PodDisruptionBudget = &policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1))}
	backend.DeploymentDefinition.HorizontalPodAutoscaler = &v1alpha1.AutoscalerSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 5}
	backend.DeploymentDefinition.Stickiness = &v1alpha1.Stickiness{Hash: &v1alpha1.StickinessHash{HttpHeaderName: "x-user"}}
	golden.Check(t, map[string]any{
		"routerService":          versionrender.NewService(in, router),
		"capService":             versionrender.NewService(in, backend),
		"routerDestinationRule":  newDestinationRule(in, router),
		"capDestinationRule":     newDestinationRule(in, backend),
		"capPodDisruptionBudget": newPodDisruptionBudget(in, backend),
		"capAutoscaler":          newHorizontalPodAutoscaler(in, backend),
		"networkPolicies":        newNetworkPolicies(in),
	})
}

func TestBuildContentJob(t *testing.T) {
	in := walkthrough(t)
	workloads, names := versionrender.ContentJobs(in.CAV)
	if len(workloads) != 1 || names[0] != "cav-cap-app-01-1-content" {
		t.Fatalf("content jobs %v", names)
	}
	golden.Check(t, versionrender.NewContentJob(in, workloads[0], names[0], "vcap-secret"))
}

// findWorkload returns the named workload of a version.
func findWorkload(t *testing.T, cav *v1alpha1.CAPApplicationVersion, name string) *v1alpha1.WorkloadDetails {
	t.Helper()
	for i := range cav.Spec.Workloads {
		if cav.Spec.Workloads[i].Name == name {
			return &cav.Spec.Workloads[i]
		}
	}
	t.Fatalf("no workload %s", name)
	return nil
}
