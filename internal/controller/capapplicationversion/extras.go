package capapplicationversion

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	istionetworkingv1 "istio.io/api/networking/v1"
	istiov1 "istio.io/client-go/pkg/apis/networking/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Default stickiness of Router workloads.
const (
	defaultRouterCookie = "CAPOP_ROUTER_STICKY"
)

// newPodDisruptionBudget builds the PodDisruptionBudget of a workload, or nil. Its selector is
// always the workload's labels.
func newPodDisruptionBudget(in versionrender.Input, w *v1alpha1.WorkloadDetails) *policyv1.PodDisruptionBudget {
	d := w.DeploymentDefinition
	if d.PodDisruptionBudget == nil {
		return nil
	}
	spec := *d.PodDisruptionBudget.DeepCopy()
	labels := in.WorkloadLabels(w, false)
	spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: in.ObjectMeta(workload.Name(in.CAV.Name, w.Name), labels, nil),
		Spec:       spec,
	}
}

// newHorizontalPodAutoscaler builds the HorizontalPodAutoscaler of a workload, or nil.
func newHorizontalPodAutoscaler(in versionrender.Input, w *v1alpha1.WorkloadDetails) *autoscalingv2.HorizontalPodAutoscaler {
	d := w.DeploymentDefinition
	if d.HorizontalPodAutoscaler == nil {
		return nil
	}
	h := d.HorizontalPodAutoscaler.DeepCopy()
	name := workload.Name(in.CAV.Name, w.Name)
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: in.ObjectMeta(name, in.WorkloadLabels(w, false), nil),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    h.MinReplicas, MaxReplicas: h.MaxReplicas, Metrics: h.Metrics, Behavior: h.Behavior,
		},
	}
}

// newDestinationRule builds the DestinationRule giving a workload session stickiness, or nil.
// Routers are sticky by cookie unless they configure stickiness themselves.
func newDestinationRule(in versionrender.Input, w *v1alpha1.WorkloadDetails) *istiov1.DestinationRule {
	d := w.DeploymentDefinition
	hash := consistentHash(d)
	if hash == nil {
		return nil
	}
	name := workload.Name(in.CAV.Name, w.Name)
	return &istiov1.DestinationRule{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule"},
		ObjectMeta: in.ObjectMeta(name, in.OwnerLabels(), nil),
		Spec: istionetworkingv1.DestinationRule{
			Host: fmt.Sprintf("%s.%s.svc.cluster.local", workload.ServiceName(in.CAV.Name, w.Name), in.CAV.Namespace),
			TrafficPolicy: &istionetworkingv1.TrafficPolicy{LoadBalancer: &istionetworkingv1.LoadBalancerSettings{
				LbPolicy: &istionetworkingv1.LoadBalancerSettings_ConsistentHash{ConsistentHash: hash},
			}},
		},
	}
}

// consistentHash returns the hash key of a workload's stickiness, by precedence header,
// cookie, query parameter, source IP; the Router default is a session cookie.
func consistentHash(d *v1alpha1.DeploymentDetails) *istionetworkingv1.LoadBalancerSettings_ConsistentHashLB {
	lb := &istionetworkingv1.LoadBalancerSettings_ConsistentHashLB{}
	var h *v1alpha1.StickinessHash
	if d.Stickiness != nil {
		h = d.Stickiness.Hash
	}
	switch {
	case h == nil && d.Type == v1alpha1.DeploymentRouter:
		lb.HashKey = &istionetworkingv1.LoadBalancerSettings_ConsistentHashLB_HttpCookie{
			HttpCookie: &istionetworkingv1.LoadBalancerSettings_ConsistentHashLB_HTTPCookie{Name: defaultRouterCookie, Path: "/", Ttl: durationOf(0)}}
	case h == nil:
		return nil
	case h.HttpHeaderName != "":
		lb.HashKey = &istionetworkingv1.LoadBalancerSettings_ConsistentHashLB_HttpHeaderName{HttpHeaderName: h.HttpHeaderName}
	case h.HttpCookie != nil:
		lb.HashKey = &istionetworkingv1.LoadBalancerSettings_ConsistentHashLB_HttpCookie{HttpCookie: httpCookie(h.HttpCookie)}
	case h.HttpQueryParameterName != "":
		lb.HashKey = &istionetworkingv1.LoadBalancerSettings_ConsistentHashLB_HttpQueryParameterName{HttpQueryParameterName: h.HttpQueryParameterName}
	case h.UseSourceIp:
		lb.HashKey = &istionetworkingv1.LoadBalancerSettings_ConsistentHashLB_UseSourceIp{UseSourceIp: true}
	default:
		return nil
	}
	return lb
}

// newNetworkPolicies builds the policy that lets the version's pods reach each other, and
// one policy per workload whose ports are open to the whole cluster.
func newNetworkPolicies(in versionrender.Input) []*networkingv1.NetworkPolicy {
	appLabels := map[string]string{
		v1alpha1.LabelApp:              in.CA.Spec.BTPAppName,
		v1alpha1.LabelCAVVersion:       workload.VersionLabel(in.CAV.Spec.Version),
		v1alpha1.LabelResourceCategory: v1alpha1.CategoryWorkload,
	}
	policies := []*networkingv1.NetworkPolicy{{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: in.ObjectMeta(in.CAV.Name, in.OwnerLabels(), nil),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: appLabels},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: appLabels}}}}},
		},
	}}
	for i := range in.CAV.Spec.Workloads {
		w := &in.CAV.Spec.Workloads[i]
		if p := clusterPolicy(in, w); p != nil {
			policies = append(policies, p)
		}
	}
	return policies
}

// clusterPolicy opens a workload's `networkPolicy: Cluster` ports to all pods of all
// namespaces, or returns nil when it has none.
func clusterPolicy(in versionrender.Input, w *v1alpha1.WorkloadDetails) *networkingv1.NetworkPolicy {
	if w.DeploymentDefinition == nil {
		return nil
	}
	var ports []networkingv1.NetworkPolicyPort
	for _, p := range w.DeploymentDefinition.Ports {
		if p.NetworkPolicy == v1alpha1.PortNetworkPolicyCluster {
			port := intstr.FromInt32(p.Port)
			ports = append(ports, networkingv1.NetworkPolicyPort{Port: &port})
		}
	}
	if len(ports) == 0 {
		return nil
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: in.ObjectMeta(workload.Name(in.CAV.Name, w.Name), in.OwnerLabels(), nil),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: in.SelectorLabels(w)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: ports,
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}, PodSelector: &metav1.LabelSelector{}}},
			}},
		},
	}
}

// httpCookie converts the API's cookie settings into Istio's.
func httpCookie(c *v1alpha1.HTTPCookie) *istionetworkingv1.LoadBalancerSettings_ConsistentHashLB_HTTPCookie {
	out := &istionetworkingv1.LoadBalancerSettings_ConsistentHashLB_HTTPCookie{Name: c.Name, Path: c.Path}
	if c.TTL != nil {
		out.Ttl = durationOf(c.TTL.Duration)
	}
	for _, a := range c.Attributes {
		out.Attributes = append(out.Attributes, &istionetworkingv1.LoadBalancerSettings_ConsistentHashLB_HTTPCookie_Attribute{Name: a.Name, Value: a.Value})
	}
	return out
}

// durationOf converts a Go duration into a protobuf one.
func durationOf(d time.Duration) *durationpb.Duration { return durationpb.New(d) }
