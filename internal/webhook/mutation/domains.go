package mutation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// migrateDomains handles the deprecated spec.domains of a CAPApplication (spec 4.3) without
// side effects: callers of the webhook are not authenticated, so a review must not make it
// create objects. When an existing Domain of the namespace or ClusterDomain serves every
// host, the domains are replaced with domainRefs to them at once. Otherwise the domains stay,
// and the CAPApplication controller creates the missing objects and rewrites the
// application. Migration happens only when the stored object has no domainRefs yet;
// otherwise the validating webhook denies the domains.
func (m *Mutator) migrateDomains(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	ca := &v1alpha1.CAPApplication{}
	if err := admission.Decode(req.Object.Raw, ca); err != nil {
		return admission.Result{}, &admission.DecodeError{Err: fmt.Errorf("CAPApplication %s: %w", admission.ObjectName(req.Namespace, req.Name), err)}
	}
	hosts := domainref.LegacyDomains(ca)
	if len(hosts) == 0 {
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
	name := admission.ObjectName(ca.Namespace, ca.Name)
	refs, err := m.existingRefs(ctx, ca.Namespace, hosts)
	if err != nil {
		return res, err
	}
	if refs == nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("Automatically migrating spec.domains of CAPApplication %s: "+
			"the controller creates the missing Domain and ClusterDomain objects and replaces spec.domains with spec.domainRefs", name))
		return res, nil
	}
	res.Warnings = append(res.Warnings, fmt.Sprintf("Automatically migrating spec.domains of CAPApplication %s to Domain/ClusterDomain objects referenced in spec.domainRefs", name))
	return withDomainRefs(req, res, refs)
}

// existingRefs returns references to the existing objects serving the hosts, or nil when
// some host has none. It only reads.
func (m *Mutator) existingRefs(ctx context.Context, namespace string, hosts []domainref.LegacyDomain) ([]v1alpha1.DomainRef, error) {
	doms, err := m.client.SmeV1alpha1().Domains(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Domains in %s: %w", namespace, err)
	}
	cdoms, err := m.client.SmeV1alpha1().ClusterDomains().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing ClusterDomains: %w", err)
	}
	domains := make([]*v1alpha1.Domain, len(doms.Items))
	for i := range doms.Items {
		domains[i] = &doms.Items[i]
	}
	clusterDomains := make([]*v1alpha1.ClusterDomain, len(cdoms.Items))
	for i := range cdoms.Items {
		clusterDomains[i] = &cdoms.Items[i]
	}
	refs := make([]v1alpha1.DomainRef, 0, len(hosts))
	for _, h := range hosts {
		ref := domainref.MatchLegacy(h.Host, domains, clusterDomains)
		if ref == nil {
			return nil, nil
		}
		if !slices.Contains(refs, *ref) {
			refs = append(refs, *ref)
		}
	}
	return refs, nil
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
