package mutation

import (
	"context"
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// secondaryGenerateName prefixes the ClusterDomains created for secondary domains, as the
// previous implementation named them.
const secondaryGenerateName = "cap-operator-domains-"

// defaultIngressSelector selects the Istio ingress gateway when the legacy domains give no
// istioIngressGatewayLabels: the Domain CRD requires a selector, and these are the labels of
// the standard Istio ingress gateway (the chart's default too).
var defaultIngressSelector = map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}

// migrateDomains replaces the deprecated spec.domains of a CAPApplication with domainRefs
// (spec 4.3). Each domain reuses a Domain of the namespace or a ClusterDomain with the same
// host, or else gets a new one: a Domain `<ca>-primary` (Wildcard DNS) for the primary, a
// ClusterDomain for each secondary (Subdomain DNS). Migration happens only when the stored
// object has no domainRefs yet; otherwise the validating webhook denies the domains.
func (m *Mutator) migrateDomains(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	ca := &v1alpha1.CAPApplication{}
	if err := admission.Decode(req.Object.Raw, ca); err != nil {
		return admission.Result{}, &admission.DecodeError{Err: fmt.Errorf("CAPApplication %s: %w", admission.ObjectName(req.Namespace, req.Name), err)}
	}
	d := ca.Spec.Domains
	if d == nil || (d.Primary == "" && len(d.Secondary) == 0) {
		return admission.Result{}, nil
	}
	res := admission.Result{Warnings: []string{"Spec.Domains is deprecated: use spec.domainRefs with Domain and ClusterDomain objects"}}
	if req.Operation == admissionv1.Update {
		old := &v1alpha1.CAPApplication{}
		if err := admission.Decode(req.OldObject.Raw, old); err != nil {
			return admission.Result{}, &admission.DecodeError{Err: fmt.Errorf("CAPApplication %s: old object: %w", admission.ObjectName(req.Namespace, req.Name), err)}
		}
		if len(old.Spec.DomainRefs) > 0 {
			return res, nil
		}
	}
	res.Warnings = append(res.Warnings, fmt.Sprintf("Automatically migrating spec.domains of CAPApplication %s to Domain/ClusterDomain objects referenced in spec.domainRefs",
		admission.ObjectName(ca.Namespace, ca.Name)))
	dryRun := req.DryRun != nil && *req.DryRun
	refs, errs, err := m.domainRefs(ctx, ca, dryRun)
	if err != nil || len(errs) > 0 {
		res.Errors = errs
		return res, err
	}
	return withDomainRefs(req, res, refs)
}

// domainRefs finds or creates the objects for the primary and each secondary domain. The
// primary is looked up with a Domain name of its own; secondaries share a generated name.
func (m *Mutator) domainRefs(ctx context.Context, ca *v1alpha1.CAPApplication, dryRun bool) ([]v1alpha1.DomainRef, field.ErrorList, error) {
	d := ca.Spec.Domains
	path := field.NewPath("spec", "domains")
	var refs []v1alpha1.DomainRef
	var errs field.ErrorList
	add := func(ref *v1alpha1.DomainRef) {
		for _, r := range refs {
			if r == *ref {
				return
			}
		}
		refs = append(refs, *ref)
	}
	if d.Primary != "" {
		ref, ferr, err := m.ensureDomain(ctx, ca, d.Primary, true, dryRun)
		if err != nil {
			return nil, nil, err
		}
		if ferr != nil {
			errs = append(errs, field.Invalid(path.Child("primary"), d.Primary, ferr.Error()))
		} else {
			add(ref)
		}
	}
	for i, host := range d.Secondary {
		ref, ferr, err := m.ensureDomain(ctx, ca, string(host), false, dryRun)
		if err != nil {
			return nil, nil, err
		}
		if ferr != nil {
			errs = append(errs, field.Invalid(path.Child("secondary").Index(i), string(host), ferr.Error()))
		} else {
			add(ref)
		}
	}
	return refs, errs, nil
}

