package apis

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/internal/testenv"
	smev1alpha1 "github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// validCAV is a minimal valid CAPApplicationVersion that the invalid cases below modify.
const validCAV = `
apiVersion: sme.sap.com/v1alpha1
kind: CAPApplicationVersion
metadata:
  name: cav
spec:
  capApplicationInstance: app
  version: "1.2.3-rc.1+build.5"
  workloads:
  - name: cap-backend
    consumedBTPServices: []
    deploymentDefinition:
      type: CAP
      image: srv:1
  - name: tenant-operation
    consumedBTPServices: []
    jobDefinition:
      type: TenantOperation
      image: srv:1
`

func TestSchemaRejectsInvalidObjects(t *testing.T) {
	tests := map[string]struct {
		// manifest is the object to create.
		manifest string
		// edit changes the decoded object before it is created.
		edit func(obj map[string]any)
		// wantErrs are substrings the rejection must contain; they name the field.
		wantErrs []string
	}{
		"valid version is accepted": {manifest: validCAV},
		"bad semver": {
			manifest: validCAV,
			edit:     func(o map[string]any) { spec(o)["version"] = "v1.0" },
			wantErrs: []string{`spec.version: Invalid value: "v1.0": spec.version in body should match`},
		},
		"bad deployment type enum": {
			manifest: validCAV,
			edit:     func(o map[string]any) { workload(o, 0, "deploymentDefinition")["type"] = "Server" },
			wantErrs: []string{`spec.workloads[0].deploymentDefinition.type: Unsupported value: "Server"`},
		},
		"both deployment and job definition": {
			manifest: validCAV,
			edit: func(o map[string]any) {
				workload(o, 1, "")["deploymentDefinition"] = map[string]any{"type": "Additional", "image": "x"}
			},
			wantErrs: []string{"spec.workloads[1]: Invalid value", "exactly one of deploymentDefinition or jobDefinition must be set"},
		},
		"neither deployment nor job definition": {
			manifest: validCAV,
			edit:     func(o map[string]any) { delete(workload(o, 1, ""), "jobDefinition") },
			wantErrs: []string{"exactly one of deploymentDefinition or jobDefinition must be set"},
		},
		"missing required image and workload name": {
			manifest: validCAV,
			edit: func(o map[string]any) {
				delete(workload(o, 0, "deploymentDefinition"), "image")
				delete(workload(o, 1, ""), "name")
			},
			wantErrs: []string{"spec.workloads[0].deploymentDefinition.image: Required value", "spec.workloads[1].name: Required value"},
		},
		"two stickiness keys": {
			manifest: validCAV,
			edit: func(o map[string]any) {
				workload(o, 0, "deploymentDefinition")["stickiness"] = map[string]any{"hash": map[string]any{"httpHeaderName": "x-user", "useSourceIp": true}}
			},
			wantErrs: []string{"spec.workloads[0].deploymentDefinition.stickiness.hash", "at most one of"},
		},
		"deletion rules with metrics and expression": {
			manifest: validCAV,
			edit: func(o map[string]any) {
				workload(o, 0, "deploymentDefinition")["monitoring"] = map[string]any{"deletionRules": map[string]any{
					"expression": "vector(1)",
					"metrics":    []any{map[string]any{"name": "m", "type": "Gauge", "calculationPeriod": "1h", "thresholdValue": "0.5"}},
				}}
			},
			wantErrs: []string{"spec.workloads[0].deploymentDefinition.monitoring.deletionRules", "exactly one of metrics or expression"},
		},
		"bad metric type, period and threshold": {
			manifest: validCAV,
			edit: func(o map[string]any) {
				workload(o, 0, "deploymentDefinition")["monitoring"] = map[string]any{"deletionRules": map[string]any{
					"metrics": []any{map[string]any{"name": "m", "type": "Summary", "calculationPeriod": "1 hour", "thresholdValue": "low"}},
				}}
			},
			wantErrs: []string{
				`metrics[0].type: Unsupported value: "Summary"`,
				`metrics[0].calculationPeriod: Invalid value: "1 hour"`,
				`metrics[0].thresholdValue: Invalid value: "low"`,
			},
		},
		"bad port network policy": {
			manifest: validCAV,
			edit: func(o map[string]any) {
				workload(o, 0, "deploymentDefinition")["ports"] = []any{map[string]any{"name": "p", "port": 4004, "networkPolicy": "World"}}
			},
			wantErrs: []string{`spec.workloads[0].deploymentDefinition.ports[0].networkPolicy: Unsupported value: "World"`},
		},
		"bad domain pattern and enums": {
			manifest: "apiVersion: sme.sap.com/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {domain: My.Example.com, ingressSelector: {istio: ingressgateway}, tlsMode: Strict, dnsMode: All}",
			wantErrs: []string{
				`spec.domain: Invalid value: "My.Example.com"`,
				`spec.tlsMode: Unsupported value: "Strict"`,
				`spec.dnsMode: Unsupported value: "All"`,
			},
		},
		"domain without ingress selector": {
			manifest: "apiVersion: sme.sap.com/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {domain: example.com}",
			wantErrs: []string{"spec.ingressSelector: Required value"},
		},
		"tenant missing tenantId and bad strategy": {
			manifest: "apiVersion: sme.sap.com/v1alpha1\nkind: CAPTenant\nmetadata: {name: t}\nspec: {capApplicationInstance: app, subDomain: s, versionUpgradeStrategy: sometimes}",
			wantErrs: []string{"spec.tenantId: Required value", `spec.versionUpgradeStrategy: Unsupported value: "sometimes"`},
		},
		"operation with bad operation and step type": {
			manifest: "apiVersion: sme.sap.com/v1alpha1\nkind: CAPTenantOperation\nmetadata: {name: o}\nspec: {operation: migrate, subDomain: s, tenantId: t, capApplicationVersionInstance: cav, steps: [{name: s, type: Content}]}",
			wantErrs: []string{`spec.operation: Unsupported value: "migrate"`, `spec.steps[0].type: Unsupported value: "Content"`},
		},
		"application without btp services and bad domain ref kind": {
			manifest: "apiVersion: sme.sap.com/v1alpha1\nkind: CAPApplication\nmetadata: {name: a}\nspec: {btpAppName: a, btp: {}, domainRefs: [{kind: Gateway, name: g}]}",
			wantErrs: []string{"spec.btp.services: Required value", `spec.domainRefs[0].kind: Unsupported value: "Gateway"`},
		},
	}
	env := testenv.Current()
	ns := env.NewNamespace(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tc.manifest), &obj.Object); err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(obj.Object)
			}
			obj.SetGenerateName("v-")
			obj.SetName("")
			obj.SetNamespace(ns)
			client := env.Dynamic().Resource(resourceFor(t, obj)).Namespace(ns)
			_, err := client.Create(context.Background(), obj, metav1.CreateOptions{})
			checkOutcome(t, exampleOutcome{rejected: tc.wantErrs, why: name}, err)
		})
	}
}

