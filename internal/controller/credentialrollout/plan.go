package credentialrollout

import (
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// candidate is one Deployment of an application that rolls on credential updates.
type candidate struct {
	cav        *v1alpha1.CAPApplicationVersion
	workload   *v1alpha1.WorkloadDetails
	deployment *appsv1.Deployment
	// injected is the VCAP_SERVICES Secret its pod template injects.
	injected string
}

// candidates returns the Deployments a batch looks at: those of every version of the
// application that is not being deleted (not only the latest Ready one and those tenants use,
// as the previous implementation chose: a version still running holds credentials that may
// have been revoked). Workloads whose Deployment does not exist yet, or is not controlled by
// the version, are left to the CAPApplicationVersion controller, which builds their
// VCAP_SERVICES from the current credentials anyway.
func candidates(cavs []*v1alpha1.CAPApplicationVersion, deployment func(namespace, name string) (*appsv1.Deployment, error)) []candidate {
	var out []candidate
	for _, cav := range cavs {
		if cav.DeletionTimestamp != nil {
			continue
		}
		for i := range cav.Spec.Workloads {
			w := &cav.Spec.Workloads[i]
			if w.DeploymentDefinition == nil {
				continue
			}
			d, err := deployment(cav.Namespace, workload.Name(cav.Name, w.Name))
			if err != nil || !controlledBy(d, cav) {
				continue
			}
			out = append(out, candidate{cav: cav, workload: w, deployment: d, injected: workload.VCAPSecretOf(&d.Spec.Template.Spec)})
		}
	}
	return out
}

// controlledBy reports whether a Deployment's controller is the version (same UID).
func controlledBy(d *appsv1.Deployment, cav *v1alpha1.CAPApplicationVersion) bool {
	ref := metav1.GetControllerOfNoCopy(d)
	return ref != nil && ref.Kind == "CAPApplicationVersion" && ref.UID == cav.UID
}

// action is what a batch does with one Deployment.
type action int

const (
	// keep: the injected Secret holds the current content.
	keep action = iota
	// roll: create the Secret of the current content and point the Deployment at it.
	roll
	// compare: the injected Secret is not named after its content (written by the previous
	// implementation, or before content-hash names); roll only if its content differs.
	compare
)

// decide returns what to do with a Deployment (named prefix) that injects the Secret
// injected, when its consumed credentials give the VCAP_SERVICES content vcap, and the
// name of the Secret of that content.
func decide(injected, prefix, vcap string) (action, string) {
	want := workload.VCAPSecretName(prefix, vcap)
	switch {
	case injected == "":
		// No VCAP_SERVICES at all: the CAPApplicationVersion controller puts it back.
		return keep, want
	case injected == want:
		return keep, want
	case workload.IsVCAPSecretName(prefix, injected):
		return roll, want
	default:
		return compare, want
	}
}
