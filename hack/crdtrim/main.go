// Command crdtrim shrinks the CAPApplicationVersion CRD that controller-gen writes, so that
// `kubectl apply` without --server-side can store it: client-side apply keeps the whole object
// in the kubectl.kubernetes.io/last-applied-configuration annotation, and annotations may hold
// at most 262144 bytes.
//
// Nearly all of the size is the documentation of the Kubernetes types a workload embeds (Pod
// volumes, init containers, affinity, probes, ...), which controller-gen copies from k8s.io/api
// at every depth. crdtrim keeps the schema itself (types, required fields, enums, formats and
// the list and map markers), so the API server still validates and prunes those fields exactly
// as before; it keeps the description of the embedded field and of its direct fields, and drops
// the descriptions below them. `kubectl explain pod.spec.<field>` has the full text.
//
// Usage: crdtrim [-max-bytes N] FILE... trims the CAPApplicationVersion CRD among FILEs in place
// and fails when any FILE's compact JSON exceeds N bytes.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// lastAppliedLimit is the annotation size limit of the API server (TotalAnnotationSizeLimitB),
// less a margin for the other metadata of the object.
const lastAppliedLimit = 262144 - 8192

// workloadPaths are the definitions of a CAPApplicationVersion workload, from the schema root.
var workloadPaths = [][]string{
	{"spec", "workloads", "[]", "deploymentDefinition"},
	{"spec", "workloads", "[]", "jobDefinition"},
}

// embeddedFields are the fields of a workload definition whose types come from k8s.io/api. A
// field missing from a definition is an error unless it is marked deploymentOnly, so that a
// renamed field fails the code generation instead of silently growing the CRD again.
var embeddedFields = []struct {
	path           []string
	deploymentOnly bool
}{
	{path: []string{"env"}},
	{path: []string{"volumes"}},
	{path: []string{"volumeMounts"}},
	{path: []string{"resources"}},
	{path: []string{"securityContext"}},
	{path: []string{"podSecurityContext"}},
	{path: []string{"affinity"}},
	{path: []string{"tolerations"}},
	{path: []string{"topologySpreadConstraints"}},
	{path: []string{"initContainers"}},
	{path: []string{"lifecycle"}},
	{path: []string{"livenessProbe"}, deploymentOnly: true},
	{path: []string{"readinessProbe"}, deploymentOnly: true},
	{path: []string{"startupProbe"}, deploymentOnly: true},
	{path: []string{"podDisruptionBudget"}, deploymentOnly: true},
	{path: []string{"horizontalPodAutoscaler", "metrics"}, deploymentOnly: true},
	{path: []string{"horizontalPodAutoscaler", "behavior"}, deploymentOnly: true},
}

func main() {
	maxBytes := flag.Int("max-bytes", lastAppliedLimit, "largest compact JSON size of a CRD")
	flag.Parse()
	if err := run(flag.Args(), *maxBytes); err != nil {
		fmt.Fprintln(os.Stderr, "crdtrim:", err)
		os.Exit(1)
	}
}

// run trims the CAPApplicationVersion CRD among files and checks the size of every file.
func run(files []string, maxBytes int) error {
	if len(files) == 0 {
		return fmt.Errorf("no CRD files given")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var crd map[string]any
		if err := yaml.Unmarshal(data, &crd); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if name, _ := nested(crd, "metadata", "name").(string); name == "capapplicationversions.sme.sap.com" {
			if err := trimCRD(crd); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			out, err := yaml.Marshal(crd)
			if err != nil {
				return err
			}
			if err := os.WriteFile(file, append([]byte("---\n"), out...), 0o644); err != nil {
				return err
			}
		}
		compact, err := json.Marshal(crd)
		if err != nil {
			return err
		}
		if len(compact) > maxBytes {
			return fmt.Errorf("%s is %d bytes as JSON, more than %d: client-side kubectl apply could not store it", file, len(compact), maxBytes)
		}
	}
	return nil
}
