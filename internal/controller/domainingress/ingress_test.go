package domainingress

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ingressSelector is the published examples' selector.
var ingressSelector = map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}

// ingressPod returns an ingress gateway pod.
func ingressPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: ingressSelector}}
}

// loadBalancer returns a LoadBalancer Service with annotations and an EndpointSlice
// pointing at pod.
func loadBalancer(ns, name, pod string, annotations map[string]string) []runtime.Object {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-abc", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		Endpoints:  []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod}}},
	}
	return []runtime.Object{svc, slice}
}

// TestDiscoverIngress covers the ingress namespace rule and every source of the DNS target.
func TestDiscoverIngress(t *testing.T) {
	gardenerLB := loadBalancer("istio-system", "istio-ingressgateway", "gw-1",
		map[string]string{v1alpha1.AnnotationGardenerDNSNames: "*.Ingress.Example.com, other.example.com"})
	tests := map[string]struct {
		// cluster state and settings
		objects       []runtime.Object
		specTarget    string
		defaultTarget string
		dnsManager    string
		selector      map[string]string
		// expectations
		wantNamespace, wantTarget string
		wantErr                   string
		wantPermanent             bool
	}{
		"the spec's target wins": {
			objects: []runtime.Object{ingressPod("istio-system", "gw-1")}, specTarget: "spec.example.com", defaultTarget: "ENV.example.com",
			wantNamespace: "istio-system", wantTarget: "spec.example.com",
		},
		"DNS_TARGET lower-cased": {
			objects: []runtime.Object{ingressPod("istio-system", "gw-1")}, defaultTarget: "ENV.example.com",
			wantNamespace: "istio-system", wantTarget: "env.example.com",
		},
		"the gardener annotation, first value, wildcard replaced": {
			objects: append([]runtime.Object{ingressPod("istio-system", "gw-1")}, gardenerLB...), dnsManager: domainrender.DNSManagerGardener,
			wantNamespace: "istio-system", wantTarget: "x.ingress.example.com",
		},
		"the external-dns annotation with the kubernetes DNS manager": {
			objects: append([]runtime.Object{ingressPod("istio-system", "gw-1")}, loadBalancer("istio-system", "lb", "gw-1",
				map[string]string{v1alpha1.AnnotationExternalDNSHost: "lb.example.com"})...),
			dnsManager: "kubernetes", wantNamespace: "istio-system", wantTarget: "lb.example.com",
		},
		"a load balancer of other pods does not count": {
			objects: append([]runtime.Object{ingressPod("istio-system", "gw-1")}, loadBalancer("istio-system", "lb", "other-pod",
				map[string]string{v1alpha1.AnnotationGardenerDNSNames: "lb.example.com"})...),
			dnsManager: domainrender.DNSManagerGardener, wantErr: "no DNS target",
		},
		"the annotation of the other DNS manager does not count": {
			objects: append([]runtime.Object{ingressPod("istio-system", "gw-1")}, gardenerLB...), dnsManager: "kubernetes",
			wantErr: "external-dns.alpha.kubernetes.io/hostname",
		},
		"no ingress pods": {
			dnsManager: domainrender.DNSManagerGardener, wantErr: "must be in exactly one namespace, found 0",
		},
		"ingress pods in two namespaces": {
			objects:    []runtime.Object{ingressPod("istio-system", "gw-1"), ingressPod("other", "gw-2")},
			specTarget: "x.example.com", wantErr: "found 2 [istio-system other]",
		},
		"an empty selector": {
			selector: map[string]string{}, wantErr: "ingressSelector is empty", wantPermanent: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := &v1alpha1.DomainSpec{Domain: "d.example.com", IngressSelector: ingressSelector, DNSTarget: tc.specTarget}
			if tc.selector != nil {
				spec.IngressSelector = tc.selector
			}
			kube := fake.NewClientset(tc.objects...)
			info, err := Discover(context.Background(), kube, spec, tc.defaultTarget, tc.dnsManager)
			if tc.wantErr != "" {
				var ie *Error
				if !errors.As(err, &ie) || ie.Permanent != tc.wantPermanent {
					t.Fatalf("want an ingress error (permanent %v), got %#v", tc.wantPermanent, err)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %q does not contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if info.Namespace != tc.wantNamespace || info.DNSTarget != tc.wantTarget {
				t.Errorf("got %+v, want namespace %q target %q", info, tc.wantNamespace, tc.wantTarget)
			}
		})
	}
}
