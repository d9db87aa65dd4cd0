package captenant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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

// ensureVirtualService creates or updates the tenant's VirtualService: written when it is
// missing or its content hash differs, so a tenant in sync costs no API call. An update (not
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
	client := ctl.c.Clients.Istio.NetworkingV1().VirtualServices(cat.Namespace)
	existing, err := ctl.vss.VirtualServices(cat.Namespace).Get(cat.Name)
	if apierrors.IsNotFound(err) {
		_, err = client.Create(ctx, want, metav1.CreateOptions{FieldManager: controller.FieldManager})
		if apierrors.IsAlreadyExists(err) {
			// The cache is behind, or an unlabelled VirtualService it cannot see holds the name.
			return controller.CreateConflict(ctx, "VirtualService", want, controller.LiveMetadata(ctl.c.Clients.Metadata, vsGVR))
		}
		return err
	}
	if err != nil {
		return err
	}
	if err := controller.CheckController("VirtualService", want, existing, false); err != nil {
		return err
	}
	if existing.Annotations[v1alpha1.AnnotationResourceHash] == want.Annotations[v1alpha1.AnnotationResourceHash] &&
		controller.ContainsAll(existing.Labels, withoutGeneration(want.Labels)) {
		return nil
	}
	updated := existing.DeepCopy()
	updated.Labels = controller.MergeMaps(existing.Labels, want.Labels)
	updated.Annotations = controller.MergeMaps(existing.Annotations, want.Annotations)
	updated.Spec = *want.Spec.DeepCopy()
	if _, err := client.Update(ctx, updated, metav1.UpdateOptions{FieldManager: controller.FieldManager}); err != nil {
		ctl.c.Recorder.Eventf(cat, nil, corev1.EventTypeWarning, reasonModificationFailed, networkingAction, "updating VirtualService: %v", err)
		return err
	}
	ctl.applicationEvent(ca, reasonNetworkingModified, networkingAction, fmt.Sprintf("tenants of CAPApplication %s/%s: VirtualService updated", ca.Namespace, ca.Name))
	return nil
}

// withoutGeneration returns labels without the owner-generation label. The tenant's
// generation changes with every spec change (an upgrade's new version), which alone does not
// change the VirtualService: the label is brought up to date with the next content change
// instead of costing a write of its own.
func withoutGeneration(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	delete(out, v1alpha1.LabelOwnerGeneration)
	return out
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
			v1alpha1.AnnotationResourceHash:    specHash(&vs.Spec),
		},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cat, v1alpha1.SchemeGroupVersion.WithKind(Kind))},
	}
	return vs
}

// specHash is the SHA-256 of a spec's compact JSON, the resource-hash annotation that gates
// updates.
func specHash(spec *istioapi.VirtualService) string {
	raw, err := json.Marshal(spec)
	if err != nil {
		panic(err) // the builder only produces marshalable specs
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, raw)
	return identity.SHA256(buf.String())
}
