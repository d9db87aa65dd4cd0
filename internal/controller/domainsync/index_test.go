package domainsync

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestReferencingApps checks the index keys and that apps come back oldest first.
func TestReferencingApps(t *testing.T) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, controller.Indexers(controller.IndexByDomainRef))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	app := func(ns, name string, created time.Time, refs ...v1alpha1.DomainRef) *v1alpha1.CAPApplication {
		return &v1alpha1.CAPApplication{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(created)},
			Spec:       v1alpha1.CAPApplicationSpec{DomainRefs: refs},
		}
	}
	dom := v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindDomain, Name: "primary"}
	cdom := v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindClusterDomain, Name: "shared"}
	for _, ca := range []*v1alpha1.CAPApplication{
		app("b", "late", t0.Add(time.Hour), cdom),
		app("a", "early", t0, dom, cdom),
		app("c", "same-name-other-ns", t0, dom),
	} {
		if err := indexer.Add(ca); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]struct {
		kind      v1alpha1.DomainRefKind
		ns, name  string
		wantNames []string
	}{
		"a domain is referenced from its namespace only": {kind: v1alpha1.DomainRefKindDomain, ns: "a", name: "primary", wantNames: []string{"a/early"}},
		"a cluster domain from anywhere, oldest first":   {kind: v1alpha1.DomainRefKindClusterDomain, name: "shared", wantNames: []string{"a/early", "b/late"}},
		"unreferenced": {kind: v1alpha1.DomainRefKindDomain, ns: "b", name: "primary"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			apps, err := ReferencingApps(indexer, tc.kind, tc.ns, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ca := range apps {
				got = append(got, ca.Namespace+"/"+ca.Name)
			}
			if !reflect.DeepEqual(got, tc.wantNames) {
				t.Errorf("got %v, want %v", got, tc.wantNames)
			}
		})
	}
}

// TestPrepare checks the finalizer and the host-hash label, and that a prepared object is
// left alone.
func TestPrepare(t *testing.T) {
	obj := testDomain()
	if !prepare(obj) {
		t.Fatal("first prepare changed nothing")
	}
	if obj.Meta.Labels[v1alpha1.LabelDomainHostHash] != identity.SHA1(obj.Spec.Domain) || obj.Meta.Finalizers[0] != v1alpha1.FinalizerDomain {
		t.Errorf("prepared metadata: %v %v", obj.Meta.Labels, obj.Meta.Finalizers)
	}
	if prepare(obj) {
		t.Error("second prepare changed the object")
	}
	obj.Spec.Domain = "moved.example.com"
	if !prepare(obj) || obj.Meta.Labels[v1alpha1.LabelDomainHostHash] != identity.SHA1("moved.example.com") {
		t.Error("a domain change did not update the host hash")
	}
}
