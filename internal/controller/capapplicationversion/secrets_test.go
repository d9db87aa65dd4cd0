package capapplicationversion

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/workload"
)

// TestEnsureVCAPSecret checks how a workload object gets its VCAP_SERVICES Secret: a
// Deployment keeps the Secret it injects whatever the binding Secrets hold now (rolling on a
// credential change is the credential rollout's job), and otherwise gets the Secret named
// after the current content.
func TestEnsureVCAPSecret(t *testing.T) {
	const prefix = "cav-cap-app-01-1-app-router"
	tests := map[string]struct {
		// current is the Secret the existing object injects: "old" (a Secret of the workload
		// in the cache), "foreign" (a cached Secret of another workload), "gone" (not in the
		// cache) or "" (no object yet).
		current string
		// preexisting puts the Secret of the current content on the server but not in the
		// cache (written by the credential rollout a moment ago).
		preexisting bool
		// expectations: the Secret used, and the API calls made.
		wantCurrent bool
		calls       []string
	}{
		"kept although the credentials changed": {current: "old", wantCurrent: true},
		"new object: built from the binding secrets": {
			calls: []string{"get secrets", "get secrets", "get secrets", "get secrets", "get secrets", "create secrets"},
		},
		"injected secret gone: rebuilt": {
			current: "gone",
			calls:   []string{"get secrets", "get secrets", "get secrets", "get secrets", "get secrets", "create secrets"},
		},
		"injected secret of another workload: rebuilt": {
			current: "foreign",
			calls:   []string{"get secrets", "get secrets", "get secrets", "get secrets", "get secrets", "create secrets"},
		},
		"content-hash secret already written: reused": {
			preexisting: true,
			calls:       []string{"get secrets", "get secrets", "get secrets", "get secrets", "get secrets", "create secrets"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := walkthrough(t)
			in.CAV.Namespace, in.CA.Namespace = "ns", "ns"
			router := findWorkload(t, in.CAV, "app-router")
			var kubeObjs []runtime.Object
			bindings := map[string]*corev1.Secret{}
			for _, svc := range in.CA.Spec.BTP.Services {
				b := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: svc.Secret, Namespace: "ns"},
					Data: map[string][]byte{"credentials": []byte(`{"clientsecret":"` + svc.Name + `-rotated"}`)}}
				bindings[svc.Secret] = b
				kubeObjs = append(kubeObjs, b)
			}
			vcap, _, err := workload.VCAPServices(in.CA.Spec.BTP.Services, router.ConsumedBTPServices, func(n string) (map[string][]byte, error) { return bindings[n].Data, nil })
			if err != nil {
				t.Fatal(err)
			}
			want := workload.VCAPSecret(in.CAV, prefix, vcap)
			if tc.preexisting {
				kubeObjs = append(kubeObjs, want)
			}
			ctl, kubeClient, secretCache := newSecretsFixture(t, kubeObjs...)
			cached := map[string]*metav1.ObjectMeta{
				"old":     {Name: prefix + "-1234567890", Labels: want.Labels},
				"foreign": {Name: "cav-cap-app-01-1-cap-backend-1234567890", Labels: map[string]string{"sme.sap.com/secret-owner-hash": "other"}},
			}
			current := ""
			if m, ok := cached[tc.current]; ok {
				m.Namespace = "ns"
				if err := secretCache.Add(&metav1.PartialObjectMetadata{ObjectMeta: *m}); err != nil {
					t.Fatal(err)
				}
				current = m.Name
			} else if tc.current == "gone" {
				current = prefix + "-0000000000"
			}
			got, err := ctl.ensureVCAPSecret(context.Background(), in, prefix, router.ConsumedBTPServices, current)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantCurrent && got != current || !tc.wantCurrent && got != want.Name {
				t.Errorf("secret %s (current %q, content-hash %s)", got, current, want.Name)
			}
			var calls []string
			for _, a := range kubeClient.Actions() {
				calls = append(calls, a.GetVerb()+" "+a.GetResource().Resource)
			}
			if !slices.Equal(calls, tc.calls) {
				t.Errorf("calls %v, want %v", calls, tc.calls)
			}
			if !tc.wantCurrent {
				s, err := kubeClient.CoreV1().Secrets("ns").Get(context.Background(), got, metav1.GetOptions{})
				if err != nil || (s.StringData[workload.EnvVCAPServices] != vcap && string(s.Data[workload.EnvVCAPServices]) != vcap) {
					t.Errorf("secret %s does not hold the current content: %v %v", got, s, err)
				}
				// A second sync before the cache shows the Secret trusts it.
				again, err := ctl.ensureVCAPSecret(context.Background(), in, prefix, router.ConsumedBTPServices, got)
				if err != nil || again != got || len(kubeClient.Actions()) != len(tc.calls)+1 {
					t.Errorf("second sync: %s %v, %d calls", again, err, len(kubeClient.Actions()))
				}
			}
		})
	}
}

// newSecretsFixture builds a version controller on fake clients; its Secret cache is a plain
// indexer the test fills.
func newSecretsFixture(t *testing.T, kubeObjs ...runtime.Object) (*Controller, *kubefake.Clientset, cache.Indexer) {
	t.Helper()
	f := controllertest.NewFake(t, controller.Options{})
	for _, o := range kubeObjs {
		// On the server only: the test decides what the Secret cache holds.
		if err := f.Kube.Tracker().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	ctl, err := NewController(f.Context)
	if err != nil {
		t.Fatal(err)
	}
	return ctl, f.Kube, f.Context.Secrets().Informer().GetIndexer()
}
