package serviceexposure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	istiolisters "istio.io/client-go/pkg/listers/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Events recorded on the CAPApplicationVersion, with action EventAction.
const (
	// EventAction is the action of the service networking events.
	EventAction = "ReconcileServiceNetworking"
	// ReasonModified: VirtualServices were created, updated or deleted.
	ReasonModified = "ServiceNetworkingModified"
	// ReasonModificationFailed: the VirtualServices could not be built or written.
	ReasonModificationFailed = "ServiceVirtualServiceModificationFailed"
)

// Reconciler creates, updates and deletes the exposure VirtualServices of applications.
type Reconciler struct {
	istio    istioclient.Interface
	lister   istiolisters.VirtualServiceLister
	recorder events.EventRecorder
	metrics  *controller.Metrics
	// Synced reports whether the VirtualService cache has synced; the calling controller
	// adds it to the informers its worker waits for.
	Synced cache.InformerSynced
}

// NewReconciler requests the VirtualService informer from the context's Istio factory. Call
// it from a controller constructor, before the factories start, so the informer runs.
func NewReconciler(c *controller.Context) *Reconciler {
	informer := c.IstioInformers.Networking().V1().VirtualServices()
	return &Reconciler{
		istio:    c.Clients.Istio,
		lister:   informer.Lister(),
		recorder: c.Recorder,
		metrics:  c.Metrics,
		Synced:   informer.Informer().HasSynced,
	}
}

// Reconcile makes the application's exposure VirtualServices match the service exposures of
// cav (the latest Ready version) on the given domains (see domainref.Resolve): one per
// subDomain, updated when its content hash changes; VirtualServices of subdomains no longer
// exposed are deleted. It records ServiceNetworkingModified when it changed something and
// ServiceVirtualServiceModificationFailed on errors, on cav. A *SpecError means the specs
// must change; other errors are transient.
func (r *Reconciler) Reconcile(ctx context.Context, ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion, domains []domainref.DomainInfo) error {
	app := identity.AppHash(identity.AppAccount(ca.Spec.ProviderSubaccountId, ca.Spec.GlobalAccountId), ca.Spec.BTPAppName)
	changes, err := r.reconcile(ctx, ca, cav, domains)
	if err != nil {
		r.count(app, cav, true)
		r.recorder.Eventf(cav, nil, "Warning", ReasonModificationFailed, EventAction, "service exposure: %v", err)
		return err
	}
	if len(changes) > 0 {
		r.count(app, cav, false)
		r.recorder.Eventf(cav, nil, "Normal", ReasonModified, EventAction, "service exposure VirtualServices: %s", strings.Join(changes, ", "))
	}
	return nil
}

// count increments the service operation metrics.
func (r *Reconciler) count(app string, cav *v1alpha1.CAPApplicationVersion, failed bool) {
	if r.metrics == nil {
		return
	}
	r.metrics.ServiceOperations.WithLabelValues(app).Inc()
	if failed && r.metrics.Detailed {
		r.metrics.ServiceOperationFailures.WithLabelValues(app, cav.Spec.Version, cav.Namespace, cav.Name).Inc()
	}
}

// reconcile does the work of Reconcile and lists what it changed.
func (r *Reconciler) reconcile(ctx context.Context, ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion, domains []domainref.DomainInfo) ([]string, error) {
	desired, err := BuildVirtualServices(ca, cav, domains)
	if err != nil {
		return nil, err
	}
	selector := labels.SelectorFromSet(labels.Set{v1alpha1.LabelOwnerIdentifierHash: OwnerHash(ca)})
	existing, err := r.lister.VirtualServices(ca.Namespace).List(selector)
	if err != nil {
		return nil, err
	}
	current, stale := match(existing)
	var changes []string
	for _, want := range desired {
		sub := subDomainOf(want)
		change, err := r.ensure(ctx, want, current[sub], selector)
		if err != nil {
			return changes, err
		}
		if change != "" {
			changes = append(changes, change)
		}
		delete(current, sub)
	}
	// Whatever is left matches no exposure of the latest Ready version.
	for _, vs := range current {
		stale = append(stale, vs)
	}
	for _, vs := range stale {
		err := r.istio.NetworkingV1().VirtualServices(vs.Namespace).Delete(ctx, vs.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return changes, fmt.Errorf("deleting virtual service %s/%s: %w", vs.Namespace, vs.Name, err)
		}
		changes = append(changes, "deleted "+vs.Name)
	}
	return changes, nil
}

