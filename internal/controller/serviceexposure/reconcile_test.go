package serviceexposure

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	istiolisters "istio.io/client-go/pkg/listers/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// existingVS returns the VirtualService the builder wants for a subdomain, as stored under
// name; mutate changes it to simulate drift or leftovers.
func existingVS(t *testing.T, sub, name string, mutate func(*istionetworkingv1.VirtualService)) *istionetworkingv1.VirtualService {
	t.Helper()
	ca, cav := servicesOnly(t)
	vss, err := BuildVirtualServices(ca, cav, exampleDomains)
	if err != nil {
		t.Fatal(err)
	}
	for _, vs := range vss {
		if subDomainOf(vs) == sub {
			vs.Name, vs.GenerateName = name, ""
			if mutate != nil {
				mutate(vs)
			}
			return vs
		}
	}
	vs := vss[0].DeepCopy()
	vs.Name, vs.GenerateName = name, ""
	vs.Spec.Hosts = []string{sub + ".my.example.com"}
	return vs
}

// TestReconcile runs Reconcile against a fake Istio clientset whose objects are also in the
// lister, and checks the writes and the event.
func TestReconcile(t *testing.T) {
	tests := map[string]struct {
		// cluster state
		existing []*istionetworkingv1.VirtualService
		breakCAV bool
		// expectations: "verb name-or-subdomain" of every write
		wantWrites []string
		wantEvent  string
		wantErr    bool
	}{
		"creates one VirtualService per exposure": {
			wantWrites: []string{"create service", "create api"},
			wantEvent:  ReasonModified,
		},
		"leaves matching VirtualServices alone": {
			existing: []*istionetworkingv1.VirtualService{existingVS(t, "service", "vs-1", nil), existingVS(t, "api", "vs-2", nil)},
		},
		"updates a changed VirtualService, hash-gated": {
			existing: []*istionetworkingv1.VirtualService{
				existingVS(t, "service", "vs-1", func(vs *istionetworkingv1.VirtualService) {
					vs.Annotations[v1alpha1.AnnotationResourceHash] = "old"
					vs.Labels["foreign"] = "kept"
				}),
				existingVS(t, "api", "vs-2", nil),
			},
			wantWrites: []string{"update vs-1"},
			wantEvent:  ReasonModified,
		},
		"deletes stale and duplicate VirtualServices": {
			existing: []*istionetworkingv1.VirtualService{
				existingVS(t, "service", "vs-1", nil), existingVS(t, "api", "vs-2", nil),
				existingVS(t, "api", "vs-3", nil), existingVS(t, "old", "vs-4", nil),
			},
			wantWrites: []string{"delete vs-3", "delete vs-4"},
			wantEvent:  ReasonModified,
		},
		"a bad spec writes nothing": {
			existing:  []*istionetworkingv1.VirtualService{existingVS(t, "old", "vs-4", nil)},
			breakCAV:  true,
			wantEvent: ReasonModificationFailed,
			wantErr:   true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ca, cav := servicesOnly(t)
			if tc.breakCAV {
				cav.Spec.ServiceExposures[0].Routes[0].Port = 1
			}
			indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
			objs := make([]runtime.Object, 0, len(tc.existing))
			for _, vs := range tc.existing {
				objs = append(objs, vs)
				if err := indexer.Add(vs); err != nil {
					t.Fatal(err)
				}
			}
			client := istiofake.NewSimpleClientset(objs...)
			generated := 0
			client.PrependReactor("create", "virtualservices", func(a clienttesting.Action) (bool, runtime.Object, error) {
				vs := a.(clienttesting.CreateAction).GetObject().(*istionetworkingv1.VirtualService)
				generated++
				vs.Name = fmt.Sprintf("%sgen%d", vs.GenerateName, generated)
				return false, nil, nil
			})
			recorder := events.NewFakeRecorder(10)
			r := &Reconciler{istio: client, lister: istiolisters.NewVirtualServiceLister(indexer), recorder: recorder,
				metrics: controller.NewMetrics(true)}
			err := r.Reconcile(context.Background(), ca, cav, exampleDomains)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if got := writes(client.Actions()); !slices.Equal(got, tc.wantWrites) {
				t.Errorf("writes %v, want %v", got, tc.wantWrites)
			}
			checkEvent(t, recorder, tc.wantEvent)
		})
	}
}

// writes summarises the write actions as "verb name", using the subdomain for creations
// (their names are generated). An update must keep labels other parties added.
func writes(actions []clienttesting.Action) []string {
	var out []string
	for _, a := range actions {
		switch a.GetVerb() {
		case "create":
			vs := a.(clienttesting.CreateAction).GetObject().(*istionetworkingv1.VirtualService)
			out = append(out, "create "+subDomainOf(vs))
		case "update":
			vs := a.(clienttesting.UpdateAction).GetObject().(*istionetworkingv1.VirtualService)
			if vs.Labels["foreign"] != "kept" {
				out = append(out, "update dropping a foreign label")
				continue
			}
			out = append(out, "update "+vs.Name)
		case "delete":
			out = append(out, "delete "+a.(clienttesting.DeleteAction).GetName())
		}
	}
	return out
}

// checkEvent expects one event with reason want, or none when want is empty.
func checkEvent(t *testing.T, recorder *events.FakeRecorder, want string) {
	t.Helper()
	select {
	case e := <-recorder.Events:
		if want == "" || !strings.Contains(e, want) {
			t.Errorf("event %q, want %q", e, want)
		}
	default:
		if want != "" {
			t.Errorf("no event, want %q", want)
		}
	}
}
