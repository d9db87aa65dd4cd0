package capapplicationversion

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller/versionrender"
)

// referenceDeployment renders a workload's Deployment as the previous implementation did:
// the same object, but the selector holds every workload label (owner-generation,
// exposed-workload and the user's labels included).
func referenceDeployment(in versionrender.Input, workloadName string, t *testing.T) *appsv1.Deployment {
	w := findWorkload(t, in.CAV, workloadName)
	d := versionrender.NewDeployment(in, w, "", "vcap-secret")
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: in.WorkloadLabels(w, true)}
	return d
}

func TestNeedsReplacement(t *testing.T) {
	tests := map[string]struct {
		// actual is the existing Deployment; edit changes the version before the desired
		// Deployment is rendered.
		actual func(in versionrender.Input, t *testing.T) *appsv1.Deployment
		edit   func(in versionrender.Input)
		want   bool
	}{
		"own selector, changed version: updated in place": {
			actual: func(in versionrender.Input, t *testing.T) *appsv1.Deployment {
				return versionrender.NewDeployment(in, findWorkload(t, in.CAV, "cap-backend"), "", "vcap-secret")
			},
			edit: func(in versionrender.Input) {
				in.CAV.Generation = 2
				in.CAV.Spec.Workloads[0].DeploymentDefinition.Image = "new"
			},
		},
		"reference selector, nothing changed: left alone": {
			actual: func(in versionrender.Input, t *testing.T) *appsv1.Deployment {
				return referenceDeployment(in, "cap-backend", t)
			},
		},
		"reference selector, new generation: replaced": {
			actual: func(in versionrender.Input, t *testing.T) *appsv1.Deployment {
				return referenceDeployment(in, "cap-backend", t)
			},
			edit: func(in versionrender.Input) {
				in.CAV.Generation = 2
				in.CAV.Spec.Workloads[0].DeploymentDefinition.Image = "new"
			},
			want: true,
		},
		"reference selector, changed user label: replaced": {
			actual: func(in versionrender.Input, t *testing.T) *appsv1.Deployment {
				in.CAV.Spec.Workloads[0].Labels = map[string]string{"team": "a"}
				return referenceDeployment(in, "cap-backend", t)
			},
			edit: func(in versionrender.Input) { in.CAV.Spec.Workloads[0].Labels = map[string]string{"team": "b"} },
			want: true,
		},
		"reference selector, drifted image with matching labels: updated in place": {
			actual: func(in versionrender.Input, t *testing.T) *appsv1.Deployment {
				d := referenceDeployment(in, "cap-backend", t)
				d.Spec.Template.Spec.Containers[0].Image = "edited-by-hand"
				return d
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := walkthrough(t)
			actual := tc.actual(in, t)
			if tc.edit != nil {
				tc.edit(in)
			}
			desired := versionrender.NewDeployment(in, findWorkload(t, in.CAV, "cap-backend"), "", "vcap-secret")
			if got := needsReplacement(desired, actual); got != tc.want {
				t.Errorf("needsReplacement = %v, want %v", got, tc.want)
			}
		})
	}
}
