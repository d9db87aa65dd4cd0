package validation

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/internal/dnstemplate"
	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// domainIdentity identifies a Domain or ClusterDomain: kind, namespace and name. Spec 0.8:
// the previous implementation compared names only, so a Domain and a ClusterDomain of the
// same name (or Domains of one name in two namespaces) could claim the same host.
type domainIdentity struct {
	kind, namespace, name string
}

// String renders the identity for messages, e.g. "Domain ns/name".
func (d domainIdentity) String() string {
	return d.kind + " " + admission.ObjectName(d.namespace, d.name)
}

// validateDomain validates CREATE and UPDATE of a Domain.
func (v *Validator) validateDomain(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Result{}, nil
	}
	dom := &v1alpha1.Domain{}
	if err := decode(req, dom, nil); err != nil {
		return admission.Result{}, err
	}
	return v.validateDomainSpec(ctx, domainIdentity{admission.KindDomain, dom.Namespace, dom.Name}, &dom.Spec)
}

// validateClusterDomain validates CREATE and UPDATE of a ClusterDomain.
func (v *Validator) validateClusterDomain(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Result{}, nil
	}
	cdom := &v1alpha1.ClusterDomain{}
	if err := decode(req, cdom, nil); err != nil {
		return admission.Result{}, err
	}
	return v.validateDomainSpec(ctx, domainIdentity{admission.KindClusterDomain, "", cdom.Name}, &cdom.Spec)
}

// validateDomainSpec checks the spec of a Domain or ClusterDomain: a host of its own and DNS
// templates the controller can render.
func (v *Validator) validateDomainSpec(ctx context.Context, self domainIdentity, spec *v1alpha1.DomainSpec) (admission.Result, error) {
	res, err := v.validateUniqueDomain(ctx, self, spec.Domain)
	if err != nil {
		return res, err
	}
	res.Errors = append(res.Errors, validateDNSTemplates(spec.DNSTemplates)...)
	return res, nil
}

// validateDNSTemplates parses every DNS template as the controller does, so a template that
// does not parse, or calls a function DNS templates may not use (env, expandenv,
// getHostByName), is denied with its field path instead of putting the domain in Error.
func validateDNSTemplates(templates []v1alpha1.DNSTemplate) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("spec", "dnsTemplates")
	for i, t := range templates {
		for _, f := range []struct{ name, text string }{{"name", t.Name}, {"target", t.Target}} {
			if _, err := dnstemplate.Parse(fmt.Sprintf("dnsTemplates[%d].%s", i, f.name), f.text); err != nil {
				errs = append(errs, field.Invalid(path.Index(i).Child(f.name), f.text, err.Error()))
			}
		}
	}
	return errs
}

// validateUniqueDomain denies a host that another Domain (in any namespace) or ClusterDomain
// already serves: two Gateways and Certificates for one host would fight over it.
func (v *Validator) validateUniqueDomain(ctx context.Context, self domainIdentity, host string) (admission.Result, error) {
	others, err := v.domainsWithHost(ctx, host)
	if err != nil {
		return admission.Result{}, err
	}
	var errs field.ErrorList
	for _, other := range others {
		if other != self {
			errs = append(errs, &field.Error{Type: field.ErrorTypeDuplicate, Field: "spec.domain", BadValue: host,
				Detail: fmt.Sprintf("already used by %s", other)})
		}
	}
	return admission.Result{Errors: errs}, nil
}

// domainsWithHost lists every Domain and ClusterDomain whose spec.domain is host.
func (v *Validator) domainsWithHost(ctx context.Context, host string) ([]domainIdentity, error) {
	doms, err := v.client.SmeV1alpha1().Domains(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Domains: %w", err)
	}
	cdoms, err := v.client.SmeV1alpha1().ClusterDomains().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing ClusterDomains: %w", err)
	}
	var out []domainIdentity
	for _, d := range doms.Items {
		if d.Spec.Domain == host {
			out = append(out, domainIdentity{admission.KindDomain, d.Namespace, d.Name})
		}
	}
	for _, d := range cdoms.Items {
		if d.Spec.Domain == host {
			out = append(out, domainIdentity{admission.KindClusterDomain, "", d.Name})
		}
	}
	return out, nil
}