// match indexes the existing VirtualServices by subdomain, the first label of their first
// host. The oldest (then first by name) VirtualService of a subdomain is kept; further ones,
// and those without hosts, are stale. The order is fixed because the lister's is not.
func match(existing []*istionetworkingv1.VirtualService) (map[string]*istionetworkingv1.VirtualService, []*istionetworkingv1.VirtualService) {
	existing = slices.Clone(existing)
	sort.SliceStable(existing, func(i, j int) bool {
		ti, tj := existing[i].CreationTimestamp, existing[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return existing[i].Name < existing[j].Name
	})
	current := map[string]*istionetworkingv1.VirtualService{}
	var stale []*istionetworkingv1.VirtualService
	for _, vs := range existing {
		sub := subDomainOf(vs)
		if _, taken := current[sub]; taken || sub == "" {
			stale = append(stale, vs)
			continue
		}
		current[sub] = vs
	}
	return current, stale
}

// subDomainOf returns the first label of a VirtualService's first host.
func subDomainOf(vs *istionetworkingv1.VirtualService) string {
	if len(vs.Spec.Hosts) == 0 {
		return ""
	}
	sub, _, _ := strings.Cut(vs.Spec.Hosts[0], ".")
	return sub
}

// ensure creates or updates one VirtualService and says what it did ("" for nothing).
func (r *Reconciler) ensure(ctx context.Context, want, current *istionetworkingv1.VirtualService, selector labels.Selector) (string, error) {
	client := r.istio.NetworkingV1().VirtualServices(want.Namespace)
	sub := subDomainOf(want)
	if current == nil {
		// The cache may lag behind a VirtualService created by the previous call; ask the
		// API server before creating another with a generated name.
		live, err := client.List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return "", fmt.Errorf("listing virtual services: %w", err)
		}
		for _, vs := range live.Items {
			if subDomainOf(vs) == sub {
				current = vs
				break
			}
		}
	}
	child := r.child()
	if current == nil {
		created, _, err := controller.CreateChild(ctx, child, want)
		if err != nil {
			return "", fmt.Errorf("creating virtual service for %q: %w", sub, err)
		}
		return "created " + created.Name, nil
	}
	_, op, err := controller.UpdateChild(ctx, child, want, current)
	if err != nil {
		return "", fmt.Errorf("updating virtual service %s/%s: %w", current.Namespace, current.Name, err)
	}
	if op == controller.OpNone {
		return "", nil
	}
	return "updated " + current.Name, nil
}

// child describes the exposure VirtualServices for controller.CreateChild and UpdateChild.
// Their names are generated, so ensure finds the existing one by subdomain itself.
func (r *Reconciler) child() controller.Child[*istionetworkingv1.VirtualService] {
	return controller.Child[*istionetworkingv1.VirtualService]{
		Kind: "VirtualService",
		Client: func(ns string) controller.Writer[*istionetworkingv1.VirtualService] {
			return r.istio.NetworkingV1().VirtualServices(ns)
		},
		Spec:     func(o *istionetworkingv1.VirtualService) any { return &o.Spec },
		SetSpec:  func(desired, actual *istionetworkingv1.VirtualService) { desired.Spec.DeepCopyInto(&actual.Spec) },
		DeepCopy: (*istionetworkingv1.VirtualService).DeepCopy,
	}
}

// IsSpecError reports whether err means the specs must change before a retry can succeed.
func IsSpecError(err error) bool {
	var se *SpecError
	return errors.As(err, &se)
}
