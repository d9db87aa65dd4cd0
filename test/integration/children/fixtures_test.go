package children

import (
	"context"
	"fmt"
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

// RoundTrip implements http.RoundTripper around next.
type recordingTransport struct {
	next http.RoundTripper
	log  *requests
}

func (rt recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.log.mu.Lock()
	rt.log.all = append(rt.log.all, req.Method+" "+req.URL.Path)
	rt.log.mu.Unlock()
	return rt.next.RoundTrip(req)
}

// count returns how many recorded requests have the method and contain every fragment in
// their path.
func (r *requests) count(method string, fragments ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, req := range r.all {
		m, path, _ := strings.Cut(req, " ")
		if m != method && method != "" {
			continue
		}
		matches := true
		for _, f := range fragments {
			matches = matches && strings.Contains(path, f)
		}
		if matches {
			n++
		}
	}
	return n
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

// wait waits until the child exists and cond holds for it, and returns it.
func (c child) wait(t *testing.T, what string, cond func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	var got *unstructured.Unstructured
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		var err error
		if got, err = c.get(context.Background(), testenv.Current().Dynamic()); err != nil || got == nil {
			return false, err
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
	// sync, when set, syncs the owner by hand after each hand change; nil leaves it to the
	// owner's controller, which the child's events enqueue.
	sync func() error
}

// checkDrift edits the child's spec by hand and waits until it is restored, then deletes
// the child and waits until it is created again with the same spec. Both the restoration
// and the recreation show the owner enqueued by the child's events.
func checkDrift(t *testing.T, tc driftCase) {
	t.Helper()
	ctx := context.Background()
	dyn := testenv.Current().Dynamic().Resource(tc.child.resource).Namespace(tc.child.namespace)
	orig := tc.child.wait(t, "created", func(*unstructured.Unstructured) bool { return true })
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
	tc.syncOwner(t)
	restored := tc.child.wait(t, "restored", func(u *unstructured.Unstructured) bool {
		return u.GetUID() == orig.GetUID() && apiequality.Semantic.DeepEqual(u.Object["spec"], wantSpec)
	})
	if !apiequality.Semantic.DeepEqual(restored.GetAnnotations(), annotationsBefore) {
		t.Errorf("annotations changed by the restoration: %v, want %v", restored.GetAnnotations(), annotationsBefore)
	}

	if err := dyn.Delete(ctx, orig.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("deleting %s: %v", orig.GetName(), err)
	}
	tc.syncOwner(t)
	tc.child.wait(t, "recreated", func(u *unstructured.Unstructured) bool {
		return u.GetUID() != orig.GetUID() && apiequality.Semantic.DeepEqual(u.Object["spec"], wantSpec)
	})
}

// syncOwner calls tc.sync when set.
func (tc driftCase) syncOwner(t *testing.T) {
	t.Helper()
	if tc.sync != nil {
		must(t, tc.sync())
	}
}

// checkNoWrites pokes the owner twice (an annotation change enqueues it) and waits until
// marker, a request every sync of the owner makes, was seen twice more: the first of the
// two syncs has then finished, and no write to the child resources may have happened.
func checkNoWrites(t *testing.T, log *requests, poke func(n int) error, marker func() int, resources ...string) {
	t.Helper()
	before := len(log.writes(resources...))
	base := marker()
	for n := 1; n <= 2; n++ {
		if err := poke(n); err != nil {
			t.Fatalf("poking the owner: %v", err)
		}
		testenv.Eventually(t, waitTimeout, func() (bool, error) {
			if got := marker(); got < base+n {
				return false, fmt.Errorf("%d syncs of the owner, want %d", got-base, n)
			}
			return true, nil
		})
	}
	if after := log.writes(resources...); len(after) != before {
		t.Errorf("a sync without drift wrote: %v", after[before:])
	}
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