// spec returns the spec map of a decoded object.
func spec(obj map[string]any) map[string]any { return obj["spec"].(map[string]any) }

// workload returns workload i of a decoded CAPApplicationVersion, or one of its definitions.
func workload(obj map[string]any, i int, definition string) map[string]any {
	w := spec(obj)["workloads"].([]any)[i].(map[string]any)
	if definition == "" {
		return w
	}
	return w[definition].(map[string]any)
}

func TestDomainDefaults(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	client := versioned.NewForConfigOrDie(env.Config)
	dom := &smev1alpha1.Domain{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: ns},
		Spec:       smev1alpha1.DomainSpec{Domain: "example.com", IngressSelector: map[string]string{"istio": "ingressgateway"}},
	}
	got, err := client.SmeV1alpha1().Domains(ns).Create(context.Background(), dom, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.TLSMode != smev1alpha1.TLSModeSimple || got.Spec.DNSMode != smev1alpha1.DNSModeNone {
		t.Fatalf("defaults: tlsMode=%q dnsMode=%q, want Simple and None", got.Spec.TLSMode, got.Spec.DNSMode)
	}
}

func TestStatusSubresource(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1().CAPTenants(ns)
	cat := &smev1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: ns},
		Spec: smev1alpha1.CAPTenantSpec{CAPApplicationInstance: "app",
			BTPTenantIdentification: smev1alpha1.BTPTenantIdentification{SubDomain: "s", TenantId: "id"}},
		Status: smev1alpha1.CAPTenantStatus{State: smev1alpha1.CAPTenantStateReady},
	}
	created, err := client.Create(context.Background(), cat, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status.State != "" {
		t.Fatalf("create must not set status, got state %q", created.Status.State)
	}
	created.Status.State = smev1alpha1.CAPTenantStateProvisioning
	created.Status.ObservedGeneration = created.Generation
	updated, err := client.UpdateStatus(context.Background(), created, metav1.UpdateOptions{FieldManager: "test"})
	if err != nil {
		t.Fatalf("status update: %v", err)
	}
	if updated.Status.State != smev1alpha1.CAPTenantStateProvisioning || updated.Generation != created.Generation {
		t.Fatalf("status update: state %q generation %d", updated.Status.State, updated.Generation)
	}
	updated.Status.State = "Sleeping"
	_, err = client.UpdateStatus(context.Background(), updated, metav1.UpdateOptions{})
	if err == nil || !strings.Contains(err.Error(), `status.state: Unsupported value: "Sleeping"`) {
		t.Fatalf("expected the state enum to be enforced, got %v", err)
	}
}
