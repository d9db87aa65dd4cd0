package children

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/testenv"
)

// waitTimeout bounds every wait of the tests.
const waitTimeout = 60 * time.Second

// requests records the REST requests of the controllers under test as "METHOD path".
type requests struct {
	mu  sync.Mutex
	all []string
}

// recordingTransport records every request in log before passing it to next.
type recordingTransport struct {
	next http.RoundTripper
	log  *requests
}

// RoundTrip implements http.RoundTripper.
func (rt recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.log.mu.Lock()
	rt.log.all = append(rt.log.all, req.Method+" "+req.URL.Path)
	rt.log.mu.Unlock()
	return rt.next.RoundTrip(req)
}

// writes returns the recorded writes (POST, PUT, PATCH, DELETE) whose path contains
// "/<resource>/" or ends in "/<resource>", for each resource.
func (r *requests) writes(resources ...string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, req := range r.all {
		m, path, _ := strings.Cut(req, " ")
		if m == http.MethodGet {
			continue
		}
		for _, res := range resources {
			if strings.Contains(path, "/"+res+"/") || strings.HasSuffix(path, "/"+res) {
				out = append(out, req)
			}
		}
	}
	return out
}

// startRecorded runs the controllers against the test's API server with their requests
// recorded.
func startRecorded(t *testing.T, opts controller.Options, ctors ...controllertest.Constructor) (*controller.Context, *requests) {
	t.Helper()
	log := &requests{}
	cfg := rest.CopyConfig(testenv.Current().Config)
	cfg.Wrap(func(next http.RoundTripper) http.RoundTripper { return recordingTransport{next: next, log: log} })
	return controllertest.Start(t, cfg, opts, ctors...), log
}

// child is one child of an owner, found through a label selector (the owner-identifier-hash
// label, for children with generated names) or its name.
type child struct {
	resource  schema.GroupVersionResource
	namespace string
	selector  string
	name      string
}

