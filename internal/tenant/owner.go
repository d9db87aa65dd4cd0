package tenant

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

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
	kept := slices.DeleteFunc(slices.Clone(refs), func(r metav1.OwnerReference) bool {
		gv, err := schema.ParseGroupVersion(r.APIVersion)
		return err == nil && gv.Group == v1alpha1.GroupName && r.Kind == "CAPApplication"
	})
	return kept, len(kept) != len(refs)
}
