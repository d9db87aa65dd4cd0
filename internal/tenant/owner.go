package tenant

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// WithoutApplicationOwner returns refs without the owner references to a CAPApplication and
// whether there were any.
//
// A CAPTenant is deliberately not a dependant of its CAPApplication (the previous
// implementation made the application its controller). The garbage collector follows every
// owner reference, controller or not, blocking or not: a foreground deletion of the
// application (Argo CD's default prune) deletes every dependant at once, so a reference
// would deprovision every consumer tenant behind the application's deletion guard, which
// waits for consumers to unsubscribe. Tenants find their application through
// spec.capApplicationInstance and the owner-identifier label instead. The controller removes
// references that earlier versions wrote; the subscription server never sets one.
func WithoutApplicationOwner(refs []metav1.OwnerReference) ([]metav1.OwnerReference, bool) {
	return withoutOwner(refs, "CAPApplication")
}

// WithoutTenantOwner returns refs without the owner references to a CAPTenant and whether
// there were any.
//
// A CAPTenantOperation is, for the same reason, not a dependant of its CAPTenant: a
// foreground deletion of the tenant would delete its running operations and, with them, the
// Jobs of a step that is running, and the deprovisioning operation the deletion starts. An
// operation finds its tenant through its owner-identifier annotation and label (see
// OperationTenant); the tenant controller deletes a tenant's operations itself, in one call,
// once the tenant is deprovisioned.
func WithoutTenantOwner(refs []metav1.OwnerReference) ([]metav1.OwnerReference, bool) {
	return withoutOwner(refs, "CAPTenant")
}

// withoutOwner returns refs without the references to kind of group sme.sap.com.
func withoutOwner(refs []metav1.OwnerReference, kind string) ([]metav1.OwnerReference, bool) {
	kept := slices.DeleteFunc(slices.Clone(refs), func(r metav1.OwnerReference) bool {
		gv, err := schema.ParseGroupVersion(r.APIVersion)
		return err == nil && gv.Group == v1alpha1.GroupName && r.Kind == kind
	})
	return kept, len(kept) != len(refs)
}

// OperationTenant returns the name of the CAPTenant an operation belongs to: its controller
// when an owner reference names one (operations of earlier versions), else the tenant its
// owner-identifier annotation names (`<namespace>.<name>`), when the annotation is in the
// operation's namespace and agrees with its owner-identifier-hash label.
func OperationTenant(op metav1.Object) (string, bool) {
	if ref := metav1.GetControllerOfNoCopy(op); ref != nil && ref.Kind == "CAPTenant" {
		return ref.Name, true
	}
	ns, name, ok := strings.Cut(op.GetAnnotations()[v1alpha1.AnnotationOwnerIdentifier], ".")
	if !ok || name == "" || ns != op.GetNamespace() || op.GetLabels()[v1alpha1.LabelOwnerIdentifierHash] != identity.OwnerHash(ns, name) {
		return "", false
	}
	return name, true
}
