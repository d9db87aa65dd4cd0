package webhooks

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// portWarning is the start of the warning for the walk-through's `value: 4000`.
const portWarning = `spec.workloads[1].deploymentDefinition.env[0].value: converted the number 4000 of env variable PORT to the string "4000"`

// envValue returns the value of env variable name of workload i.
func envValue(t *testing.T, cav *unstructured.Unstructured, i int, name string) any {
	t.Helper()
	wls, _, _ := unstructured.NestedSlice(cav.Object, "spec", "workloads")
	env, _, _ := unstructured.NestedSlice(wls[i].(map[string]any), "deploymentDefinition", "env")
	for _, e := range env {
		if m := e.(map[string]any); m["name"] == name {
			return m["value"]
		}
	}
	return nil
}

func TestMultitenantWalkthrough(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	for _, path := range []string{"multitenant/domain.yaml", "multitenant/clusterdomain.yaml", "multitenant/capapplication.yaml"} {
		mustCreate(t, env, example(t, path, ns))
	}

	// Version 1 applies: PORT becomes "4000" with a warning; it has no TenantOperation
	// workload, which the CAP workload stands in for (spec 0.14).
	cav, w := mustCreate(t, env, example(t, "multitenant/cav-v1.yaml", ns))
	if got := envValue(t, cav, 1, "PORT"); got != "4000" {
		t.Fatalf("PORT = %#v, want the string 4000", got)
	}
	requireContains(t, "warnings", w.joined(), portWarning)

	// The operator's objects applied by hand: accepted, since tenant and version exist.
	mustCreate(t, env, example(t, "multitenant/captenant-provider.yaml", ns))
	mustCreate(t, env, example(t, "multitenant/captenantoperation-provisioning.yaml", ns))

	// Version 2 as published names a CAPApplication that does not exist.
	_, w, err := create(t, env, example(t, "multitenant/cav-v2-upgrade.yaml", ns), metav1.FieldValidationStrict)
	if err == nil {
		t.Fatal("cav-v2-upgrade.yaml was accepted")
	}
	requireContains(t, "denial", err.Error(), `invalidated from webhook CAPApplicationVersion `+ns+`/cav-cap-app-01-2: [spec.capApplicationInstance: Not found: "cap-cap-app-01": no CAPApplication "cap-cap-app-01" in namespace "`+ns+`"]`)
	requireContains(t, "warnings", w.joined(), portWarning)

	// The corrected copy applies, and so does its upgrade operation.
	fixed := example(t, "multitenant/cav-v2-upgrade.yaml", ns)
	_ = unstructured.SetNestedField(fixed.Object, "cap-app-01", "spec", "capApplicationInstance")
	mustCreate(t, env, fixed)
	mustCreate(t, env, example(t, "multitenant/captenantoperation-upgrade.yaml", ns))
}

func TestCAVSpecIsImmutable(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	mustCreate(t, env, example(t, "multitenant/capapplication.yaml", ns))
	cav, _ := mustCreate(t, env, example(t, "multitenant/cav-v1.yaml", ns))
	client := env.Dynamic().Resource(gvr("capapplicationversions")).Namespace(ns)

	cav.SetLabels(map[string]string{"team": "a"})
	cav, err := client.Update(context.Background(), cav, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("a metadata update was denied: %v", err)
	}
	_ = unstructured.SetNestedField(cav.Object, "2", "spec", "version")
	_, err = client.Update(context.Background(), cav, metav1.UpdateOptions{})
	if err == nil {
		t.Fatal("a spec update was accepted")
	}
	requireContains(t, "denial", err.Error(), `invalidated from webhook CAPApplicationVersion `+ns+`/cav-cap-app-01-1: [spec.version: Forbidden: the spec of a CAPApplicationVersion is immutable`)
}

func TestKubectlApplyPrintsWarnings(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	manifest := writeManifest(t, example(t, "multitenant/capapplication.yaml", ns), example(t, "multitenant/cav-v1.yaml", ns))
	out, err := env.Kubectl("apply", "-f", manifest)
	if err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	requireContains(t, "kubectl output", out, "Warning: "+portWarning, "capapplicationversion.sme.sap.com/cav-cap-app-01-1 created")
	value, err := env.Kubectl("get", "cav", "-n", ns, "cav-cap-app-01-1", "-o", `jsonpath={.spec.workloads[1].deploymentDefinition.env[0].value}`)
	if err != nil || value != "4000" {
		t.Fatalf("stored PORT = %q (%v), want 4000", value, err)
	}
}

// cavFullProblems are what the webhook reports for reference/cav-full.yaml once the API
// server has pruned the unknown consumedServices fields: the scrape port that names no port,
// and the five job workloads left without consumedBTPServices. All are reported together by
// the early validation in the mutating webhook, which runs before the CRD schema would report
// only the missing lists.
var cavFullProblems = []string{
	`spec.workloads[0].deploymentDefinition.monitoring.scrapeConfig.port: Invalid value: "tech--port": not a port of workload "cap-backend" (its ports are app-port, tech-port)`,
	"spec.workloads[2].consumedBTPServices: Required value", "spec.workloads[3].consumedBTPServices: Required value",
	"spec.workloads[4].consumedBTPServices: Required value", "spec.workloads[5].consumedBTPServices: Required value",
	"spec.workloads[6].consumedBTPServices: Required value",
}

