package validation

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// validateCAPTenantOutput validates CREATE and UPDATE of a CAPTenantOutput (spec 4.1): it is
// linked to its tenant only by the btp-tenant-id label, so the label must name a tenant of the
// namespace, or the output would never reach a subscription callback.
func (v *Validator) validateCAPTenantOutput(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Result{}, nil
	}
	out := &v1alpha1.CAPTenantOutput{}
	if err := decode(req, out, nil); err != nil {
		return admission.Result{}, err
	}
	path := field.NewPath("metadata", "labels").Key(v1alpha1.LabelBTPTenantIdentifier)
	tenantID := out.Labels[v1alpha1.LabelBTPTenantIdentifier]
	if tenantID == "" {
		return admission.Result{Errors: field.ErrorList{field.Required(path, "the tenant id of the CAPTenant this output belongs to")}}, nil
	}
	cat, err := v.findTenant(ctx, out.Namespace, tenantID)
	if err != nil || cat != nil {
		return admission.Result{}, err
	}
	return admission.Result{Errors: field.ErrorList{admission.NotFound(path, tenantID,
		fmt.Sprintf("no CAPTenant with this tenant id in namespace %q", out.Namespace))}}, nil
}
