package credentialrollout

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// recordingQueue records AddAfter calls instead of delaying them.
type recordingQueue struct {
	controller.Queue
	added []string
}

func (q *recordingQueue) AddAfter(key cache.ObjectName, d time.Duration) {
	q.added = append(q.added, key.Namespace+" after "+d.String())
}

// secretMeta returns the metadata of a Secret as the metadata informer delivers it.
func secretMeta(namespace, name, resourceVersion string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, ResourceVersion: resourceVersion}}
}

func TestEnqueue(t *testing.T) {
	flagged, unflagged := application(true), application(false)
	unflagged.Namespace = "other"
	deleting := application(true)
	deleting.Namespace, deleting.DeletionTimestamp = "deleting", &metav1.Time{Time: t0}
	after := "apps after " + delay.String()
	tests := map[string]struct {
		// event is delivered to the controller's handlers.
		event func(ctl *Controller)
		want  []string
	}{
		"binding secret of a flagged application changes": {
			event: func(ctl *Controller) {
				changeHandler(ctl.bindingChanged).OnUpdate(secretMeta(ns, "dest-bind", "1"), secretMeta(ns, "dest-bind", "2"))
			},
			want: []string{after},
		},
		"binding secret of a flagged application is re-created": {
			event: func(ctl *Controller) {
				changeHandler(ctl.bindingChanged).OnAdd(secretMeta(ns, "dest-bind", "3"), false)
			},
			want: []string{after},
		},
		"resync without a change": {
			event: func(ctl *Controller) {
				changeHandler(ctl.bindingChanged).OnUpdate(secretMeta(ns, "dest-bind", "1"), secretMeta(ns, "dest-bind", "1"))
			},
		},
		"binding secret deleted: workloads keep their credentials": {
			event: func(ctl *Controller) { changeHandler(ctl.bindingChanged).OnDelete(secretMeta(ns, "dest-bind", "1")) },
		},
		"unrelated secret": {
			event: func(ctl *Controller) {
				changeHandler(ctl.bindingChanged).OnUpdate(secretMeta(ns, "tls", "1"), secretMeta(ns, "tls", "2"))
			},
		},
		"binding secret of an application without the flag": {
			event: func(ctl *Controller) {
				changeHandler(ctl.bindingChanged).OnUpdate(secretMeta("other", "dest-bind", "1"), secretMeta("other", "dest-bind", "2"))
			},
		},
		"binding secret of a flagged application being deleted": {
			event: func(ctl *Controller) {
				changeHandler(ctl.bindingChanged).OnUpdate(secretMeta("deleting", "dest-bind", "1"), secretMeta("deleting", "dest-bind", "2"))
			},
		},
		"flagged application seen (start-up)": {
			event: func(ctl *Controller) { applicationHandler(ctl.applicationChanged).OnAdd(flagged, true) },
			want:  []string{after},
		},
		"flag turned on": {
			event: func(ctl *Controller) {
				on := unflagged.DeepCopy()
				on.Spec.RolloutOnCredentialUpdate, on.Generation = true, 2
				applicationHandler(ctl.applicationChanged).OnUpdate(unflagged, on)
			},
			want: []string{"other after " + delay.String()},
		},
		"status update of a flagged application": {
			event: func(ctl *Controller) {
				updated := flagged.DeepCopy()
				updated.Status.State = v1alpha1.CAPApplicationStateConsistent
				applicationHandler(ctl.applicationChanged).OnUpdate(flagged, updated)
			},
		},
		"application without the flag seen": {
			event: func(ctl *Controller) { applicationHandler(ctl.applicationChanged).OnAdd(unflagged, true) },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, flagged, unflagged, deleting)
			q := &recordingQueue{Queue: f.ctl.queue}
			f.ctl.queue = q
			tc.event(f.ctl)
			if len(q.added) != len(tc.want) || (len(tc.want) > 0 && q.added[0] != tc.want[0]) {
				t.Errorf("queued %v, want %v", q.added, tc.want)
			}
		})
	}
}

// TestBatching runs the real delaying queue on a fake clock: changes within the delay form
// one batch per namespace, handed out once the delay has passed since the first change.
func TestBatching(t *testing.T) {
	other := application(true)
	other.Namespace = "other"
	f := newFixture(t, application(true), other)
	rotate := func(namespace, rv string) {
		changeHandler(f.ctl.bindingChanged).OnUpdate(secretMeta(namespace, "uaa-bind", "0"), secretMeta(namespace, "uaa-bind", rv))
	}
	rotate(ns, "1")
	settle(t, f)
	f.Clock.Step(delay / 2)
	rotate(ns, "2")      // joins the first batch
	rotate("other", "1") // its own batch, due at 1.5 delays
	settle(t, f)
	f.Clock.Step(delay/2 - time.Millisecond)
	if n := f.ctl.queue.Len(); n != 0 {
		t.Fatalf("%d batches ready before the delay", n)
	}
	f.Clock.Step(time.Millisecond)
	if got := next(t, f.ctl.queue); got != ns {
		t.Fatalf("first batch for %q, want %q", got, ns)
	}
	f.Clock.Step(delay / 2)
	if got := next(t, f.ctl.queue); got != "other" {
		t.Errorf("second batch for %q, want other (the second change of %s joined the first batch)", got, ns)
	}
	if n := f.ctl.queue.Len(); n != 0 {
		t.Errorf("%d more batches", n)
	}
}

// settle waits until the delaying queue has taken in every AddAfter made so far: it adds a
// sentinel behind them (the queue takes them in order) and waits for it to become ready.
func settle(t *testing.T, f *fixture) {
	t.Helper()
	f.ctl.queue.AddAfter(cache.ObjectName{Namespace: "sentinel"}, time.Nanosecond)
	f.Clock.Step(time.Nanosecond)
	if got := next(t, f.ctl.queue); got != "sentinel" {
		t.Fatalf("batch for %q became ready while settling", got)
	}
}

// next waits for the queue to hand out a key and returns its namespace.
func next(t *testing.T, q workqueue.TypedRateLimitingInterface[cache.ObjectName]) string {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return q.Len() > 0, nil
	})
	if err != nil {
		t.Fatal("no batch became ready")
	}
	key, _ := q.Get()
	q.Done(key)
	return key.Namespace
}
