package validation

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// validateCAPTenant validates a CAPTenant (spec 4.1): it needs its application, keeps it,
// and the provider tenant of an application with a provider cannot be deleted on its own.
// Beyond the reference, a tenant id has one tenant per application and a tenant keeps its
// tenant id and subdomain.
func (v *Validator) validateCAPTenant(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	switch req.Operation {
	case admissionv1.Create:
		cat := &v1alpha1.CAPTenant{}
		if err := decode(req, cat, nil); err != nil {
			return admission.Result{}, err
		}
		return v.validateCATCreate(ctx, cat)
	case admissionv1.Update:
		cat, old := &v1alpha1.CAPTenant{}, &v1alpha1.CAPTenant{}
		if err := decode(req, cat, old); err != nil {
			return admission.Result{}, err
		}
		return admission.Result{Errors: validateCATUpdate(old, cat)}, nil
	case admissionv1.Delete:
		old := &v1alpha1.CAPTenant{}
		if err := decode(req, nil, old); err != nil {
			return admission.Result{}, err
		}
		return v.validateCATDelete(ctx, old)
	}
	return admission.Result{}, nil
}

// validateCATCreate requires the tenant's application and denies a second tenant with the
// same tenant id in that application: two tenants for one subscriber would provision and
// deprovision it independently, and the deletion of either would remove the subscriber's
// data while the other still serves it.
func (v *Validator) validateCATCreate(ctx context.Context, cat *v1alpha1.CAPTenant) (admission.Result, error) {
	ca, err := v.application(ctx, cat.Namespace, cat.Spec.CAPApplicationInstance)
	if err != nil {
		return admission.Result{}, err
	}
	if ca == nil {
		return admission.Result{Errors: field.ErrorList{admission.NotFound(field.NewPath("spec", "capApplicationInstance"), cat.Spec.CAPApplicationInstance,
			fmt.Sprintf("no CAPApplication %q in namespace %q", cat.Spec.CAPApplicationInstance, cat.Namespace))}}, nil
	}
	other, err := v.appTenantWithID(ctx, cat)
	if err != nil || other == nil {
		return admission.Result{}, err
	}
	detail := fmt.Sprintf("CAPTenant %s of CAPApplication %s already has this tenant id", other.Name, ca.Name)
	if other.DeletionTimestamp != nil {
		detail += " and is being deleted; create the tenant again once it is gone"
	}
	return admission.Result{Errors: field.ErrorList{{Type: field.ErrorTypeDuplicate, Field: "spec.tenantId", BadValue: cat.Spec.TenantId, Detail: detail}}}, nil
}

// validateCATUpdate keeps the application, the tenant id and the subdomain of a tenant: its
// operations, routes and outputs were made for them.
func validateCATUpdate(old, cat *v1alpha1.CAPTenant) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	for _, f := range []struct{ name, old, new string }{
		{"capApplicationInstance", old.Spec.CAPApplicationInstance, cat.Spec.CAPApplicationInstance},
		{"tenantId", old.Spec.TenantId, cat.Spec.TenantId},
		{"subDomain", old.Spec.SubDomain, cat.Spec.SubDomain},
	} {
		if f.old != f.new {
			errs = append(errs, field.Invalid(spec.Child(f.name), f.new, "field is immutable"))
		}
	}
	return errs
}

// appTenantWithID returns another tenant of cat's application with cat's tenant id, nil
// without error when there is none. The tenants are read live: a tenant created a moment ago
// (the duplicate this check exists for, say from a retried subscription) may not be in an
// informer cache yet.
func (v *Validator) appTenantWithID(ctx context.Context, cat *v1alpha1.CAPTenant) (*v1alpha1.CAPTenant, error) {
	list, err := v.client.SmeV1alpha1().CAPTenants(cat.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing CAPTenants in %s: %w", cat.Namespace, err)
	}
	for i := range list.Items {
		other := &list.Items[i]
		if other.Name != cat.Name && other.Spec.CAPApplicationInstance == cat.Spec.CAPApplicationInstance && other.Spec.TenantId == cat.Spec.TenantId {
			return other, nil
		}
	}
	return nil, nil
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
