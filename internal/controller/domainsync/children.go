package domainsync

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// readiness is what a child's status says: ready, still waiting (notReady says for what),
// or failed.
type readiness struct {
	notReady string
	err      error
}

// firstNotReady turns the first failure or wait among the children into the sync's result.
func firstNotReady(rs ...readiness) error {
	for _, r := range rs {
		if r.err != nil {
			return &syncError{reason: ReasonProcessingError, err: r.err}
		}
	}
	for _, r := range rs {
		if r.notReady != "" {
			return &syncError{reason: ReasonCertificateNotReady, waiting: true, requeueAfter: readinessRecheck,
				err: fmt.Errorf("%s", r.notReady)}
		}
	}
	return nil
}

// ownerSelector selects the children of an owner hash.
func ownerSelector(ownerHash string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{v1alpha1.LabelOwnerIdentifierHash: ownerHash})
}

// createOpts, updateOpts and deleteOpts carry the field manager on every write.
var (
	createOpts = metav1.CreateOptions{FieldManager: controller.FieldManager}
	updateOpts = metav1.UpdateOptions{FieldManager: controller.FieldManager}
	deleteOpts = metav1.DeleteOptions{}
)

// adopt copies the identity of the stored object into the desired one, so that an Update
// writes the desired content without dropping labels, annotations or finalizers other
// parties added.
func adopt(want, existing metav1.Object) {
	want.SetName(existing.GetName())
	want.SetGenerateName(existing.GetGenerateName())
	want.SetResourceVersion(existing.GetResourceVersion())
	want.SetUID(existing.GetUID())
	merged := maps.Clone(existing.GetLabels())
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, want.GetLabels())
	want.SetLabels(merged)
	annotations := maps.Clone(existing.GetAnnotations())
	if annotations == nil {
		annotations = map[string]string{}
	}
	maps.Copy(annotations, want.GetAnnotations())
	want.SetAnnotations(annotations)
	finalizers := slices.Clone(existing.GetFinalizers())
	for _, f := range want.GetFinalizers() {
		if !slices.Contains(finalizers, f) {
			finalizers = append(finalizers, f)
		}
	}
	want.SetFinalizers(finalizers)
}

// hashDiffers reports whether a stored child's content hash differs from the desired one.
func hashDiffers(want, existing metav1.Object) bool {
	return want.GetAnnotations()[v1alpha1.AnnotationResourceHash] != existing.GetAnnotations()[v1alpha1.AnnotationResourceHash]
}

// oldestFirst sorts children by creation time, then name, so that among duplicates the
// one that has served longest is kept.
func oldestFirst[T metav1.Object](objs []T) {
	sort.Slice(objs, func(i, j int) bool {
		ti, tj := objs[i].GetCreationTimestamp(), objs[j].GetCreationTimestamp()
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}

// withoutFinalizer returns the finalizers without the domain finalizer and whether it was
// there.
func withoutFinalizer(finalizers []string) ([]string, bool) {
	kept := slices.DeleteFunc(slices.Clone(finalizers), func(f string) bool { return f == v1alpha1.FinalizerDomain })
	return kept, len(kept) != len(finalizers)
}
