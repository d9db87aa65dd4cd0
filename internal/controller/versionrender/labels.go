package versionrender

import (
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Input is what every builder of this package reads: the version, its application and the
// names of exposed workloads.
type Input struct {
	// CA is the version's application.
	CA *v1alpha1.CAPApplication
	// CAV is the version.
	CAV *v1alpha1.CAPApplicationVersion
}

// OwnerHash is the owner-identifier-hash of the version's children.
func (in Input) OwnerHash() string { return identity.OwnerHash(in.CAV.Namespace, in.CAV.Name) }

// OwnerLabels are the labels that tie a child to the version.
func (in Input) OwnerLabels() map[string]string {
	return map[string]string{
		v1alpha1.LabelOwnerIdentifierHash: in.OwnerHash(),
		v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(in.CAV.Generation, 10),
	}
}

// OwnerAnnotations are the annotations that tie a child to the version.
func (in Input) OwnerAnnotations() map[string]string {
	return map[string]string{v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(in.CAV.Namespace, in.CAV.Name)}
}

// OwnerRef makes the version the controller of a child, so children are garbage collected
// with it and their events reach this controller.
func (in Input) OwnerRef() []metav1.OwnerReference {
	return []metav1.OwnerReference{*metav1.NewControllerRef(in.CAV, v1alpha1.SchemeGroupVersion.WithKind("CAPApplicationVersion"))}
}

// ObjectMeta returns the metadata of a child with the given name and labels.
func (in Input) ObjectMeta(name string, labels, userAnnotations map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: in.CAV.Namespace,
		Labels:          labels,
		Annotations:     controller.MergeMaps(userAnnotations, in.OwnerAnnotations()),
		OwnerReferences: in.OwnerRef(),
	}
}

// Exposed reports whether a workload receives traffic from the ingress gateway: routers and
// workloads named in a service exposure route.
func (in Input) Exposed(w *v1alpha1.WorkloadDetails) bool {
	if w.DeploymentDefinition != nil && w.DeploymentDefinition.Type == v1alpha1.DeploymentRouter {
		return true
	}
	for _, e := range in.CAV.Spec.ServiceExposures {
		for _, r := range e.Routes {
			if r.WorkloadName == w.Name {
				return true
			}
		}
	}
	return false
}

// SelectorLabels select the pods of a deployment workload (the Service selector).
func (in Input) SelectorLabels(w *v1alpha1.WorkloadDetails) map[string]string {
	return map[string]string{
		v1alpha1.LabelApp:              in.CA.Spec.BTPAppName,
		v1alpha1.LabelCAVVersion:       workload.VersionLabel(in.CAV.Spec.Version),
		v1alpha1.LabelResourceCategory: v1alpha1.CategoryWorkload,
		v1alpha1.LabelWorkloadType:     string(w.DeploymentDefinition.Type),
		v1alpha1.LabelWorkloadName:     workload.Name(in.CAV.Name, w.Name),
	}
}

// PodSelector selects a deployment workload's pods: the selector labels and the owner hash.
// The owner generation is left out because a Deployment's selector is immutable, while the
// generation changes with the version's spec.
func (in Input) PodSelector(w *v1alpha1.WorkloadDetails) map[string]string {
	labels := in.SelectorLabels(w)
	labels[v1alpha1.LabelOwnerIdentifierHash] = in.OwnerHash()
	return labels
}

// WorkloadLabels are the labels of a deployment workload's objects and pods: the user's
// labels overlaid with the selector and owner labels, and exposed-workload when exposed.
func (in Input) WorkloadLabels(w *v1alpha1.WorkloadDetails, withExposed bool) map[string]string {
	labels := controller.MergeMaps(w.Labels, in.SelectorLabels(w))
	labels = controller.MergeMaps(labels, in.OwnerLabels())
	if withExposed && in.Exposed(w) {
		labels[v1alpha1.LabelExposedWorkload] = "true"
	}
	return labels
}
