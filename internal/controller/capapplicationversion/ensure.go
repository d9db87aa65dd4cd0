package capapplicationversion

import (
	istiov1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/capstan-io/capstan/internal/controller"
)

// The child descriptions below tell controller.EnsureChild how to read (from listers, and
// live to explain a name conflict) and write each kind the version owns, and which part of it
// the operator manages; the adoption and drift rules are controller.AdoptChild and
// controller.ChildDrifted.

func (ctl *Controller) deploymentChild() controller.Child[*appsv1.Deployment] {
	return controller.Child[*appsv1.Deployment]{
		Kind: "Deployment",
		Live: controller.LiveMetadata(ctl.c.Clients.Metadata, appsv1.SchemeGroupVersion.WithResource("deployments")),
		Get:  func(ns, n string) (*appsv1.Deployment, error) { return ctl.deployments.Deployments(ns).Get(n) },
		Client: func(ns string) controller.Writer[*appsv1.Deployment] {
			return ctl.c.Clients.Kube.AppsV1().Deployments(ns)
		},
		Spec: deploymentOwned,
		SetSpec: func(desired, actual *appsv1.Deployment) {
			replicas, selector := actual.Spec.Replicas, actual.Spec.Selector
			actual.Spec = desired.Spec
			actual.Spec.Selector = selector
			if desired.Spec.Replicas == nil {
				// An autoscaler (or a person) owns the replica count when the workload sets none.
				actual.Spec.Replicas = replicas
			}
		},
		DeepCopy: (*appsv1.Deployment).DeepCopy,
	}
}

// deploymentOwned is the part of a Deployment the operator manages: the spec without the
// selector, which is immutable; an existing Deployment keeps its own (one created by the
// previous implementation selects on more labels).
func deploymentOwned(o *appsv1.Deployment) any { s := o.Spec; s.Selector = nil; return s }

func (ctl *Controller) serviceChild() controller.Child[*corev1.Service] {
	return controller.Child[*corev1.Service]{
		Kind:   "Service",
		Live:   controller.LiveMetadata(ctl.c.Clients.Metadata, corev1.SchemeGroupVersion.WithResource("services")),
		Get:    func(ns, n string) (*corev1.Service, error) { return ctl.services.Services(ns).Get(n) },
		Client: func(ns string) controller.Writer[*corev1.Service] { return ctl.c.Clients.Kube.CoreV1().Services(ns) },
		Spec:   func(o *corev1.Service) any { return serviceOwned{o.Spec.Ports, o.Spec.Selector} },
		SetSpec: func(desired, actual *corev1.Service) {
			actual.Spec.Ports, actual.Spec.Selector = desired.Spec.Ports, desired.Spec.Selector
		},
		DeepCopy: (*corev1.Service).DeepCopy,
	}
}

// serviceOwned is the part of a Service spec the operator manages; the cluster IPs and the
// other allocated fields belong to the API server.
type serviceOwned struct {
	Ports    []corev1.ServicePort `json:"ports"`
	Selector map[string]string    `json:"selector"`
}

func (ctl *Controller) jobChild() controller.Child[*batchv1.Job] {
	return controller.Child[*batchv1.Job]{
		Kind:   "Job",
		Live:   controller.LiveMetadata(ctl.c.Clients.Metadata, batchv1.SchemeGroupVersion.WithResource("jobs")),
		Get:    func(ns, n string) (*batchv1.Job, error) { return ctl.jobs.Jobs(ns).Get(n) },
		Client: func(ns string) controller.Writer[*batchv1.Job] { return ctl.c.Clients.Kube.BatchV1().Jobs(ns) },
		// A Job's pod template is immutable and the Job runs once: only its metadata is kept
		// in shape.
		Spec:     func(*batchv1.Job) any { return nil },
		SetSpec:  func(_, _ *batchv1.Job) {},
		DeepCopy: (*batchv1.Job).DeepCopy,
	}
}

