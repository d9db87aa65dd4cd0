package controller

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"

	smev1alpha1 "github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Child describes how to read and write one kind of child object. Get normally reads a
// lister, so a child in sync costs no API call.
type Child[T metav1.Object] struct {
	// Kind names the kind in messages ("Deployment").
	Kind string
	// Get returns the existing object (a NotFound error when there is none). Only
	// EnsureChild uses it; owners of children with generated names find the existing object
	// themselves and call CreateChild or UpdateChild.
	Get func(namespace, name string) (T, error)
	// Live reads the object from the API server. Informers of children only see objects
	// carrying the owner-identifier-hash label, so when a create fails with AlreadyExists,
	// Live tells a cache that is behind from an object the cache cannot see. Nil treats every
	// AlreadyExists as a cache that is behind.
	Live func(ctx context.Context, namespace, name string) (metav1.Object, error)
	// Client returns the typed client that writes objects of the namespace.
	Client func(namespace string) Writer[T]
	// Spec returns the part of the object the operator owns besides its metadata (usually
	// the spec); the drift rule compares it with the live object's (see ChildDrifted).
	Spec func(T) any
	// SetSpec copies the owned part of desired onto actual, which is a deep copy of the
	// existing object; it may keep fields another controller manages (replicas under an HPA).
	SetSpec func(desired, actual T)
	// DeepCopy copies an object.
	DeepCopy func(T) T
}

// Writer is the part of a generated typed client of one kind and namespace that writes.
type Writer[T any] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// Op says what reconciling a child wrote.
type Op int

// The writes of a child reconcile.
const (
	// OpNone: the child was in shape; nothing was written.
	OpNone Op = iota
	// OpCreated: the child was missing and was created.
	OpCreated
	// OpUpdated: the child had drifted and was updated.
	OpUpdated
)

// EnsureChild is the one way the operator reconciles a child object with a fixed name: it
// creates desired when Get finds nothing, and otherwise hands the existing object to
// UpdateChild. A deleted child is thereby created again on the owner's next sync, which the
// child's deletion event triggers (every owner routes update and delete events of its
// children to itself, see DependentHandler).
func EnsureChild[T metav1.Object](ctx context.Context, c Child[T], desired T) (T, Op, error) {
	var zero T
	actual, err := c.Get(desired.GetNamespace(), desired.GetName())
	if apierrors.IsNotFound(err) {
		return CreateChild(ctx, c, desired)
	}
	if err != nil {
		return zero, OpNone, err
	}
	return UpdateChild(ctx, c, desired, actual)
}

// CreateChild creates desired. A create that fails with AlreadyExists is explained by
// CreateConflict: a cache that is behind, or a name held by an object the owner does not
// control.
func CreateChild[T metav1.Object](ctx context.Context, c Child[T], desired T) (T, Op, error) {
	var zero T
	created, err := c.Client(desired.GetNamespace()).Create(ctx, desired, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return zero, OpNone, CreateConflict(ctx, c.Kind, desired, c.Live)
	}
	if err != nil {
		return zero, OpNone, err
	}
	return created, OpCreated, nil
}

// UpdateChild brings the existing child actual in line with desired and writes only when it
// drifted (ChildDrifted). It refuses an object controlled by another owner (a
// *ChildConflictError) and waits for an object that is being deleted, which is then created
// again. The update follows the adoption rule of AdoptChild.
func UpdateChild[T metav1.Object](ctx context.Context, c Child[T], desired, actual T) (T, Op, error) {
	var zero T
	if err := CheckController(c.Kind, desired, actual, false); err != nil {
		return zero, OpNone, err
	}
	if actual.GetDeletionTimestamp() != nil {
		return zero, OpNone, RequeueAfter(time.Second, fmt.Sprintf("waiting for %s %s/%s to be deleted", c.Kind, actual.GetNamespace(), actual.GetName()))
	}
	if !ChildDrifted(c, desired, actual) {
		return actual, OpNone, nil
	}
	updated, err := c.Client(actual.GetNamespace()).Update(ctx, AdoptChild(c, desired, actual), metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return zero, OpNone, err
	}
	return updated, OpUpdated, nil
}

