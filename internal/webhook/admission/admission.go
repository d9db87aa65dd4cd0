// Package admission holds what the validating and mutating webhooks share: the outcome of
// reviewing one admission request, JSON patch operations, and the decoding of the objects an
// AdmissionRequest carries.
package admission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Group is the API group whose kinds the webhooks review; requests for other groups are
// allowed unchanged.
const Group = v1alpha1.GroupName

// Kinds of the sme.sap.com API as they appear in AdmissionRequest.Kind.
const (
	KindCAPApplication        = "CAPApplication"
	KindCAPApplicationVersion = "CAPApplicationVersion"
	KindCAPTenant             = "CAPTenant"
	KindCAPTenantOperation    = "CAPTenantOperation"
	KindCAPTenantOutput       = "CAPTenantOutput"
	KindDomain                = "Domain"
	KindClusterDomain         = "ClusterDomain"
)

// PatchOp is one RFC 6902 JSON patch operation.
type PatchOp struct {
	// Op is add, remove or replace.
	Op string `json:"op"`
	// Path is the JSON pointer of the changed value.
	Path string `json:"path"`
	// Value is the new value (absent for remove).
	Value any `json:"value,omitempty"`
}

// Result is the outcome of reviewing one request.
type Result struct {
	// Errors deny the request when not empty; all problems of the object are listed.
	Errors field.ErrorList
	// Warnings are returned to the client (kubectl prints them) whether or not the request
	// is allowed.
	Warnings []string
	// Patch changes the object (mutating webhook only).
	Patch []PatchOp
	// Object is the object after Patch has been applied, as JSON; nil when Patch is empty.
	Object []byte
}

// Merge appends other's errors, warnings and patch to r. Object is taken from other when set.
func (r *Result) Merge(other Result) {
	r.Errors = append(r.Errors, other.Errors...)
	r.Warnings = append(r.Warnings, other.Warnings...)
	r.Patch = append(r.Patch, other.Patch...)
	if other.Object != nil {
		r.Object = other.Object
	}
}

// DenialMessage formats errs as the message of a denied request: the kind and the object's
// namespace/name, then every field error in the style of apimachinery's field.ErrorList, for
// example
//
//	invalidated from webhook CAPApplicationVersion ns/cav: [spec.version: Duplicate value: "1"]
//
// The brackets are always written, also around a single error, so clients can rely on one
// shape.
func DenialMessage(kind, namespace, name string, errs field.ErrorList) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		parts = append(parts, e.Error())
	}
	return fmt.Sprintf("invalidated from webhook %s %s: [%s]", kind, ObjectName(namespace, name), strings.Join(parts, ", "))
}

// ObjectName renders namespace/name, or just name for cluster-scoped objects.
func ObjectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// Decode unmarshals raw into out. Unknown fields are ignored because the API server has
// already pruned the object against its schema; what it sends may still carry fields of a
// newer schema than this binary knows.
func Decode(raw []byte, out any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return fmt.Errorf("no object in the admission request")
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding the object: %w", err)
	}
	return nil
}

// Objects decodes the new and the old object of req into newObj and oldObj (either may be nil
// to skip it). Which ones exist depends on the operation: CREATE has only the new object,
// DELETE only the old one, UPDATE both.
func Objects(req *admissionv1.AdmissionRequest, newObj, oldObj any) error {
	if newObj != nil && req.Operation != admissionv1.Delete {
		if err := Decode(req.Object.Raw, newObj); err != nil {
			return err
		}
	}
	if oldObj != nil && (req.Operation == admissionv1.Update || req.Operation == admissionv1.Delete) {
		if err := Decode(req.OldObject.Raw, oldObj); err != nil {
			return fmt.Errorf("old object: %w", err)
		}
	}
	return nil
}

// NotFound is field.NotFound with a detail, so the message can say where the object was
// looked for.
func NotFound(path *field.Path, value any, detail string) *field.Error {
	return &field.Error{Type: field.ErrorTypeNotFound, Field: path.String(), BadValue: value, Detail: detail}
}

// DecodeError marks a failure to decode the object of a request; the handler answers it with
// HTTP 500 (spec 4), unlike lookup failures, which deny the request with a message.
type DecodeError struct{ Err error }

// Error implements error.
func (e *DecodeError) Error() string { return e.Err.Error() }

// Unwrap returns the decoding error.
func (e *DecodeError) Unwrap() error { return e.Err }
