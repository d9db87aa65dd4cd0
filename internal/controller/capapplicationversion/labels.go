package capapplicationversion

import (
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// input is what every builder of this package reads: the version, its application and the
// names of exposed workloads.
type input struct {
	ca  *v1alpha1.CAPApplication
	cav *v1alpha1.CAPApplicationVersion
}

// ownerHash is the owner-identifier-hash of the version's children.
func (in input) ownerHash() string { return identity.OwnerHash(in.cav.Namespace, in.cav.Name) }

// ownerLabels are the labels that tie a child to the version.
func (in input) ownerLabels() map[string]string {
	return map[string]string{
		v1alpha1.LabelOwnerIdentifierHash: in.ownerHash(),
		v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(in.cav.Generation, 10),
	}
}

// ownerAnnotations are the annotations that tie a child to the version.
func (in input) ownerAnnotations() map[string]string {
	return map[string]string{v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(in.cav.Namespace, in.cav.Name)}
}

// ownerRef makes the version the controller of a child, so children are garbage collected
// with it and their events reach this controller.
func (in input) ownerRef() []metav1.OwnerReference {
	return []metav1.OwnerReference{*metav1.NewControllerRef(in.cav, v1alpha1.SchemeGroupVersion.WithKind("CAPApplicationVersion"))}
}

// objectMeta returns the metadata of a child with the given name and labels.
func (in input) objectMeta(name string, labels, userAnnotations map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: in.cav.Namespace,
		Labels:          labels,
		Annotations:     controller.MergeMaps(userAnnotations, in.ownerAnnotations()),
		OwnerReferences: in.ownerRef(),
	}
}

// exposed reports whether a workload receives traffic from the ingress gateway: routers and
// workloads named in a service exposure route.
func (in input) exposed(w *v1alpha1.WorkloadDetails) bool {
	if w.DeploymentDefinition != nil && w.DeploymentDefinition.Type == v1alpha1.DeploymentRouter {
		return true
	}
	for _, e := range in.cav.Spec.ServiceExposures {
		for _, r := range e.Routes {
			if r.WorkloadName == w.Name {
				return true
			}
		}
	}
	return false
}

// selectorLabels select the pods of a deployment workload (the Service selector).
func (in input) selectorLabels(w *v1alpha1.WorkloadDetails) map[string]string {
	return map[string]string{
		v1alpha1.LabelApp:              in.ca.Spec.BTPAppName,
		v1alpha1.LabelCAVVersion:       workload.VersionLabel(in.cav.Spec.Version),
		v1alpha1.LabelResourceCategory: v1alpha1.CategoryWorkload,
		v1alpha1.LabelWorkloadType:     string(w.DeploymentDefinition.Type),
		v1alpha1.LabelWorkloadName:     workload.Name(in.cav.Name, w.Name),
	}
}

// podSelector selects a deployment workload's pods: the selector labels and the owner hash.
// The owner generation is left out because a Deployment's selector is immutable, while the
// generation changes with the version's spec.
func (in input) podSelector(w *v1alpha1.WorkloadDetails) map[string]string {
	labels := in.selectorLabels(w)
	labels[v1alpha1.LabelOwnerIdentifierHash] = in.ownerHash()
	return labels
}

// workloadLabels are the labels of a deployment workload's objects and pods: the user's
// labels overlaid with the selector and owner labels, and exposed-workload when exposed.
func (in input) workloadLabels(w *v1alpha1.WorkloadDetails, withExposed bool) map[string]string {
	labels := controller.MergeMaps(w.Labels, in.selectorLabels(w))
	labels = controller.MergeMaps(labels, in.ownerLabels())
	if withExposed && in.exposed(w) {
		labels[v1alpha1.LabelExposedWorkload] = "true"
	}
	return labels
}
