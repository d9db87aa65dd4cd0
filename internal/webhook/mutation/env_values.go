package mutation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/internal/webhook/admission"
)

// bytesReader wraps raw for a json.Decoder.
func bytesReader(raw []byte) *bytes.Reader { return bytes.NewReader(raw) }

// definitionKeys are the workload keys that hold a pod definition.
var definitionKeys = []string{"deploymentDefinition", "jobDefinition"}

// stringifyEnvValues turns env values written as numbers or booleans into strings, in every
// workload's env and in the env of its init containers (spec 0.2). The published manifests
// write `value: 4000`; the CRD schema, which the API server checks after mutating admission,
// accepts strings only. The object is handled as a generic map because such a value cannot be
// decoded into corev1.EnvVar. Booleans (`value: true`) are treated alike: they are the same
// YAML mistake.
func stringifyEnvValues(req *admissionv1.AdmissionRequest) (admission.Result, error) {
	obj, err := decodeMap(req)
	if err != nil {
		return admission.Result{}, err
	}
	var res admission.Result
	spec, _ := obj["spec"].(map[string]any)
	workloads, _ := spec["workloads"].([]any)
	for i, w := range workloads {
		wl, _ := w.(map[string]any)
		for _, key := range definitionKeys {
			def, ok := wl[key].(map[string]any)
			if !ok {
				continue
			}
			base := field.NewPath("spec", "workloads").Index(i).Child(key)
			pointer := fmt.Sprintf("/spec/workloads/%d/%s", i, key)
			res.Merge(stringifyEnv(def, base.Child("env"), pointer+"/env"))
			containers, _ := def["initContainers"].([]any)
			for k, c := range containers {
				container, _ := c.(map[string]any)
				res.Merge(stringifyEnv(container, base.Child("initContainers").Index(k).Child("env"),
					fmt.Sprintf("%s/initContainers/%d/env", pointer, k)))
			}
		}
	}
	if len(res.Patch) == 0 {
		return admission.Result{}, nil
	}
	if res.Object, err = json.Marshal(obj); err != nil {
		return admission.Result{}, fmt.Errorf("encoding the mutated object: %w", err)
	}
	return res, nil
}

// stringifyEnv converts the non-string values of the env list in holder["env"], changing
// holder in place, and returns the patch and warnings for them.
func stringifyEnv(holder map[string]any, path *field.Path, pointer string) admission.Result {
	var res admission.Result
	envs, _ := holder["env"].([]any)
	for j, e := range envs {
		env, _ := e.(map[string]any)
		var text, what string
		switch value := env["value"].(type) {
		case json.Number:
			text, what = value.String(), "number"
		case bool:
			text, what = strconv.FormatBool(value), "boolean"
		default:
			continue
		}
		env["value"] = text
		res.Patch = append(res.Patch, admission.PatchOp{Op: "replace", Path: fmt.Sprintf("%s/%d/value", pointer, j), Value: text})
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: converted the %s %s of env variable %v to the string %q (env values are strings; quote the value in the manifest)",
			path.Index(j).Child("value"), what, text, env["name"], text))
	}
	return res
}
