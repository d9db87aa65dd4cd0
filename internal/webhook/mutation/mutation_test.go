package mutation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/capstan-io/capstan/internal/webhook/admission"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
)

// cavRequest builds a CAPApplicationVersion request from raw JSON of its workloads.
func cavRequest(op admissionv1.Operation, workloads string) *admissionv1.AdmissionRequest {
	raw := `{"apiVersion":"sme.sap.com/v1alpha1","kind":"CAPApplicationVersion","metadata":{"name":"v1","namespace":"ns"},"spec":{"workloads":` + workloads + `}}`
	return &admissionv1.AdmissionRequest{UID: "u", Operation: op, Name: "v1", Namespace: "ns",
		Kind: metav1.GroupVersionKind{Group: "sme.sap.com", Version: "v1alpha1", Kind: "CAPApplicationVersion"}, Object: runtime.RawExtension{Raw: []byte(raw)}}
}

func TestStringifyEnvValues(t *testing.T) {
	tests := map[string]struct {
		workloads string
		op        admissionv1.Operation
		// expectations
		patch    []admission.PatchOp
		warnings []string
	}{
		"strings only": {workloads: `[{"name":"a","deploymentDefinition":{"env":[{"name":"A","value":"1"}]}}]`, op: admissionv1.Create},
		"number in deployment env": {workloads: `[{"name":"a","deploymentDefinition":{"env":[{"name":"X","value":"x"},{"name":"PORT","value":4000}]}}]`, op: admissionv1.Create,
			patch:    []admission.PatchOp{{Op: "replace", Path: "/spec/workloads/0/deploymentDefinition/env/1/value", Value: "4000"}},
			warnings: []string{`spec.workloads[0].deploymentDefinition.env[1].value: converted the number 4000 of env variable PORT to the string "4000"`}},
		"float, exponent and boolean in job and init containers": {op: admissionv1.Update,
			workloads: `[{"name":"a"},{"name":"b","jobDefinition":{"env":[{"name":"F","value":1.50}],"initContainers":[{"name":"i","env":[{"name":"E","value":1e3},{"name":"B","value":true}]}]}}]`,
			patch: []admission.PatchOp{
				{Op: "replace", Path: "/spec/workloads/1/jobDefinition/env/0/value", Value: "1.50"},
				{Op: "replace", Path: "/spec/workloads/1/jobDefinition/initContainers/0/env/0/value", Value: "1e3"},
				{Op: "replace", Path: "/spec/workloads/1/jobDefinition/initContainers/0/env/1/value", Value: "true"},
			},
			warnings: []string{"spec.workloads[1].jobDefinition.env[0].value", "spec.workloads[1].jobDefinition.initContainers[0].env[0].value", "spec.workloads[1].jobDefinition.initContainers[0].env[1].value: converted the boolean true"}},
		"malformed shapes are left alone": {workloads: `[1,"x",{"deploymentDefinition":[]},{"jobDefinition":{"env":{"a":1},"initContainers":[3]}}]`, op: admissionv1.Create},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := New(fake.NewClientset())
			res, err := m.Mutate(context.Background(), cavRequest(tc.op, tc.workloads))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := mustJSON(t, res.Patch), mustJSON(t, tc.patch); got != want {
				t.Errorf("patch = %s, want %s", got, want)
			}
			if len(res.Warnings) != len(tc.warnings) {
				t.Fatalf("warnings = %q, want %d", res.Warnings, len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if !strings.Contains(res.Warnings[i], w) {
					t.Errorf("warning %q does not contain %q", res.Warnings[i], w)
				}
			}
			if len(tc.patch) > 0 {
				// The mutated object must decode into the typed API now.
				cav := &v1alpha1.CAPApplicationVersion{}
				if err := json.Unmarshal(res.Object, cav); err != nil {
					t.Fatalf("mutated object does not decode: %v", err)
				}
			}
		})
	}
}

func TestStringifyEnvValuesUndecodable(t *testing.T) {
	req := cavRequest(admissionv1.Create, `[]`)
	req.Object.Raw = []byte(`{"spec":`)
	_, err := New(fake.NewClientset()).Mutate(context.Background(), req)
	if _, ok := err.(*admission.DecodeError); !ok {
		t.Fatalf("expected a DecodeError, got %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