func (ctl *Controller) pdbChild() controller.Child[*policyv1.PodDisruptionBudget] {
	return controller.Child[*policyv1.PodDisruptionBudget]{
		Kind: "PodDisruptionBudget",
		Live: controller.LiveMetadata(ctl.c.Clients.Metadata, policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets")),
		Get: func(ns, n string) (*policyv1.PodDisruptionBudget, error) {
			return ctl.pdbs.PodDisruptionBudgets(ns).Get(n)
		},
		Client: func(ns string) controller.Writer[*policyv1.PodDisruptionBudget] {
			return ctl.c.Clients.Kube.PolicyV1().PodDisruptionBudgets(ns)
		},
		Spec:     func(o *policyv1.PodDisruptionBudget) any { return o.Spec },
		SetSpec:  func(desired, actual *policyv1.PodDisruptionBudget) { actual.Spec = desired.Spec },
		DeepCopy: (*policyv1.PodDisruptionBudget).DeepCopy,
	}
}

func (ctl *Controller) hpaChild() controller.Child[*autoscalingv2.HorizontalPodAutoscaler] {
	return controller.Child[*autoscalingv2.HorizontalPodAutoscaler]{
		Kind: "HorizontalPodAutoscaler",
		Live: controller.LiveMetadata(ctl.c.Clients.Metadata, autoscalingv2.SchemeGroupVersion.WithResource("horizontalpodautoscalers")),
		Get: func(ns, n string) (*autoscalingv2.HorizontalPodAutoscaler, error) {
			return ctl.hpas.HorizontalPodAutoscalers(ns).Get(n)
		},
		Client: func(ns string) controller.Writer[*autoscalingv2.HorizontalPodAutoscaler] {
			return ctl.c.Clients.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns)
		},
		Spec:     func(o *autoscalingv2.HorizontalPodAutoscaler) any { return o.Spec },
		SetSpec:  func(desired, actual *autoscalingv2.HorizontalPodAutoscaler) { actual.Spec = desired.Spec },
		DeepCopy: (*autoscalingv2.HorizontalPodAutoscaler).DeepCopy,
	}
}

func (ctl *Controller) networkPolicyChild() controller.Child[*networkingv1.NetworkPolicy] {
	return controller.Child[*networkingv1.NetworkPolicy]{
		Kind: "NetworkPolicy",
		Live: controller.LiveMetadata(ctl.c.Clients.Metadata, networkingv1.SchemeGroupVersion.WithResource("networkpolicies")),
		Get:  func(ns, n string) (*networkingv1.NetworkPolicy, error) { return ctl.netpols.NetworkPolicies(ns).Get(n) },
		Client: func(ns string) controller.Writer[*networkingv1.NetworkPolicy] {
			return ctl.c.Clients.Kube.NetworkingV1().NetworkPolicies(ns)
		},
		Spec:     func(o *networkingv1.NetworkPolicy) any { return o.Spec },
		SetSpec:  func(desired, actual *networkingv1.NetworkPolicy) { actual.Spec = desired.Spec },
		DeepCopy: (*networkingv1.NetworkPolicy).DeepCopy,
	}
}

func (ctl *Controller) destinationRuleChild() controller.Child[*istiov1.DestinationRule] {
	return controller.Child[*istiov1.DestinationRule]{
		Kind: "DestinationRule",
		Live: controller.LiveMetadata(ctl.c.Clients.Metadata, istiov1.SchemeGroupVersion.WithResource("destinationrules")),
		Get:  func(ns, n string) (*istiov1.DestinationRule, error) { return ctl.destRules.DestinationRules(ns).Get(n) },
		Client: func(ns string) controller.Writer[*istiov1.DestinationRule] {
			return ctl.c.Clients.Istio.NetworkingV1().DestinationRules(ns)
		},
		Spec: func(o *istiov1.DestinationRule) any { return &o.Spec },
		SetSpec: func(desired, actual *istiov1.DestinationRule) {
			desired.Spec.DeepCopyInto(&actual.Spec)
		},
		DeepCopy: (*istiov1.DestinationRule).DeepCopy,
	}
}
