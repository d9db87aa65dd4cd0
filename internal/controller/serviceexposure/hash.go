package serviceexposure

import (
	"bytes"
	"encoding/json"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// specHash hashes the JSON of a spec. Compacting first makes the hash independent of the
// whitespace the protobuf JSON marshaler may vary.
func specHash(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		// Only unsupported types fail to marshal; the builder never produces them.
		panic(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		panic(err)
	}
	return identity.SHA256(buf.String())
}

// hashDiffers reports whether a stored object's content hash differs from the desired one.
func hashDiffers(want, existing metav1.Object) bool {
	return want.GetAnnotations()[v1alpha1.AnnotationResourceHash] != existing.GetAnnotations()[v1alpha1.AnnotationResourceHash]
}

// adopt copies the identity of the stored object into the desired one and keeps labels and
// annotations other parties added, so an Update writes only what this package owns.
func adopt(want, existing metav1.Object) {
	want.SetName(existing.GetName())
	want.SetGenerateName(existing.GetGenerateName())
	want.SetResourceVersion(existing.GetResourceVersion())
	want.SetUID(existing.GetUID())
	labels := maps.Clone(existing.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, want.GetLabels())
	want.SetLabels(labels)
	annotations := maps.Clone(existing.GetAnnotations())
	if annotations == nil {
		annotations = map[string]string{}
	}
	maps.Copy(annotations, want.GetAnnotations())
	want.SetAnnotations(annotations)
	want.SetFinalizers(existing.GetFinalizers())
}
