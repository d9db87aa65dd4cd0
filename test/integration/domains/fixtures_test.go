package domains

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/examples"
	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/domain"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// The shared ingress gateway of the published examples' ingressSelector.
const (
	ingressNamespace = "istio-system"
	ingressTarget    = "ingress.example.com"
	waitTimeout      = 60 * time.Second
)

// exampleSelector is the ingressSelector of every published example.
var exampleSelector = map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}

var ingressOnce sync.Once

// ensureIngressGateway creates, once per control plane, what the reconciler reads of an
// Istio ingress gateway: its pod, its LoadBalancer Service with the Gardener DNS annotation,
// and the EndpointSlice linking them. Without a scheduler the pod is never started; the
// reconciler only lists it.
func ensureIngressGateway(t *testing.T) {
	t.Helper()
	ingressOnce.Do(func() {
		createIngressGateway(t, ingressNamespace, "istio-ingressgateway", exampleSelector, ingressTarget)
	})
}

// createIngressGateway creates an ingress gateway pod, Service and EndpointSlice.
func createIngressGateway(t *testing.T, ns, name string, podLabels map[string]string, target string) {
	t.Helper()
	kube := testenv.Current().Clientset()
	ctx := context.Background()
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("namespace: %v", err)
	}
	// No controller-manager creates the default ServiceAccount, which pod admission requires.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}
	must(t, create(kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-0", Labels: podLabels},
		Spec: corev1.PodSpec{NodeName: "no-node", Containers: []corev1.Container{{Name: "istio-proxy", Image: "istio/proxyv2"}}}}
	must(t, create(kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})))
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{v1alpha1.AnnotationGardenerDNSNames: target}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: podLabels,
			Ports: []corev1.ServicePort{{Name: "https", Port: 443}}},
	}
	must(t, create(kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})))
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name + "-eps", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.10"},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name}}},
	}
	must(t, create(kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{})))
}

// create ignores AlreadyExists, since fixtures are shared by the tests of the package.
func create[T any](_ T, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// startControllers runs the Domain and ClusterDomain controllers with the given operator
// namespace and options, plus extra constructors.
func startControllers(t *testing.T, opts controller.Options, extra ...controllertest.Constructor) *controller.Context {
	t.Helper()
	ctors := append([]controllertest.Constructor{
		func(c *controller.Context) (controller.Runnable, error) { return domain.NewController(c) },
		func(c *controller.Context) (controller.Runnable, error) { return domain.NewClusterController(c) },
	}, extra...)
	return controllertest.Start(t, testenv.Current().Config, opts, ctors...)
}

// exampleDocs decodes the documents of a published example into typed objects.
func exampleDocs(t *testing.T, path string) []any {
	t.Helper()
	var out []any
	for _, doc := range examples.Documents(examples.MustRead(path)) {
		var head metav1.TypeMeta
		must(t, yaml.Unmarshal(doc, &head))
		var obj any
		switch head.Kind {
		case "Domain":
			obj = &v1alpha1.Domain{}
		case "ClusterDomain":
			obj = &v1alpha1.ClusterDomain{}
		case "CAPApplication":
			obj = &v1alpha1.CAPApplication{}
		case "CAPApplicationVersion":
			obj = &v1alpha1.CAPApplicationVersion{}
		default:
			t.Fatalf("%s: unexpected kind %s", path, head.Kind)
		}
		must(t, yaml.UnmarshalStrict(doc, obj))
		out = append(out, obj)
	}
	return out
}

// markChildrenReady plays cert-manager and the Gardener controllers: it marks every
// Certificate and DNSEntry the operator created Ready for its current generation, through
// the status subresource.
func markChildrenReady(cctx *controller.Context) error {
	return controllertest.MarkDomainChildrenReady(context.Background(), cctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelOwnerIdentifierHash})
}

// domainStatus reads the status of a Domain (namespace set) or ClusterDomain.
func domainStatus(cctx *controller.Context, ns, name string) (*v1alpha1.DomainStatus, error) {
	ctx := context.Background()
	if ns == "" {
		d, err := cctx.Clients.SME.SmeV1alpha1().ClusterDomains().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return &d.Status, nil
	}
	d, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return &d.Status, nil
}

// waitForState waits until a domain has the state and Ready reason, and its message
// contains every given substring. With approve set it marks the children Ready while
// waiting.
func waitForState(t *testing.T, cctx *controller.Context, ns, name string, state v1alpha1.DomainState, reason string, approve bool, message ...string) *v1alpha1.DomainStatus {
	t.Helper()
	var st *v1alpha1.DomainStatus
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		if approve {
			if err := markChildrenReady(cctx); err != nil {
				return false, err
			}
		}
		var err error
		if st, err = domainStatus(cctx, ns, name); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeReady)
		if st.State != state || c == nil || c.Reason != reason {
			return false, fmt.Errorf("%s/%s: state %q, Ready %+v", ns, name, st.State, c)
		}
		for _, m := range message {
			if !strings.Contains(c.Message, m) {
				return false, fmt.Errorf("%s/%s: message %q lacks %q", ns, name, c.Message, m)
			}
		}
		return true, nil
	})
	return st
}

// waitReady waits until a domain is Ready, marking its children Ready.
func waitReady(t *testing.T, cctx *controller.Context, ns, name string) *v1alpha1.DomainStatus {
	t.Helper()
	return waitForState(t, cctx, ns, name, v1alpha1.DomainStateReady, "Ready", true, "Domain resources are ready")
}

// cleanupDomains deletes, when the test ends but before its controllers stop, the
// applications of ns and the given domains, and waits until the controllers have released
// the domains. Domains would otherwise outlive the test (a plain control plane never
// finishes deleting a namespace) and collide with the next test's hosts.
func cleanupDomains(t *testing.T, cctx *controller.Context, ns string, clusterDomains ...string) {
	t.Cleanup(func() {
		ctx := context.Background()
		sme := cctx.Clients.SME.SmeV1alpha1()
		_ = sme.CAPApplications(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		_ = sme.Domains(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		for _, name := range clusterDomains {
			_ = sme.ClusterDomains().Delete(ctx, name, metav1.DeleteOptions{})
		}
		testenv.Eventually(t, waitTimeout, func() (bool, error) {
			left, err := sme.Domains(ns).List(ctx, metav1.ListOptions{})
			if err != nil || len(left.Items) > 0 {
				return false, err
			}
			for _, name := range clusterDomains {
				if _, err := sme.ClusterDomains().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					return false, fmt.Errorf("ClusterDomain %s still there: %v", name, err)
				}
			}
			return true, nil
		})
	})
}
