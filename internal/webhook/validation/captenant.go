package validation

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// validateCAPTenant validates a CAPTenant (spec 4.1): it needs its application, keeps it,
// and the provider tenant of an application with a provider cannot be deleted on its own.
func (v *Validator) validateCAPTenant(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	caPath := field.NewPath("spec", "capApplicationInstance")
	switch req.Operation {
	case admissionv1.Create:
		cat := &v1alpha1.CAPTenant{}
		if err := decode(req, cat, nil); err != nil {
			return admission.Result{}, err
		}
		ca, err := v.application(ctx, cat.Namespace, cat.Spec.CAPApplicationInstance)
		if err != nil || ca != nil {
			return admission.Result{}, err
		}
		return admission.Result{Errors: field.ErrorList{admission.NotFound(caPath, cat.Spec.CAPApplicationInstance,
			fmt.Sprintf("no CAPApplication %q in namespace %q", cat.Spec.CAPApplicationInstance, cat.Namespace))}}, nil
	case admissionv1.Update:
		cat, old := &v1alpha1.CAPTenant{}, &v1alpha1.CAPTenant{}
		if err := decode(req, cat, old); err != nil {
			return admission.Result{}, err
		}
		if cat.Spec.CAPApplicationInstance != old.Spec.CAPApplicationInstance {
			return admission.Result{Errors: field.ErrorList{field.Invalid(caPath, cat.Spec.CAPApplicationInstance, "field is immutable")}}, nil
		}
	case admissionv1.Delete:
		old := &v1alpha1.CAPTenant{}
		if err := decode(req, nil, old); err != nil {
			return admission.Result{}, err
		}
		return v.validateCATDelete(ctx, old)
	}
	return admission.Result{}, nil
}

// validateCATDelete denies deleting a Ready provider tenant while its application is
// Consistent and still has a provider: the controller would only create it again.
func (v *Validator) validateCATDelete(ctx context.Context, cat *v1alpha1.CAPTenant) (admission.Result, error) {
	if cat.Labels[v1alpha1.LabelTenantType] != v1alpha1.TenantTypeProvider || cat.Status.State != v1alpha1.CAPTenantStateReady {
		return admission.Result{}, nil
	}
	ca, err := v.application(ctx, cat.Namespace, cat.Spec.CAPApplicationInstance)
	if err != nil || ca == nil {
		return admission.Result{}, err
	}
	if ca.Spec.Provider == nil || ca.Status.State != v1alpha1.CAPApplicationStateConsistent || ca.DeletionTimestamp != nil {
		return admission.Result{}, nil
	}
	path := field.NewPath("metadata", "labels").Key(v1alpha1.LabelTenantType)
	return admission.Result{Errors: field.ErrorList{field.Forbidden(path, fmt.Sprintf(
		"the Ready provider tenant of CAPApplication %s (Consistent, with spec.provider) cannot be deleted: delete the CAPApplication or remove its provider section",
		ca.Name))}}, nil
}

// application reads a CAPApplication; nil without error when it does not exist.
func (v *Validator) application(ctx context.Context, namespace, name string) (*v1alpha1.CAPApplication, error) {
	if name == "" {
		return nil, nil
	}
	ca, err := v.client.SmeV1alpha1().CAPApplications(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading CAPApplication %s/%s: %w", namespace, name, err)
	}
	return ca, nil
}

// findTenant returns the CAPTenant of namespace with the given tenant id: by the
// btp-tenant-id label the controller sets, or by spec.tenantId, since a tenant applied a
// moment ago may not carry the label yet. nil without error when there is none.
func (v *Validator) findTenant(ctx context.Context, namespace, tenantID string) (*v1alpha1.CAPTenant, error) {
	list, err := v.client.SmeV1alpha1().CAPTenants(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing CAPTenants in %s: %w", namespace, err)
	}
	for i := range list.Items {
		cat := &list.Items[i]
		if cat.Spec.TenantId == tenantID || cat.Labels[v1alpha1.LabelBTPTenantIdentifier] == tenantID {
			return cat, nil
		}
	}
	return nil, nil
}
