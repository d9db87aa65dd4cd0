// Package validation implements the validating admission webhook of the sme.sap.com kinds
// (spec section 4.1 and the closed gaps of section 0.8). Every rule reports all problems of
// an object at once as a field.ErrorList; a non-empty list denies the request.
//
// The validator reads referenced objects live from the API server rather than from an
// informer cache: a CAPApplication and its CAPApplicationVersion are often applied in one
// `kubectl apply`, and a cache could still miss the application when the version arrives.
package validation

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// Validator validates admission requests for the sme.sap.com kinds.
type Validator struct {
	client smeclient.Interface
}

// New returns a Validator that looks up referenced objects with client.
func New(client smeclient.Interface) *Validator {
	return &Validator{client: client}
}

// kindValidator validates one kind; it returns the outcome or an error when the object cannot
// be decoded (*admission.DecodeError) or a lookup failed.
type kindValidator func(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error)

// Validate reviews req. Requests for kinds outside sme.sap.com, and for kinds without rules,
// are allowed.
func (v *Validator) Validate(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	if req.Kind.Group != admission.Group {
		return admission.Result{}, nil
	}
	validators := map[string]kindValidator{
		admission.KindCAPApplication:        v.validateCAPApplication,
		admission.KindCAPApplicationVersion: v.validateCAPApplicationVersion,
		admission.KindCAPTenant:             v.validateCAPTenant,
		admission.KindCAPTenantOperation:    v.validateCAPTenantOperation,
		admission.KindCAPTenantOutput:       v.validateCAPTenantOutput,
		admission.KindDomain:                v.validateDomain,
		admission.KindClusterDomain:         v.validateClusterDomain,
	}
	validate, ok := validators[req.Kind.Kind]
	if !ok {
		return admission.Result{}, nil
	}
	return validate(ctx, req)
}

// decode decodes the objects of req, marking failures as decode errors.
func decode(req *admissionv1.AdmissionRequest, newObj, oldObj any) error {
	if err := admission.Objects(req, newObj, oldObj); err != nil {
		return &admission.DecodeError{Err: fmt.Errorf("%s %s: %w", req.Kind.Kind, admission.ObjectName(req.Namespace, req.Name), err)}
	}
	return nil
}

// application reads a CAPApplication; nil without error when name is empty or it does not
// exist.
func (v *Validator) application(ctx context.Context, namespace, name string) (*v1alpha1.CAPApplication, error) {
	return getIfExists(ctx, v.client.SmeV1alpha1().CAPApplications(namespace).Get, "CAPApplication", namespace, name)
}

// version reads a CAPApplicationVersion; nil without error when name is empty or it does
// not exist.
func (v *Validator) version(ctx context.Context, namespace, name string) (*v1alpha1.CAPApplicationVersion, error) {
	return getIfExists(ctx, v.client.SmeV1alpha1().CAPApplicationVersions(namespace).Get, "CAPApplicationVersion", namespace, name)
}

// getIfExists reads an object with get; nil without error when name is empty or the object
// does not exist, so that the rules depending on it are skipped and the others still run.
func getIfExists[T any](ctx context.Context, get func(context.Context, string, metav1.GetOptions) (*T, error), kind, namespace, name string) (*T, error) {
	if name == "" {
		return nil, nil
	}
	obj, err := get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %s/%s: %w", kind, namespace, name, err)
	}
	return obj, nil
}
