package validation

import (
	"context"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// domainsDeprecated is the reason given for every denial about spec.domains.
const domainsDeprecated = "domains are deprecated. Use domainRefs instead"

// validateCAPApplication validates CREATE and UPDATE of a CAPApplication (spec 4.1). Domains
// with hosts are admitted on creation: the mutating webhook has no side effects, so the
// CAPApplication controller creates the objects for hosts no Domain or ClusterDomain serves
// yet and replaces spec.domains with domainRefs. Domains without hosts cannot be migrated and
// are denied.
func (v *Validator) validateCAPApplication(_ context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	spec := field.NewPath("spec")
	switch req.Operation {
	case admissionv1.Create:
		ca := &v1alpha1.CAPApplication{}
		if err := decode(req, ca, nil); err != nil {
			return admission.Result{}, err
		}
		if hasDomains(ca.Spec.Domains) && len(domainref.LegacyDomains(ca)) == 0 {
			return admission.Result{Errors: field.ErrorList{field.Forbidden(spec.Child("domains"), domainsDeprecated)}}, nil
		}
		return admission.Result{Errors: validateRollout(ca)}, nil
	case admissionv1.Update:
		ca, old := &v1alpha1.CAPApplication{}, &v1alpha1.CAPApplication{}
		if err := decode(req, ca, old); err != nil {
			return admission.Result{}, err
		}
		return admission.Result{Errors: append(validateCAUpdate(old, ca), validateRollout(ca)...)}, nil
	}
	return admission.Result{}, nil
}

// validateCAUpdate denies adding or changing the provider (a provider tenant is created from
// it once; removing it is allowed and stops the automatic provider tenant) and adding domains
// to an application that already uses domainRefs.
func validateCAUpdate(old, ca *v1alpha1.CAPApplication) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if ca.Spec.Provider != nil && !equality.Semantic.DeepEqual(old.Spec.Provider, ca.Spec.Provider) {
		if old.Spec.Provider == nil {
			errs = append(errs, field.Forbidden(spec.Child("provider"), "a provider cannot be added to an existing CAPApplication"))
		} else {
			errs = append(errs, field.Forbidden(spec.Child("provider"), "the provider cannot be changed (it may be removed)"))
		}
	}
	if hasDomains(ca.Spec.Domains) && len(old.Spec.DomainRefs) > 0 && !hasDomains(old.Spec.Domains) {
		errs = append(errs, field.Forbidden(spec.Child("domains"), domainsDeprecated+" (this CAPApplication already has domainRefs)"))
	}
	return errs
}

// hasDomains reports whether the deprecated domains section carries anything.
func hasDomains(d *v1alpha1.ApplicationDomains) bool {
	return d != nil && (d.Primary != "" || len(d.Secondary) > 0 || d.DnsTarget != "" || len(d.IstioIngressGatewayLabels) > 0)
}
