package domainref

import (
	"errors"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// status returns a domain status in a state with a gateway and a Ready condition.
func status(state v1alpha1.DomainState, gateway string, ready metav1.ConditionStatus) v1alpha1.DomainStatus {
	st := v1alpha1.DomainStatus{State: state, GatewayName: gateway}
	st.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionTypeReady, Status: ready, Reason: "r", Message: "m"}}
	return st
}

// TestResolve covers ordering, gateways and every problem of a reference.
func TestResolve(t *testing.T) {
	ready := status(v1alpha1.DomainStateReady, "gw", metav1.ConditionTrue)
	domains := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	clusterDomains := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for name, st := range map[string]v1alpha1.DomainStatus{
		"primary": ready, "failed": status(v1alpha1.DomainStateError, "gw", metav1.ConditionFalse),
		"processing": status(v1alpha1.DomainStateProcessing, "gw", metav1.ConditionFalse),
		"no-gateway": status(v1alpha1.DomainStateReady, "", metav1.ConditionTrue),
		"blocked":    status(v1alpha1.DomainStateDeleting, "gw-b", metav1.ConditionTrue),
	} {
		_ = domains.Add(&v1alpha1.Domain{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name},
			Spec: v1alpha1.DomainSpec{Domain: name + ".example.com"}, Status: st})
	}
	_ = domains.Add(&v1alpha1.Domain{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "elsewhere"}, Status: ready})
	_ = clusterDomains.Add(&v1alpha1.ClusterDomain{ObjectMeta: metav1.ObjectMeta{Name: "shared"},
		Spec: v1alpha1.DomainSpec{Domain: "shared.example.com"}, Status: status(v1alpha1.DomainStateReady, "gw-s", metav1.ConditionTrue)})
	ref := func(kind v1alpha1.DomainRefKind, name string) v1alpha1.DomainRef {
		return v1alpha1.DomainRef{Kind: kind, Name: name}
	}
	dom, cdom := v1alpha1.DomainRefKindDomain, v1alpha1.DomainRefKindClusterDomain
	tests := map[string]struct {
		refs        []v1alpha1.DomainRef
		wantHosts   []string
		wantGWs     []string
		wantProblem Problem
	}{
		"Domain refs first, then ClusterDomain refs": {
			refs:      []v1alpha1.DomainRef{ref(cdom, "shared"), ref(dom, "primary"), ref(dom, "blocked")},
			wantHosts: []string{"api.primary.example.com", "api.blocked.example.com", "api.shared.example.com"},
			wantGWs:   []string{"app/gw", "app/gw-b", "op/gw-s"},
		},
		"a missing ref is the most severe":  {refs: []v1alpha1.DomainRef{ref(dom, "processing"), ref(dom, "failed"), ref(cdom, "nope")}, wantProblem: ProblemNotFound},
		"a failed ref before a waiting one": {refs: []v1alpha1.DomainRef{ref(dom, "processing"), ref(dom, "failed")}, wantProblem: ProblemFailed},
		"a processing ref":                  {refs: []v1alpha1.DomainRef{ref(dom, "processing")}, wantProblem: ProblemNotReady},
		"a ref without a gateway":           {refs: []v1alpha1.DomainRef{ref(dom, "no-gateway")}, wantProblem: ProblemNotReady},
		"a Domain of another namespace":     {refs: []v1alpha1.DomainRef{ref(dom, "elsewhere")}, wantProblem: ProblemNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ca := &v1alpha1.CAPApplication{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "ca"}}
			ca.Spec.DomainRefs = tc.refs
			got, err := Resolve(ca, smelisters.NewDomainLister(domains), smelisters.NewClusterDomainLister(clusterDomains), "op")
			if tc.wantProblem != "" {
				var re *RefError
				if !errors.As(err, &re) || re.Problem != tc.wantProblem {
					t.Fatalf("want problem %s, got %v", tc.wantProblem, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if hosts := Hosts("api", got); !reflect.DeepEqual(hosts, tc.wantHosts) {
				t.Errorf("hosts %v, want %v", hosts, tc.wantHosts)
			}
			if gws := Gateways(got); !reflect.DeepEqual(gws, tc.wantGWs) {
				t.Errorf("gateways %v, want %v", gws, tc.wantGWs)
			}
			if m := SpecMap(got); m["ClusterDomain.shared"] != "shared.example.com" || m["Domain.app.primary"] != "primary.example.com" {
				t.Errorf("spec map %v", m)
			}
		})
	}
}
