// Package mutation implements the mutating admission webhook of the sme.sap.com kinds:
// CAPApplicationVersion env values written as numbers become strings (spec 0.2), and the
// deprecated CAPApplication domains become domainRefs to the Domain/ClusterDomain objects
// serving them (spec 4.3; missing objects are created by the CAPApplication controller, never
// by the webhook, which makes no API writes). Every change is returned as a JSON patch with a warning saying what
// was changed, so users learn to fix their manifests.
package mutation

import (
	"context"
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/capstan-io/capstan/internal/webhook/admission"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// Mutator mutates admission requests for the sme.sap.com kinds. Its struct and constructor
// have the shape of validation.Validator's on purpose: both are a client and a dispatch by
// kind.
type Mutator struct {
	client smeclient.Interface
}

// New returns a Mutator that looks Domain and ClusterDomain objects up with client; it only
// reads.
func New(client smeclient.Interface) *Mutator {
	return &Mutator{client: client}
}

// Mutate reviews req and returns the patch to apply. Kinds without mutations, and DELETE
// requests, are allowed unchanged.
func (m *Mutator) Mutate(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	if req.Kind.Group != admission.Group || (req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return admission.Result{}, nil
	}
	switch req.Kind.Kind {
	case admission.KindCAPApplicationVersion:
		return stringifyEnvValues(req)
	case admission.KindCAPApplication:
		return m.migrateDomains(ctx, req)
	}
	return admission.Result{}, nil
}

// decodeMap decodes the request's object into a generic map, keeping numbers as written
// (json.Number) so that "4000" stays "4000" and "1e3" stays "1e3".
func decodeMap(req *admissionv1.AdmissionRequest) (map[string]any, error) {
	var obj map[string]any
	dec := json.NewDecoder(bytesReader(req.Object.Raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		if err == nil {
			err = fmt.Errorf("no object in the admission request")
		}
		return nil, &admission.DecodeError{Err: fmt.Errorf("%s %s: decoding the object: %w", req.Kind.Kind, admission.ObjectName(req.Namespace, req.Name), err)}
	}
	return obj, nil
}
