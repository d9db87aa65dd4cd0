package controller

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

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

// FinalizerRemovalPatch is a JSON patch (RFC 6902) removing finalizer i after testing its
// value, so that a concurrent change of the list makes the patch fail instead of removing
// another finalizer. Unlike an update it needs no resourceVersion: a change elsewhere in the
// object (its status) does not refuse it.
func FinalizerRemovalPatch(i int, finalizer string) ([]byte, error) {
	path := fmt.Sprintf("/metadata/finalizers/%d", i)
	return json.Marshal([]map[string]any{
		{"op": "test", "path": path, "value": finalizer},
		{"op": "remove", "path": path},
	})
}

// IsFailedPatchTest reports whether a JSON patch failed its test operation; the API server
// answers that with a 422 (Invalid) or 500 depending on the version, naming the test.
func IsFailedPatchTest(err error) bool {
	return err != nil && strings.Contains(err.Error(), "testing value")
}
