package validation

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// validateCAPTenantOperation validates a CAPTenantOperation, which the previous
// implementation did not check at all (spec 0.8). The operator creates these objects itself;
// the rules make a hand-applied one safe: it must belong to an existing tenant, run steps
// that exist in an existing version of that tenant's application, and never change once
// created, because the controller tracks its progress by step index.
func (v *Validator) validateCAPTenantOperation(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	switch req.Operation {
	case admissionv1.Create:
		ctop := &v1alpha1.CAPTenantOperation{}
		if err := decode(req, ctop, nil); err != nil {
			return admission.Result{}, err
		}
		return v.validateCTOPCreate(ctx, ctop)
	case admissionv1.Update:
		ctop, old := &v1alpha1.CAPTenantOperation{}, &v1alpha1.CAPTenantOperation{}
		if err := decode(req, ctop, old); err != nil {
			return admission.Result{}, err
		}
		if !equality.Semantic.DeepEqual(old.Spec, ctop.Spec) {
			return admission.Result{Errors: field.ErrorList{field.Forbidden(field.NewPath("spec"),
				"the spec of a CAPTenantOperation is immutable; the operator starts a new operation instead")}}, nil
		}
	}
	return admission.Result{}, nil
}

// validateCTOPCreate checks the tenant, the version and the steps of a new operation.
func (v *Validator) validateCTOPCreate(ctx context.Context, ctop *v1alpha1.CAPTenantOperation) (admission.Result, error) {
	spec := field.NewPath("spec")
	var res admission.Result
	cat, errs, err := v.operationTenant(ctx, ctop)
	if err != nil {
		return res, err
	}
	res.Errors = append(res.Errors, errs...)
	cav, err := v.version(ctx, ctop.Namespace, ctop.Spec.CAPApplicationVersionInstance)
	if err != nil {
		return res, err
	}
	cavPath := spec.Child("capApplicationVersionInstance")
	switch {
	case cav == nil:
		res.Errors = append(res.Errors, admission.NotFound(cavPath, ctop.Spec.CAPApplicationVersionInstance,
			fmt.Sprintf("no CAPApplicationVersion %q in namespace %q", ctop.Spec.CAPApplicationVersionInstance, ctop.Namespace)))
	case cat != nil && cav.Spec.CAPApplicationInstance != cat.Spec.CAPApplicationInstance:
		res.Errors = append(res.Errors, field.Invalid(cavPath, cav.Name, fmt.Sprintf("belongs to CAPApplication %q, the tenant %s to %q",
			cav.Spec.CAPApplicationInstance, cat.Name, cat.Spec.CAPApplicationInstance)))
	}
	stepErrs, warnings := validateSteps(ctop.Spec.Steps, cav)
	res.Errors = append(res.Errors, stepErrs...)
	res.Warnings = append(res.Warnings, warnings...)
	return res, nil
}

// operationTenant finds the operation's tenant: its owner when an owner reference names one
// (spec 0.10: by owner, not by first match), else the tenant with the same tenant id.
func (v *Validator) operationTenant(ctx context.Context, ctop *v1alpha1.CAPTenantOperation) (*v1alpha1.CAPTenant, field.ErrorList, error) {
	for i, ref := range ctop.OwnerReferences {
		if ref.Kind != admission.KindCAPTenant {
			continue
		}
		path := field.NewPath("metadata", "ownerReferences").Index(i).Child("name")
		cat, err := v.client.SmeV1alpha1().CAPTenants(ctop.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, field.ErrorList{admission.NotFound(path, ref.Name, fmt.Sprintf("no CAPTenant %q in namespace %q", ref.Name, ctop.Namespace))}, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading CAPTenant %s/%s: %w", ctop.Namespace, ref.Name, err)
		}
		if cat.Spec.TenantId != ctop.Spec.TenantId {
			return cat, field.ErrorList{field.Invalid(field.NewPath("spec", "tenantId"), ctop.Spec.TenantId,
				fmt.Sprintf("the owning CAPTenant %s has tenant id %q", cat.Name, cat.Spec.TenantId))}, nil
		}
		return cat, nil, nil
	}
	cat, err := v.findTenant(ctx, ctop.Namespace, ctop.Spec.TenantId)
	if err != nil || cat != nil {
		return cat, nil, err
	}
	return nil, field.ErrorList{admission.NotFound(field.NewPath("spec", "tenantId"), ctop.Spec.TenantId,
		fmt.Sprintf("no CAPTenant with this tenant id in namespace %q", ctop.Namespace))}, nil
}

// validateSteps checks that the operation has a TenantOperation step and, when the version is
// known, that each step names a job of the step's type in it. A TenantOperation step may name
// the CAP workload when the version has no TenantOperation job (spec 0.14: it stands in).
func validateSteps(steps []v1alpha1.CAPTenantOperationStep, cav *v1alpha1.CAPApplicationVersion) (field.ErrorList, []string) {
	path := field.NewPath("spec", "steps")
	var errs field.ErrorList
	var warnings []string
	hasTenantOp := false
	for i, step := range steps {
		if step.Type == v1alpha1.StepTenantOperation {
			hasTenantOp = true
			if step.ContinueOnFailure {
				warnings = append(warnings, fmt.Sprintf("%s: ignored for a TenantOperation step, which must succeed", path.Index(i).Child("continueOnFailure")))
			}
		}
		if cav != nil && !stepWorkloadExists(step, cav) {
			errs = append(errs, field.Invalid(path.Index(i).Child("name"), step.Name,
				fmt.Sprintf("no workload of type %s with this name in CAPApplicationVersion %s", step.Type, cav.Name)))
		}
	}
	if !hasTenantOp {
		errs = append(errs, field.Required(path, "at least one step of type TenantOperation"))
	}
	return errs, warnings
}

// stepWorkloadExists reports whether the version has a workload that can run step.
func stepWorkloadExists(step v1alpha1.CAPTenantOperationStep, cav *v1alpha1.CAPApplicationVersion) bool {
	tenantJobs := typedNames(cav, string(v1alpha1.JobTenantOperation))
	for _, wl := range cav.Spec.Workloads {
		if wl.Name != step.Name {
			continue
		}
		if workloadType(&wl) == string(step.Type) {
			return true
		}
		standIn := step.Type == v1alpha1.StepTenantOperation && len(tenantJobs) == 0 &&
			wl.DeploymentDefinition != nil && wl.DeploymentDefinition.Type == v1alpha1.DeploymentCAP
		if standIn {
			return true
		}
	}
	return false
}
