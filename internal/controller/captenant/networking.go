package captenant

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	istioapi "istio.io/api/networking/v1alpha3"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// vsGVR is the resource of Istio VirtualServices, read live to explain a name conflict.
var vsGVR = istionetworkingv1.SchemeGroupVersion.WithResource("virtualservices")

// Networking events, with action networkingAction.
const (
	networkingAction         = "ReconcileTenantNetworking"
	reasonNetworkingModified = "TenantNetworkingModified"
	reasonModificationFailed = "VirtualServiceModificationFailed"
)

// ensureVirtualService creates or updates the tenant's VirtualService through
// controller.EnsureChild: written when it is missing or drifted, so a tenant in sync costs no
// API call. An update (not
// the creation that comes with provisioning) records TenantNetworkingModified. A name held by
// a VirtualService the tenant does not control is a *controller.ChildConflictError.
func (ctl *Controller) ensureVirtualService(ctx context.Context, cat *v1alpha1.CAPTenant, ca *v1alpha1.CAPApplication, domains []domainref.DomainInfo, d tenant.Decision) error {
	if len(domains) == 0 {
		return nil
	}
	want, err := ctl.desiredVirtualService(cat, ca, domains, d)
	var routeErr *tenant.RouteError
	if errors.As(err, &routeErr) {
		ctl.c.Recorder.Eventf(cat, nil, corev1.EventTypeWarning, reasonModificationFailed, networkingAction, "%s", err.Error())
		return nil
	}
	if err != nil || want == nil {
		return err
	}
	_, op, err := controller.EnsureChild(ctx, ctl.virtualServiceChild(), want)
	if err != nil {
		var conflict *controller.ChildConflictError
		if _, requeue := controller.IsRequeue(err); !requeue && !errors.As(err, &conflict) {
			ctl.c.Recorder.Eventf(cat, nil, corev1.EventTypeWarning, reasonModificationFailed, networkingAction, "writing VirtualService: %v", err)
		}
		return err
	}
	if op == controller.OpUpdated {
		ctl.applicationEvent(ca, reasonNetworkingModified, networkingAction, fmt.Sprintf("tenants of CAPApplication %s/%s: VirtualService updated", ca.Namespace, ca.Name))
	}
	return nil
}

// virtualServiceChild describes the tenants' VirtualServices for controller.EnsureChild.
func (ctl *Controller) virtualServiceChild() controller.Child[*istionetworkingv1.VirtualService] {
	return controller.Child[*istionetworkingv1.VirtualService]{
		Kind: "VirtualService",
		Get: func(ns, n string) (*istionetworkingv1.VirtualService, error) {
			return ctl.vss.VirtualServices(ns).Get(n)
		},
		Live: controller.LiveMetadata(ctl.c.Clients.Metadata, vsGVR),
		Client: func(ns string) controller.Writer[*istionetworkingv1.VirtualService] {
			return ctl.c.Clients.Istio.NetworkingV1().VirtualServices(ns)
		},
		Spec:     func(o *istionetworkingv1.VirtualService) any { return &o.Spec },
		SetSpec:  func(desired, actual *istionetworkingv1.VirtualService) { desired.Spec.DeepCopyInto(&actual.Spec) },
		DeepCopy: (*istionetworkingv1.VirtualService).DeepCopy,
	}
}

// desiredVirtualService builds the tenant's VirtualService from its current version and,
// with version affinity, its earlier versions that still exist. It returns nil when the
// current version is not in the cache.
func (ctl *Controller) desiredVirtualService(cat *v1alpha1.CAPTenant, ca *v1alpha1.CAPApplication, domains []domainref.DomainInfo, d tenant.Decision) (*istionetworkingv1.VirtualService, error) {
	cav, err := ctl.cavs.CAPApplicationVersions(cat.Namespace).Get(d.Current)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	current, err := tenant.Router(cav)
	if err != nil {
		return nil, err
	}
	in := tenant.RouteInput{CA: ca, Current: current}
	if ca.Annotations[v1alpha1.AnnotationEnableVersionAffinity] == "true" {
		for _, name := range d.Previous {
			prev, err := ctl.cavs.CAPApplicationVersions(cat.Namespace).Get(name)
			if err != nil {
				continue // gone versions are skipped
			}
			if r, err := tenant.Router(prev); err == nil {
				in.Previous = append(in.Previous, r)
			}
		}
	}
	routes, err := tenant.Routes(in)
	if err != nil {
		return nil, err
	}
	return newVirtualService(cat, domains, routes), nil
}

// newVirtualService assembles the tenant's VirtualService: named like the tenant, owned by
// it, with hosts "<subDomain>.<domain>" on every domain and the domains' gateways.
func newVirtualService(cat *v1alpha1.CAPTenant, domains []domainref.DomainInfo, routes []*istioapi.HTTPRoute) *istionetworkingv1.VirtualService {
	vs := &istionetworkingv1.VirtualService{}
	vs.Spec.Hosts = domainref.Hosts(cat.Spec.SubDomain, domains)
	vs.Spec.Gateways = domainref.Gateways(domains)
	vs.Spec.Http = routes
	labels := map[string]string{
		v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(cat.Namespace, cat.Name),
		v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(cat.Generation, 10),
	}
	for _, key := range []string{v1alpha1.LabelTenantType, v1alpha1.LabelSubscriptionGUID} {
		if v := cat.Labels[key]; v != "" {
			labels[key] = v
		}
	}
	vs.ObjectMeta = metav1.ObjectMeta{
		Name: cat.Name, Namespace: cat.Namespace, Labels: labels,
		Annotations: map[string]string{
			v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(cat.Namespace, cat.Name),
			v1alpha1.AnnotationResourceHash:    controller.SpecHash(&vs.Spec),
		},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cat, v1alpha1.SchemeGroupVersion.WithKind(Kind))},
	}
	return vs
}