// ensureDomain returns a reference to an object serving host: a Domain of the application's
// namespace, else a ClusterDomain, else a newly created one. A lookup failure is returned as
// err (transient); a failed creation (say, denied as a duplicate) as ferr, which denies the
// request with its reason.
func (m *Mutator) ensureDomain(ctx context.Context, ca *v1alpha1.CAPApplication, host string, primary, dryRun bool) (ref *v1alpha1.DomainRef, ferr, err error) {
	doms, err := m.client.SmeV1alpha1().Domains(ca.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing Domains in %s: %w", ca.Namespace, err)
	}
	for _, dom := range doms.Items {
		if dom.Spec.Domain == host {
			return &v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindDomain, Name: dom.Name}, nil, nil
		}
	}
	cdoms, err := m.client.SmeV1alpha1().ClusterDomains().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing ClusterDomains: %w", err)
	}
	for _, cdom := range cdoms.Items {
		if cdom.Spec.Domain == host {
			return &v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindClusterDomain, Name: cdom.Name}, nil, nil
		}
	}
	opts := metav1.CreateOptions{FieldManager: "capstan-web-hooks"}
	if dryRun {
		// sideEffects: NoneOnDryRun: a dry-run request must not create anything.
		opts.DryRun = []string{metav1.DryRunAll}
	}
	meta, spec := migratedObject(ca, host, primary)
	if primary {
		meta.Name = ca.Name + "-primary"
		created, err := m.client.SmeV1alpha1().Domains(ca.Namespace).Create(ctx, &v1alpha1.Domain{ObjectMeta: meta, Spec: spec}, opts)
		if err != nil {
			return nil, fmt.Errorf("creating Domain %s/%s: %w", ca.Namespace, meta.Name, err), nil
		}
		return &v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindDomain, Name: created.Name}, nil, nil
	}
	meta.GenerateName = secondaryGenerateName
	created, err := m.client.SmeV1alpha1().ClusterDomains().Create(ctx, &v1alpha1.ClusterDomain{ObjectMeta: meta, Spec: spec}, opts)
	if err != nil {
		return nil, fmt.Errorf("creating a ClusterDomain for %s: %w", host, err), nil
	}
	return &v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindClusterDomain, Name: created.Name}, nil, nil
}

// migratedObject returns the metadata and spec of a Domain or ClusterDomain created for a
// legacy domain. The legacy dnsTarget is dropped (spec 4.3): the controller finds the target
// from the ingress gateway's load balancer.
func migratedObject(ca *v1alpha1.CAPApplication, host string, primary bool) (metav1.ObjectMeta, v1alpha1.DomainSpec) {
	selector := map[string]string{}
	for _, l := range ca.Spec.Domains.IstioIngressGatewayLabels {
		selector[l.Name] = l.Value
	}
	if len(selector) == 0 {
		selector = defaultIngressSelector
	}
	mode := v1alpha1.DNSModeSubdomain
	if primary {
		mode = v1alpha1.DNSModeWildcard
	}
	meta := metav1.ObjectMeta{Annotations: map[string]string{
		v1alpha1.AnnotationMigratedToDomainRefs: ca.Namespace + "/" + ca.Name,
	}}
	return meta, v1alpha1.DomainSpec{Domain: host, IngressSelector: selector, TLSMode: v1alpha1.TLSModeSimple, DNSMode: mode}
}

// withDomainRefs adds the patch that sets domainRefs (replacing any given) and drops domains,
// and the patched object.
func withDomainRefs(req *admissionv1.AdmissionRequest, res admission.Result, refs []v1alpha1.DomainRef) (admission.Result, error) {
	obj, err := decodeMap(req)
	if err != nil {
		return res, err
	}
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return res, &admission.DecodeError{Err: fmt.Errorf("CAPApplication %s has no spec", admission.ObjectName(req.Namespace, req.Name))}
	}
	refsJSON := make([]any, 0, len(refs))
	for _, r := range refs {
		refsJSON = append(refsJSON, map[string]any{"kind": string(r.Kind), "name": r.Name})
	}
	spec["domainRefs"] = refsJSON
	delete(spec, "domains")
	res.Patch = append(res.Patch,
		admission.PatchOp{Op: "add", Path: "/spec/domainRefs", Value: refsJSON},
		admission.PatchOp{Op: "remove", Path: "/spec/domains"})
	if res.Object, err = json.Marshal(obj); err != nil {
		return res, fmt.Errorf("encoding the mutated object: %w", err)
	}
	return res, nil
}
