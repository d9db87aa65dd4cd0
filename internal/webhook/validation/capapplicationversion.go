package validation

import (
	"context"
	"fmt"

	"golang.org/x/mod/semver"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// validateCAPApplicationVersion validates CREATE (spec 4.1) and UPDATE (the spec is
// immutable). DELETE is always allowed: the controller's finalizer keeps a version in use.
func (v *Validator) validateCAPApplicationVersion(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	switch req.Operation {
	case admissionv1.Create:
		cav := &v1alpha1.CAPApplicationVersion{}
		if err := decode(req, cav, nil); err != nil {
			return admission.Result{}, err
		}
		return v.validateCAVCreate(ctx, cav)
	case admissionv1.Update:
		cav, old := &v1alpha1.CAPApplicationVersion{}, &v1alpha1.CAPApplicationVersion{}
		if err := decode(req, cav, old); err != nil {
			return admission.Result{}, err
		}
		return admission.Result{Errors: validateCAVSpecUnchanged(&old.Spec, &cav.Spec)}, nil
	}
	return admission.Result{}, nil
}

// validateCAVCreate runs every creation rule. The application is looked up first because
// several rules depend on it (servicesOnly, the declared services); when it is missing, the
// rules that do not need it still run so that all problems are reported together.
func (v *Validator) validateCAVCreate(ctx context.Context, cav *v1alpha1.CAPApplicationVersion) (admission.Result, error) {
	spec := field.NewPath("spec")
	var res admission.Result
	ca, err := v.application(ctx, cav.Namespace, cav.Spec.CAPApplicationInstance)
	if err != nil {
		return res, err
	}
	if cav.Spec.CAPApplicationInstance == "" {
		res.Errors = append(res.Errors, field.Required(spec.Child("capApplicationInstance"), "the name of the CAPApplication in the same namespace"))
	} else if ca == nil {
		res.Errors = append(res.Errors, admission.NotFound(spec.Child("capApplicationInstance"), cav.Spec.CAPApplicationInstance,
			fmt.Sprintf("no CAPApplication %q in namespace %q", cav.Spec.CAPApplicationInstance, cav.Namespace)))
	}
	if cav.Spec.Version == "" {
		res.Errors = append(res.Errors, field.Required(spec.Child("version"), "a semantic version"))
	}
	res.Errors = append(res.Errors, validateWorkloads(cav)...)
	if servicesOnly, known := isServicesOnly(ca, cav); known {
		res.Errors = append(res.Errors, validateWorkloadCounts(cav, servicesOnly)...)
	}
	res.Errors = append(res.Errors, validateContentJobs(cav)...)
	res.Errors = append(res.Errors, validateServiceExposures(cav)...)
	res.Errors = append(res.Errors, validateTenantOperations(cav)...)
	if ca != nil {
		res.Warnings = append(res.Warnings, undeclaredServices(ca, cav)...)
		dup, err := v.duplicateVersion(ctx, cav)
		if err != nil {
			return res, err
		}
		if dup != "" {
			res.Errors = append(res.Errors, &field.Error{Type: field.ErrorTypeDuplicate, Field: spec.Child("version").String(),
				BadValue: cav.Spec.Version, Detail: fmt.Sprintf("CAPApplicationVersion %s of CAPApplication %s already has this version", dup, ca.Name)})
		}
	}
	return res, nil
}

// duplicateVersion returns the name of another version of the same application whose version
// is semantically equal (spec 0.8: "1" and "1.0.0" are the same version, since versions are
// compared with semver), or "".
func (v *Validator) duplicateVersion(ctx context.Context, cav *v1alpha1.CAPApplicationVersion) (string, error) {
	if cav.Spec.Version == "" {
		return "", nil
	}
	list, err := v.client.SmeV1alpha1().CAPApplicationVersions(cav.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing CAPApplicationVersions in %s: %w", cav.Namespace, err)
	}
	for i := range list.Items {
		other := &list.Items[i]
		if other.Name == cav.Name || other.Spec.CAPApplicationInstance != cav.Spec.CAPApplicationInstance {
			continue
		}
		if sameVersion(other.Spec.Version, cav.Spec.Version) {
			return other.Name, nil
		}
	}
	return "", nil
}

// sameVersion compares two versions as the controller orders them (x/mod/semver on "v"+x),
// falling back to string equality for values that are not semantic versions.
func sameVersion(a, b string) bool {
	va, vb := "v"+a, "v"+b
	if semver.IsValid(va) && semver.IsValid(vb) {
		return semver.Compare(va, vb) == 0
	}
	return a == b
}

// isServicesOnly decides whether the application runs services only (spec 4.1): the value
// stored in the application's status once decided, else the controller's rule
// (workload.ServicesOnly). Without the application the answer is known only when the version
// itself has tenant-operation jobs (then it is certainly not services-only).
func isServicesOnly(ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) (servicesOnly, known bool) {
	hasTenantJobs := false
	for _, wl := range cav.Spec.Workloads {
		if wl.JobDefinition != nil && wl.JobDefinition.Type != v1alpha1.JobContent {
			hasTenantJobs = true
		}
	}
	if ca == nil {
		return false, hasTenantJobs
	}
	if ca.Status.ServicesOnly != nil {
		return *ca.Status.ServicesOnly, true
	}
	return workload.ServicesOnly(ca, cav), true
}

// undeclaredServices warns about consumed services the application does not declare in
// spec.btp.services. Their credentials cannot be injected into VCAP_SERVICES, but the
// published services-only example consumes such services and every published manifest must
// apply, so this is a warning (the controller reports it again as a condition), not a denial.
func undeclaredServices(ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) []string {
	declared := map[string]bool{}
	for _, svc := range ca.Spec.BTP.Services {
		declared[svc.Name] = true
	}
	var warnings []string
	workloads := field.NewPath("spec", "workloads")
	for i, wl := range cav.Spec.Workloads {
		for j, name := range wl.ConsumedBTPServices {
			if !declared[name] {
				warnings = append(warnings, fmt.Sprintf("%s: service %q is not declared in spec.btp.services of CAPApplication %s; its credentials cannot be injected",
					workloads.Index(i).Child("consumedBTPServices").Index(j), name, ca.Name))
			}
		}
	}
	return warnings
}

// validateCAVSpecUnchanged denies any change of the spec of an existing version, naming each
// changed top-level field. Semantic equality treats nil and empty lists alike, so a client
// that drops an empty list does not trip the rule.
func validateCAVSpecUnchanged(old, cur *v1alpha1.CAPApplicationVersionSpec) field.ErrorList {
	spec := field.NewPath("spec")
	fields := []struct {
		name     string
		old, cur any
	}{
		{"capApplicationInstance", old.CAPApplicationInstance, cur.CAPApplicationInstance},
		{"version", old.Version, cur.Version},
		{"registrySecrets", old.RegistrySecrets, cur.RegistrySecrets},
		{"workloads", old.Workloads, cur.Workloads},
		{"contentJobs", old.ContentJobs, cur.ContentJobs},
		{"tenantOperations", old.TenantOperations, cur.TenantOperations},
		{"serviceExposures", old.ServiceExposures, cur.ServiceExposures},
	}
	var errs field.ErrorList
	for _, f := range fields {
		if !equality.Semantic.DeepEqual(f.old, f.cur) {
			errs = append(errs, field.Forbidden(spec.Child(f.name), "the spec of a CAPApplicationVersion is immutable; create a new CAPApplicationVersion instead"))
		}
	}
	if len(errs) == 0 && !equality.Semantic.DeepEqual(old, cur) {
		// A field this list does not name changed (a newer schema); still immutable.
		errs = append(errs, field.Forbidden(spec, "the spec of a CAPApplicationVersion is immutable; create a new CAPApplicationVersion instead"))
	}
	return errs
}
