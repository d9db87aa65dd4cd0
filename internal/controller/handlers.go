package controller

import (
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
)

// BatchDelay is how long a dependant's change waits before its owner is synced. Changes of
// many dependants within the window (hundreds of tenants of one application finishing
// together) collapse into one sync of the owner, because the delaying queue keeps one entry
// per key.
const BatchDelay = time.Second

// MetaOf returns the object metadata of an informer event object, unwrapping the tombstone
// a delete event carries when the watch missed the final state.
func MetaOf(obj any) (metav1.Object, bool) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, false
	}
	return m, true
}

// KeyOf returns the queue key of an object.
func KeyOf(m metav1.Object) cache.ObjectName {
	return cache.ObjectName{Namespace: m.GetNamespace(), Name: m.GetName()}
}

// EnqueueImmediately adds key to q now.
func EnqueueImmediately(q Queue, key cache.ObjectName) { q.Add(key) }

// EnqueueBatched adds key to q after BatchDelay, merging with any pending add of the same key.
func EnqueueBatched(q Queue, key cache.ObjectName) { q.AddAfter(key, BatchDelay) }

// PrimaryHandler returns the event handler of a controller's own kind: creations and updates
// of spec or metadata enqueue the object at once. Resyncs (same resourceVersion) and
// status-only updates, which the controller itself causes, are dropped. Deletions are ignored:
// objects carry finalizers, so their deletion arrives as an update setting the timestamp.
func PrimaryHandler(q Queue) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m, ok := MetaOf(obj); ok {
				EnqueueImmediately(q, KeyOf(m))
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			oldMeta, ok1 := MetaOf(oldObj)
			newMeta, ok2 := MetaOf(newObj)
			if ok1 && ok2 && RelevantUpdate(oldMeta, newMeta) {
				EnqueueImmediately(q, KeyOf(newMeta))
			}
		},
	}
}

// RelevantUpdate reports whether an update of an object changed more than its status:
// generation (spec), labels, annotations, owner references, finalizers or the deletion
// timestamp.
func RelevantUpdate(oldMeta, newMeta metav1.Object) bool {
	if oldMeta.GetResourceVersion() == newMeta.GetResourceVersion() {
		return false
	}
	return MetadataChanged(oldMeta, newMeta)
}

// MetadataChanged reports whether the generation, labels, annotations, owner references,
// finalizers or deletion timestamp differ between two versions of an object.
func MetadataChanged(oldMeta, newMeta metav1.Object) bool {
	return oldMeta.GetGeneration() != newMeta.GetGeneration() ||
		!reflect.DeepEqual(oldMeta.GetLabels(), newMeta.GetLabels()) ||
		!reflect.DeepEqual(oldMeta.GetAnnotations(), newMeta.GetAnnotations()) ||
		!reflect.DeepEqual(oldMeta.GetOwnerReferences(), newMeta.GetOwnerReferences()) ||
		!reflect.DeepEqual(oldMeta.GetFinalizers(), newMeta.GetFinalizers()) ||
		!oldMeta.GetDeletionTimestamp().Equal(newMeta.GetDeletionTimestamp())
}

// DependentHandler returns the event handler of a kind whose changes matter to other
// objects: every update with a new resourceVersion and every deletion calls notify with the
// object (after unwrapping tombstones). Creations are ignored, since the controller that
// created the dependant already acted on it.
func DependentHandler(notify func(metav1.Object)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			oldMeta, ok1 := MetaOf(oldObj)
			newMeta, ok2 := MetaOf(newObj)
			if ok1 && ok2 && oldMeta.GetResourceVersion() != newMeta.GetResourceVersion() {
				notify(newMeta)
			}
		},
		DeleteFunc: func(obj any) {
			if m, ok := MetaOf(obj); ok {
				notify(m)
			}
		},
	}
}

// DependentHandlerIf is DependentHandler for a kind whose watchers read only part of it:
// updates for which changed reports false (a status field nobody downstream reads) are
// dropped. Deletions always notify. It keeps a frequently written object (an application's
// status during a mass operation) from fanning out to all its dependants on every write.
func DependentHandlerIf(changed func(oldObj, newObj any) bool, notify func(metav1.Object)) cache.ResourceEventHandlerFuncs {
	h := DependentHandler(notify)
	update := h.UpdateFunc
	h.UpdateFunc = func(oldObj, newObj any) {
		if changed(oldObj, newObj) {
			update(oldObj, newObj)
		}
	}
	return h
}

// OwnerGetter looks an owner up by namespace and name, normally through a lister.
type OwnerGetter func(namespace, name string) (metav1.Object, error)

// ControllerOwner returns the key of the object's controller owner when it is of the given
// group and kind and still exists with the referenced UID. The UID check keeps a dependant of
// a deleted owner from being attributed to a new owner of the same name.
func ControllerOwner(obj metav1.Object, gk schema.GroupKind, get OwnerGetter) (cache.ObjectName, bool) {
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref == nil || ref.Kind != gk.Kind {
		return cache.ObjectName{}, false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || gv.Group != gk.Group {
		return cache.ObjectName{}, false
	}
	owner, err := get(obj.GetNamespace(), ref.Name)
	if err != nil || owner.GetUID() != ref.UID {
		return cache.ObjectName{}, false
	}
	return cache.ObjectName{Namespace: obj.GetNamespace(), Name: ref.Name}, true
}

// CreateDeleteHandler calls notify for created and deleted objects only, for kinds whose
// existence matters but whose content is read elsewhere (binding Secrets).
func CreateDeleteHandler(notify func(metav1.Object)) cache.ResourceEventHandlerFuncs {
	call := func(obj any) {
		if m, ok := MetaOf(obj); ok {
			notify(m)
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: call, DeleteFunc: call}
}

// Registration pairs an informer with the handler a controller adds to it. A nil handler
// registers the informer for its cache only.
type Registration struct {
	Informer cache.SharedIndexInformer
	Handler  cache.ResourceEventHandler
}

// AddHandlers adds every registration's handler and returns the informers' HasSynced
// functions, which the controller's worker waits for.
func AddHandlers(registrations []Registration) ([]cache.InformerSynced, error) {
	synced := make([]cache.InformerSynced, 0, len(registrations))
	for _, r := range registrations {
		if r.Handler != nil {
			if _, err := r.Informer.AddEventHandler(r.Handler); err != nil {
				return nil, err
			}
		}
		synced = append(synced, r.Informer.HasSynced)
	}
	return synced, nil
}
