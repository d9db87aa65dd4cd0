package apis

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/examples"
	"github.com/capstan-io/capstan/internal/testenv"
)

// exampleOutcome is how the API server alone (CRDs, no webhooks) treats a published manifest.
type exampleOutcome struct {
	// rejected lists substrings the rejection must contain; empty means accepted.
	rejected []string
	// why says why the manifest is rejected and which part of the project handles it.
	why string
}

// exampleOutcomes lists every example that the API server rejects without the webhooks;
// every other example must be accepted.
var exampleOutcomes = map[string]exampleOutcome{
	"multitenant/cav-v1.yaml": {
		rejected: []string{`spec.workloads[1].deploymentDefinition.env[0].value: Invalid value: "integer"`},
		why:      "numeric env value; the mutating webhook converts it to a string",
	},
	"multitenant/cav-v2-upgrade.yaml": {
		rejected: []string{`spec.workloads[1].deploymentDefinition.env[0].value: Invalid value: "integer"`},
		why:      "numeric env value; the mutating webhook converts it, the validating webhook then denies the unknown CAPApplication",
	},
	"reference/cav-full.yaml": {
		rejected: []string{`unknown field "spec.workloads[2].consumedServices"`, `unknown field "spec.workloads[6].consumedServices"`},
		why:      "the documentation's consumedServices is not an API field",
	},
	"version-monitoring/cav-expression-rule.yaml": {
		rejected: []string{"spec.capApplicationInstance: Required value", "spec.version: Required value", "spec.workloads[0].deploymentDefinition.image: Required value"},
		why:      "a fragment that shows only the monitoring part of a spec",
	},
	"version-monitoring/cav-metric-rules.yaml": {
		rejected: []string{"spec.capApplicationInstance: Required value", "spec.workloads[0].deploymentDefinition.type: Required value"},
		why:      "a fragment that shows only the monitoring part of a spec",
	},
	"version-monitoring/cav-scrape-config.yaml": {
		rejected: []string{"spec.capApplicationInstance: Required value", "spec.workloads[0].consumedBTPServices: Required value"},
		why:      "a fragment that shows only the monitoring part of a spec (and has no apiVersion)",
	},
}

// exampleObject decodes one example document, places it in namespace ns and makes
// cluster-scoped names unique to the test, since several examples share a ClusterDomain name.
func exampleObject(t *testing.T, doc []byte, ns string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if obj.GetAPIVersion() == "" {
		obj.SetAPIVersion("sme.sap.com/v1alpha1") // version-monitoring/cav-scrape-config.yaml
	}
	if obj.GetKind() == "ClusterDomain" {
		obj.SetNamespace("")
		obj.SetName(obj.GetName() + "-" + ns)
	} else {
		obj.SetNamespace(ns)
	}
	return obj
}

// resourceFor maps an example's kind to its resource.
func resourceFor(t *testing.T, obj *unstructured.Unstructured) schema.GroupVersionResource {
	t.Helper()
	resources := map[string]string{
		"CAPApplication": "capapplications", "CAPApplicationVersion": "capapplicationversions",
		"CAPTenant": "captenants", "CAPTenantOperation": "captenantoperations",
		"CAPTenantOutput": "captenantoutputs", "Domain": "domains", "ClusterDomain": "clusterdomains",
	}
	res, ok := resources[obj.GetKind()]
	if !ok {
		t.Fatalf("unexpected kind %q", obj.GetKind())
	}
	return schema.GroupVersionResource{Group: "sme.sap.com", Version: "v1alpha1", Resource: res}
}

func TestPublishedExamples(t *testing.T) {
	env := testenv.Current()
	for _, path := range examples.Files() {
		if strings.HasPrefix(path, "bindings/") {
			continue
		}
		// Several examples share names (the walk-through's Domain, for one), so each file
		// gets a namespace of its own.
		ns := env.NewNamespace(t)
		for i, doc := range examples.Documents(examples.MustRead(path)) {
			t.Run(fmt.Sprintf("%s#%d", path, i), func(t *testing.T) {
				obj := exampleObject(t, doc, ns)
				client := env.Dynamic().Resource(resourceFor(t, obj)).Namespace(obj.GetNamespace())
				_, err := client.Create(context.Background(), obj, metav1.CreateOptions{FieldValidation: "Strict"})
				checkOutcome(t, exampleOutcomes[path], err)
			})
		}
	}
}

// checkOutcome compares a create error with the expected outcome of an example.
func checkOutcome(t *testing.T, want exampleOutcome, err error) {
	t.Helper()
	if len(want.rejected) == 0 {
		if err != nil {
			t.Fatalf("expected the example to be accepted, got %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("expected a rejection (%s), the example was accepted", want.why)
	}
	for _, s := range want.rejected {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("rejection %q does not contain %q", err, s)
		}
	}
}

func TestExampleWithMissingSeparatorAppliesWithKubectl(t *testing.T) {
	// domains/clusterdomain-subdomain.yaml holds a Domain and a ClusterDomain without a "---"
	// between them. kubectl's YAML decoder keeps the last value of each duplicated key, so
	// applying the file as published creates the ClusterDomain; the Domain is the same as
	// multitenant/domain.yaml.
	env := testenv.Current()
	out, err := env.Kubectl("apply", "--server-side", "-f", "../../../examples/domains/clusterdomain-subdomain.yaml")
	if err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	if !strings.Contains(out, "clusterdomain.sme.sap.com/common-external-domain") {
		t.Fatalf("expected the ClusterDomain to be applied, got:\n%s", out)
	}
	t.Cleanup(func() { _, _ = env.Kubectl("delete", "clusterdomain", "common-external-domain") })
}