// CreateConflict explains a create of desired that failed with AlreadyExists although the
// cache showed no such object. When live finds the object controlled by desired's
// controller (or gone again), the cache is merely behind and the key is requeued quietly;
// the object's event arrives shortly. Otherwise an object the operator does not own holds
// the name, and the cache cannot see it for lack of the owner label: the result is a
// *ChildConflictError for the owner's status, since retrying cannot succeed until someone
// removes the object.
func CreateConflict(ctx context.Context, kind string, desired metav1.Object, live func(ctx context.Context, namespace, name string) (metav1.Object, error)) error {
	behind := RequeueAfter(time.Second, "waiting for the cache to show "+desired.GetName())
	if live == nil {
		return behind
	}
	actual, err := live(ctx, desired.GetNamespace(), desired.GetName())
	if apierrors.IsNotFound(err) {
		return behind
	}
	if err != nil {
		return fmt.Errorf("reading %s %s/%s: %w", kind, desired.GetNamespace(), desired.GetName(), err)
	}
	if err := CheckController(kind, desired, actual, true); err != nil {
		return err
	}
	return behind
}

// CheckController returns a *ChildConflictError when actual is not controlled by the object
// desired names as its controller. hidden says the cache could not see actual.
func CheckController(kind string, desired, actual metav1.Object, hidden bool) error {
	want := metav1.GetControllerOfNoCopy(desired)
	got := metav1.GetControllerOfNoCopy(actual)
	if kind == "" {
		kind = fmt.Sprintf("%T", actual)
	}
	e := &ChildConflictError{Kind: kind, Namespace: actual.GetNamespace(), Name: actual.GetName(), Hidden: hidden}
	if got != nil {
		e.HeldBy = got.Kind + " " + got.Name
	}
	if want == nil {
		// Children in another namespace than their owner (certificates of a domain) carry no
		// owner reference; the owner label tells whose they are.
		label := smev1alpha1.LabelOwnerIdentifierHash
		if desired.GetLabels()[label] == "" || actual.GetLabels()[label] == desired.GetLabels()[label] {
			return nil
		}
		e.Owner = desired.GetAnnotations()[smev1alpha1.AnnotationOwnerIdentifier]
		return e
	}
	if got != nil && got.UID == want.UID {
		return nil
	}
	e.Owner = want.Kind + " " + want.Name
	return e
}

// ReasonChildConflict is the condition and event reason of an owner whose child's name is
// held by an object the operator does not own.
const ReasonChildConflict = "ChildNameConflict"

// ChildConflictError reports a child's name held by an object the operator does not own.
// Owners report it in their status and an event rather than retrying silently: it persists
// until someone removes or renames the object.
type ChildConflictError struct {
	// Kind, Namespace and Name identify the object holding the name.
	Kind, Namespace, Name string
	// Owner is the kind and name of the owner that wants the name ("CAPApplicationVersion v1").
	Owner string
	// HeldBy is the kind and name of the object's own controller, empty when it has none.
	HeldBy string
	// Hidden is true when the object lacks the owner-identifier-hash label, so the
	// operator's cache does not show it (and its deletion will not requeue the owner).
	Hidden bool
}

// Error implements error: which object, why it is in the way and what to do.
func (e *ChildConflictError) Error() string {
	msg := fmt.Sprintf("%s %s/%s already exists and is not controlled by %s", e.Kind, e.Namespace, e.Name, e.Owner)
	if e.HeldBy != "" {
		msg += fmt.Sprintf(" (it is controlled by %s)", e.HeldBy)
	}
	if e.Hidden {
		msg += fmt.Sprintf("; it lacks the label %s, so the operator does not watch it", smev1alpha1.LabelOwnerIdentifierHash)
	}
	return msg + "; delete or rename it, and the operator creates its own"
}

// LiveMetadata returns a Child.Live function reading objects of resource as metadata only.
func LiveMetadata(client metadata.Interface, resource schema.GroupVersionResource) func(ctx context.Context, namespace, name string) (metav1.Object, error) {
	return func(ctx context.Context, namespace, name string) (metav1.Object, error) {
		return client.Resource(resource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	}
}
