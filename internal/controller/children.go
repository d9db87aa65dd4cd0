package controller

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Child describes how to read and write one kind of child object. Get normally reads a
// lister, so a child in sync costs no API call.
type Child[T metav1.Object] struct {
	// Get returns the existing object (a NotFound error when there is none).
	Get func(namespace, name string) (T, error)
	// Create and Update write the object.
	Create func(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update func(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	// Spec returns the part of the object the operator owns besides labels and annotations
	// (usually the spec); Drifted compares it.
	Spec func(T) any
	// SetSpec copies the owned part of desired onto actual, which is a deep copy of the
	// existing object; it may keep fields another controller manages (replicas under an HPA).
	SetSpec func(desired, actual T)
	// DeepCopy copies an object.
	DeepCopy func(T) T
}

// EnsureChild creates desired when it does not exist, and otherwise updates the existing
// object when a label, annotation or owned field differs. An existing object controlled by
// another owner is left alone and reported as an error.
func EnsureChild[T metav1.Object](ctx context.Context, c Child[T], desired T) (T, error) {
	var zero T
	actual, err := c.Get(desired.GetNamespace(), desired.GetName())
	if apierrors.IsNotFound(err) {
		created, err := c.Create(ctx, desired, metav1.CreateOptions{FieldManager: FieldManager})
		if apierrors.IsAlreadyExists(err) {
			// The cache is behind the server; the object's event will arrive shortly.
			return zero, RequeueAfter(time.Second, "waiting for the cache to show "+desired.GetName())
		}
		return created, err
	}
	if err != nil {
		return zero, err
	}
	if err := checkControlledBySame(desired, actual); err != nil {
		return zero, err
	}
	if !childDrifted(c, desired, actual) {
		return actual, nil
	}
	updated := c.DeepCopy(actual)
	updated.SetLabels(MergeMaps(actual.GetLabels(), desired.GetLabels()))
	updated.SetAnnotations(MergeMaps(actual.GetAnnotations(), desired.GetAnnotations()))
	c.SetSpec(desired, updated)
	return c.Update(ctx, updated, metav1.UpdateOptions{FieldManager: FieldManager})
}

// childDrifted reports whether the existing object lost a label, annotation or owned field.
func childDrifted[T metav1.Object](c Child[T], desired, actual T) bool {
	return !ContainsAll(actual.GetLabels(), desired.GetLabels()) ||
		!ContainsAll(actual.GetAnnotations(), desired.GetAnnotations()) ||
		Drifted(c.Spec(desired), c.Spec(actual))
}

// checkControlledBySame returns an error when actual is controlled by another object than
// desired names as its controller.
func checkControlledBySame(desired, actual metav1.Object) error {
	want := metav1.GetControllerOfNoCopy(desired)
	got := metav1.GetControllerOfNoCopy(actual)
	if want == nil {
		return nil
	}
	if got == nil || got.UID != want.UID {
		return fmt.Errorf("%s %s/%s exists and is not controlled by %s %s", kindOf(actual), actual.GetNamespace(), actual.GetName(), want.Kind, want.Name)
	}
	return nil
}

// kindOf names an object's Go type for messages.
func kindOf(obj any) string {
	return fmt.Sprintf("%T", obj)
}
