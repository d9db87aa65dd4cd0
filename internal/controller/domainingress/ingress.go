// Package domainingress finds the Istio ingress gateway a Domain or ClusterDomain selects: the
// namespace of its pods, where the TLS Secret must live, and the DNS target its DNS entries
// point at.
package domainingress

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"

	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Info is what a domain sync needs to know about the ingress gateway.
type Info struct {
	// Namespace of the ingress gateway pods.
	Namespace string
	// DNSTarget is the host DNS entries point at, with "*" replaced by "x" (a wildcard is not
	// a valid target).
	DNSTarget string
}

// Error is a problem with the ingress gateway a domain selects (the domain reports it as
// MissingIngressGatewayInfo). Permanent marks one only a change of the domain's spec fixes.
type Error struct {
	Permanent bool
	Err       error
}

// Error implements error.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Discover finds the ingress gateway pods of a domain and its DNS target. It reads
// pods, Services and EndpointSlices directly: the operator does not watch them, and a domain
// sync reads only the few objects of one gateway.
func Discover(ctx context.Context, kube kubernetes.Interface, spec *v1alpha1.DomainSpec, defaultTarget, dnsManager string) (Info, error) {
	if len(spec.IngressSelector) == 0 {
		return Info{}, &Error{Permanent: true,
			Err: fmt.Errorf("ingressSelector is empty; it must select the Istio ingress gateway pods")}
	}
	selector := labels.SelectorFromSet(spec.IngressSelector)
	pods, err := kube.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return Info{}, fmt.Errorf("listing ingress gateway pods: %w", err)
	}
	namespaces := sets.New[string]()
	podNames := sets.New[string]()
	for _, p := range pods.Items {
		namespaces.Insert(p.Namespace)
		podNames.Insert(p.Name)
	}
	// One Gateway selects pods of one namespace only: its credential Secret must live there.
	if namespaces.Len() != 1 {
		return Info{}, &Error{Err: fmt.Errorf(
			"ingress gateway pods matching %s must be in exactly one namespace, found %d %v",
			selector, namespaces.Len(), sets.List(namespaces))}
	}
	info := Info{Namespace: sets.List(namespaces)[0]}
	target := spec.DNSTarget
	if target == "" {
		target = strings.ToLower(defaultTarget)
	}
	if target == "" {
		if target, err = loadBalancerTarget(ctx, kube, info.Namespace, podNames, dnsManager); err != nil {
			return Info{}, err
		}
	}
	info.DNSTarget = strings.ReplaceAll(target, "*", "x")
	return info, nil
}

// loadBalancerTarget reads the DNS target from the annotation of the LoadBalancer Service
// whose endpoints are the ingress gateway pods.
func loadBalancerTarget(ctx context.Context, kube kubernetes.Interface, namespace string, pods sets.Set[string], dnsManager string) (string, error) {
	annotation := v1alpha1.AnnotationExternalDNSHost
	if dnsManager == domainrender.DNSManagerGardener {
		annotation = v1alpha1.AnnotationGardenerDNSNames
	}
	services, err := kube.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing services of the ingress gateway: %w", err)
	}
	sort.Slice(services.Items, func(i, j int) bool { return services.Items[i].Name < services.Items[j].Name })
	for _, svc := range services.Items {
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		value, _, _ := strings.Cut(svc.Annotations[annotation], ",")
		if value = strings.TrimSpace(value); value == "" {
			continue
		}
		selects, err := selectsPods(ctx, kube, &svc, pods)
		if err != nil {
			return "", err
		}
		if selects {
			return strings.ToLower(value), nil
		}
	}
	return "", &Error{Err: fmt.Errorf(
		"no DNS target: set spec.dnsTarget or DNS_TARGET, or annotate the ingress gateway's LoadBalancer Service in %s with %s",
		namespace, annotation)}
}

// selectsPods reports whether one of the Service's EndpointSlices points at one of pods.
func selectsPods(ctx context.Context, kube kubernetes.Interface, svc *corev1.Service, pods sets.Set[string]) (bool, error) {
	slices, err := kube.DiscoveryV1().EndpointSlices(svc.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name}).String(),
	})
	if err != nil {
		return false, fmt.Errorf("listing endpoint slices of service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" && pods.Has(ep.TargetRef.Name) {
				return true, nil
			}
		}
	}
	return false, nil
}