// get returns the child that is not being deleted; nil when there is none.
func (c child) get(ctx context.Context, dyn dynamic.Interface) (*unstructured.Unstructured, error) {
	opts := metav1.ListOptions{LabelSelector: c.selector}
	if c.name != "" {
		opts.FieldSelector = "metadata.name=" + c.name
	}
	list, err := dyn.Resource(c.resource).Namespace(c.namespace).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	for i := range list.Items {
		if list.Items[i].GetDeletionTimestamp() == nil {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

// wait waits until the child exists and cond holds for it, and returns it. sync, when not
// nil, is called before each look (an owner synced by hand rather than by its controller).
func (c child) wait(t *testing.T, what string, sync func() error, cond func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	var got *unstructured.Unstructured
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		if sync != nil {
			if err := sync(); err != nil {
				return false, err
			}
		}
		var err error
		if got, err = c.get(context.Background(), testenv.Current().Dynamic()); err != nil {
			return false, err
		}
		if got == nil {
			return false, fmt.Errorf("no %s in %s selected by %q %q", c.resource.Resource, c.namespace, c.selector, c.name)
		}
		if !cond(got) {
			return false, fmt.Errorf("%s %s/%s: not yet %s", c.resource.Resource, got.GetNamespace(), got.GetName(), what)
		}
		return true, nil
	})
	return got
}

// driftCase is one kind of child and a hand edit of its spec.
type driftCase struct {
	child child
	// edit changes the spec by hand, leaving labels and annotations alone.
	edit func(spec map[string]any)
	// sync, when set, syncs the owner by hand while the test waits for the child to be put
	// back; nil leaves it to the owner's controller, which the child's events enqueue.
	sync func() error
	// allocated are the spec fields the API server allocates anew for a recreated child (a
	// Service's cluster IPs); they are not compared after the recreation.
	allocated []string
}

// checkDrift edits the child's spec by hand and waits until it is restored, then deletes
// the child and waits until it is created again with the same spec. Both the restoration
// and the recreation show the owner enqueued by the child's events.
func checkDrift(t *testing.T, tc driftCase) {
	t.Helper()
	ctx := context.Background()
	dyn := testenv.Current().Dynamic().Resource(tc.child.resource).Namespace(tc.child.namespace)
	orig := tc.child.wait(t, "created", nil, func(*unstructured.Unstructured) bool { return true })
	wantSpec := orig.Object["spec"]
	annotationsBefore := orig.GetAnnotations()

	edited := orig.DeepCopy()
	tc.edit(edited.Object["spec"].(map[string]any))
	if apiequality.Semantic.DeepEqual(edited.Object["spec"], wantSpec) {
		t.Fatal("the edit changes nothing")
	}
	if _, err := dyn.Update(ctx, edited, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("editing %s by hand: %v", orig.GetName(), err)
	}
	restored := tc.child.wait(t, "restored", tc.sync, func(u *unstructured.Unstructured) bool {
		return u.GetUID() == orig.GetUID() && apiequality.Semantic.DeepEqual(u.Object["spec"], wantSpec)
	})
	if !apiequality.Semantic.DeepEqual(restored.GetAnnotations(), annotationsBefore) {
		t.Errorf("annotations changed by the restoration: %v, want %v", restored.GetAnnotations(), annotationsBefore)
	}

	if err := dyn.Delete(ctx, orig.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("deleting %s: %v", orig.GetName(), err)
	}
	tc.child.wait(t, "recreated", tc.sync, func(u *unstructured.Unstructured) bool {
		return u.GetUID() != orig.GetUID() && apiequality.Semantic.DeepEqual(without(u.Object["spec"], tc.allocated), without(wantSpec, tc.allocated))
	})
}

// without returns a copy of the spec without the given fields.
func without(spec any, fields []string) any {
	out := maps.Clone(spec.(map[string]any))
	for _, f := range fields {
		delete(out, f)
	}
	return out
}

// checkNoWrites waits for one sync of the owner to settle earlier work, then pokes the owner
// twice (an annotation change enqueues it), waiting each time until the owner's queue
// finished one more item: a sync that finds nothing drifted may not write to the child
// resources. The owner's own status is not counted.
func checkNoWrites(t *testing.T, cctx *controller.Context, log *requests, kind string, poke func(n int) error, resources ...string) {
	t.Helper()
	waitSyncs := func(n int, poke func() error) {
		base := syncsDone(t, cctx, kind)
		if poke != nil {
			must(t, poke())
		}
		testenv.Eventually(t, waitTimeout, func() (bool, error) {
			if got := syncsDone(t, cctx, kind); got < base+n {
				return false, fmt.Errorf("%d syncs of the owner done, want %d", got-base, n)
			}
			return true, nil
		})
	}
	waitSyncs(1, func() error { return poke(0) })
	before := len(log.writes(resources...))
	for n := 1; n <= 2; n++ {
		waitSyncs(1, func() error { return poke(n) })
	}
	if after := log.writes(resources...); len(after) != before {
		t.Errorf("a sync without drift wrote: %v", after[before:])
	}
}

// syncsDone returns how many items the queue of kind has finished, from the
// cap_op_queue_work_duration_seconds histogram of the controllers' registry.
func syncsDone(t *testing.T, cctx *controller.Context, kind string) int {
	t.Helper()
	families, err := cctx.Metrics.Registry.Gather()
	must(t, err)
	for _, mf := range families {
		if mf.GetName() != "cap_op_queue_work_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" && l.GetValue() == kind {
					return int(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	return 0
}

// pokeAnnotation returns a poke that sets an annotation on an object through the dynamic
// client of the test (not the recorded one).
func pokeAnnotation(resource schema.GroupVersionResource, namespace, name string) func(n int) error {
	return func(n int) error {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{"test.capstan.io/poke":"%d"}}}`, n)
		_, err := testenv.Current().Dynamic().Resource(resource).Namespace(namespace).
			Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
