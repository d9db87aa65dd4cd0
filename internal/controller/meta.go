package controller

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// SetIfMissing sets key in *m unless it is present: identity labels and annotations are
// added, never overwritten.
func SetIfMissing(m *map[string]string, key, value string) {
	if *m == nil {
		*m = map[string]string{}
	}
	if _, ok := (*m)[key]; !ok {
		(*m)[key] = value
	}
}

// AddFinalizer adds a finalizer unless present and reports whether it added it.
func AddFinalizer(obj metav1.Object, finalizer string) bool {
	if slices.Contains(obj.GetFinalizers(), finalizer) {
		return false
	}
	obj.SetFinalizers(append(obj.GetFinalizers(), finalizer))
	return true
}

// RemoveFinalizer removes a finalizer and reports whether it was present.
func RemoveFinalizer(obj metav1.Object, finalizer string) bool {
	fs := obj.GetFinalizers()
	i := slices.Index(fs, finalizer)
	if i < 0 {
		return false
	}
	obj.SetFinalizers(slices.Delete(slices.Clone(fs), i, i+1))
	return true
}

// HasFinalizer reports whether obj carries the finalizer.
func HasFinalizer(obj metav1.Object, finalizer string) bool {
	return slices.Contains(obj.GetFinalizers(), finalizer)
}

// MissingBindingSecrets returns the binding Secrets of an application that do not exist,
// looked up in a metadata lister of Secrets.
func MissingBindingSecrets(secrets cache.GenericLister, ca *v1alpha1.CAPApplication) []string {
	var missing []string
	for _, s := range ca.Spec.BTP.Services {
		if _, err := secrets.ByNamespace(ca.Namespace).Get(s.Secret); err != nil {
			missing = append(missing, s.Secret)
		}
	}
	return missing
}