func TestReferenceExamples(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	mustCreate(t, env, example(t, "reference/capapplication-full.yaml", ns))
	mustCreate(t, env, example(t, "reference/captenant.yaml", ns))
	mustCreate(t, env, example(t, "reference/captenantoutput.yaml", ns))

	// Strict field validation (kubectl's default): the API server rejects the unknown field
	// before any webhook runs.
	_, _, err := create(t, env, example(t, "reference/cav-full.yaml", ns), metav1.FieldValidationStrict)
	if err == nil {
		t.Fatal("cav-full.yaml was accepted")
	}
	requireContains(t, "strict rejection", err.Error(), `unknown field "spec.workloads[2].consumedServices"`)

	// Non-strict (kubectl apply --validate=false): the fields are pruned and the webhook
	// reports every problem at once; the undeclared cap-html5-repo-rt is a warning.
	_, w, err := create(t, env, example(t, "reference/cav-full.yaml", ns), metav1.FieldValidationIgnore)
	if err == nil {
		t.Fatal("cav-full.yaml was accepted")
	}
	t.Logf("cav-full.yaml, non-strict: %v", err)
	requireContains(t, "denial", err.Error(), append([]string{"invalidated from webhook CAPApplicationVersion " + ns + "/cav-cap-app-v1: ["}, cavFullProblems...)...)
	requireContains(t, "warnings", w.joined(), `spec.workloads[1].consumedBTPServices[2]: service "cap-html5-repo-rt" is not declared`)

	out, err := env.Kubectl("apply", "--validate=false", "-f", writeManifest(t, example(t, "reference/cav-full.yaml", ns)))
	if err == nil {
		t.Fatalf("kubectl apply --validate=false accepted cav-full.yaml:\n%s", out)
	}
	requireContains(t, "kubectl output", out, cavFullProblems...)

	// The reference operation runs on cav-cap-app-v2, which no example creates.
	_, _, err = create(t, env, example(t, "reference/captenantoperation.yaml", ns), metav1.FieldValidationStrict)
	if err == nil {
		t.Fatal("captenantoperation.yaml was accepted")
	}
	requireContains(t, "denial", err.Error(), `spec.capApplicationVersionInstance: Not found: "cav-cap-app-v2"`)
}

func TestServicesOnlyUndeclaredServicesWarn(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	mustCreate(t, env, example(t, "services-only/capapplication.yaml", ns))
	_, w := mustCreate(t, env, example(t, "services-only/cav.yaml", ns))
	requireContains(t, "warnings", w.joined(),
		`spec.workloads[0].consumedBTPServices[0]: service "app-uaa" is not declared in spec.btp.services of CAPApplication test-ca-01`,
		`spec.workloads[0].consumedBTPServices[1]: service "app-db"`, `spec.workloads[0].consumedBTPServices[2]: service "app-saas-registry"`,
		`spec.workloads[1].consumedBTPServices[1]: service "app-db"`, `spec.workloads[2].consumedBTPServices[2]: service "app-portal"`)
}

func TestDomainExamples(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	for _, path := range []string{"domains/clusterdomain-mutual-tls.yaml", "domains/clusterdomain-subdomain.yaml", "domains/domain-custom-dns.yaml"} {
		mustCreate(t, env, example(t, path, ns))
	}
	// A second object for a host already served is denied, whatever its kind or namespace.
	dup := example(t, "domains/domain-custom-dns.yaml", ns)
	dup.SetName("other")
	_, _, err := create(t, env, dup, metav1.FieldValidationStrict)
	if err == nil {
		t.Fatal("a duplicate domain was accepted")
	}
	requireContains(t, "denial", err.Error(), `spec.domain: Duplicate value: "`+ns+`.`, "already used by Domain "+ns+"/")
}

func TestVersionMonitoringFragmentsAreDenied(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	tests := map[string]struct {
		path string
		want []string
	}{
		"expression rule": {"version-monitoring/cav-expression-rule.yaml", []string{"spec.capApplicationInstance: Required value", "spec.version: Required value"}},
		"metric rules":    {"version-monitoring/cav-metric-rules.yaml", []string{"spec.capApplicationInstance: Required value"}},
		"scrape config":   {"version-monitoring/cav-scrape-config.yaml", []string{"spec.workloads[0].consumedBTPServices: Required value"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := create(t, env, example(t, tc.path, ns), metav1.FieldValidationStrict)
			if err == nil {
				t.Fatalf("%s was accepted", tc.path)
			}
			requireContains(t, "denial", err.Error(), tc.want...)
		})
	}
}
