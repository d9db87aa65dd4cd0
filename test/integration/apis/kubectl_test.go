package apis

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestKubectlGetShowsPrinterColumns(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	manifest := strings.ReplaceAll(`
apiVersion: sme.sap.com/v1alpha1
kind: CAPApplicationVersion
metadata: {name: cav-1, namespace: NS}
spec:
  capApplicationInstance: app
  version: "1.0.0"
  workloads: [{name: cap, consumedBTPServices: [], deploymentDefinition: {type: CAP, image: i}}]
---
apiVersion: sme.sap.com/v1alpha1
kind: CAPTenant
metadata: {name: tenant-1, namespace: NS}
spec: {capApplicationInstance: app, subDomain: sub-1, tenantId: t1}
---
apiVersion: sme.sap.com/v1alpha1
kind: CAPTenantOperation
metadata: {name: op-1, namespace: NS}
spec: {operation: upgrade, subDomain: sub-1, tenantId: t1, capApplicationVersionInstance: cav-1, steps: [{name: s, type: TenantOperation}]}
---
apiVersion: sme.sap.com/v1alpha1
kind: Domain
metadata: {name: dom-1, namespace: NS}
spec: {domain: example.com, ingressSelector: {istio: ingressgateway}}
---
apiVersion: sme.sap.com/v1alpha1
kind: CAPApplication
metadata: {name: app, namespace: NS}
spec: {btpAppName: app, globalAccountId: ga, btp: {services: []}, domainRefs: [{kind: Domain, name: dom-1}]}
---
apiVersion: sme.sap.com/v1alpha1
kind: ClusterDomain
metadata: {name: NS-cdom}
spec: {domain: NS.example.com, ingressSelector: {istio: ingressgateway}}
`, "NS", ns)
	t.Cleanup(func() {
		_, _ = env.Kubectl("delete", "clusterdomain", ns+"-cdom", "--ignore-not-found", "--wait=false")
	})
	path := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := env.Kubectl("apply", "-f", path); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	tests := map[string]struct {
		args    []string
		headers []string
		row     []string
	}{
		"cav":  {args: []string{"get", "cav"}, headers: []string{"NAME", "AGE", "STATE", "VERSION"}, row: []string{"cav-1", "1.0.0"}},
		"cat":  {args: []string{"get", "cat"}, headers: []string{"NAME", "AGE", "STATE", "SUBDOMAIN", "CURRENT VERSION"}, row: []string{"tenant-1", "sub-1"}},
		"ctop": {args: []string{"get", "ctop"}, headers: []string{"NAME", "OPERATION", "AGE", "STATE", "STEP", "JOB"}, row: []string{"op-1", "upgrade"}},
		// The Ready condition's reason is a priority-1 column: shown with -o wide.
		"cat-wide":  {args: []string{"get", "cat", "-o", "wide"}, headers: []string{"NAME", "AGE", "STATE", "SUBDOMAIN", "CURRENT VERSION", "REASON"}, row: []string{"tenant-1"}},
		"ctop-wide": {args: []string{"get", "ctop", "-o", "wide"}, headers: []string{"NAME", "OPERATION", "AGE", "STATE", "STEP", "JOB", "REASON"}, row: []string{"op-1"}},
		"cav-wide":  {args: []string{"get", "cav", "-o", "wide"}, headers: []string{"NAME", "AGE", "STATE", "VERSION", "REASON"}, row: []string{"cav-1"}},
		"dom-wide":  {args: []string{"get", "dom", "-o", "wide"}, headers: []string{"NAME", "DOMAIN", "AGE", "STATE", "REASON"}, row: []string{"dom-1"}},
		"ca-wide":   {args: []string{"get", "ca", "-o", "wide"}, headers: []string{"NAME", "AGE", "STATE", "REASON", "ROLLOUT", "TARGET", "PROGRESS"}, row: []string{"app"}},
		"cdom-wide": {args: []string{"get", "cdom", "-o", "wide"}, headers: []string{"NAME", "DOMAIN", "AGE", "STATE", "REASON"}, row: []string{ns + "-cdom"}},
		"dom":       {args: []string{"get", "dom"}, headers: []string{"NAME", "DOMAIN", "AGE", "STATE"}, row: []string{"dom-1", "example.com"}},
		"shared":    {args: []string{"get", "cap"}, row: []string{"capapplicationversion.sme.sap.com/cav-1", "captenant.sme.sap.com/tenant-1", "captenantoperation.sme.sap.com/op-1", "domain.sme.sap.com/dom-1"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := env.Kubectl(append(tc.args, "-n", ns)...)
			if err != nil {
				t.Fatalf("kubectl %v: %v\n%s", tc.args, err, out)
			}
			if len(tc.headers) > 0 {
				header := strings.SplitN(out, "\n", 2)[0]
				if got := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(header), -1); strings.Join(got, "|") != strings.Join(tc.headers, "|") {
					t.Errorf("columns %q, want %q", got, tc.headers)
				}
			}
			for _, s := range tc.row {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

func TestKubectlExplainShowsDocs(t *testing.T) {
	env := testenv.Current()
	tests := map[string][]string{
		"capapplicationversion.spec.workloads.deploymentDefinition.ports": {"Ports the workload listens on", "routerDestinationName", "networkPolicy"},
		"capapplication.spec.providerSubaccountId":                        {"SAP BTP subaccount that provides the application"},
		"captenant.spec.versionUpgradeStrategy":                           {"never keeps the tenant on its version"},
		"domain.spec.dnsTemplates":                                        {"Go templates", ".subDomain"},
		"clusterdomain.spec.tlsMode":                                      {"Simple, Mutual or OptionalMutual"},
		// Embedded Kubernetes types keep their first level of documentation (hack/crdtrim).
		"capapplicationversion.spec.workloads.deploymentDefinition.volumes": {"Volumes of the pod", "persistentVolumeClaim", "configMap represents a configMap"},
	}
	for field, want := range tests {
		t.Run(field, func(t *testing.T) {
			out, err := env.Kubectl("explain", field)
			if err != nil {
				t.Fatalf("kubectl explain: %v\n%s", err, out)
			}
			for _, s := range want {
				if !strings.Contains(strings.Join(strings.Fields(out), " "), s) {
					t.Errorf("explain output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

// warningRecorder collects the warnings the API server returns.
type warningRecorder struct {
	mu       sync.Mutex
	messages []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *warningRecorder) HandleWarningHeader(_ int, _ string, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = append(w.messages, message)
}

func TestCRDsApplyWithoutWarnings(t *testing.T) {
	env := testenv.Current()
	files, err := filepath.Glob(filepath.Join(env.RepoRoot, "crds", "*.yaml"))
	if err != nil || len(files) != 7 {
		t.Fatalf("expected 7 CRD files, got %d (%v)", len(files), err)
	}
	recorder := &warningRecorder{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = recorder
	client := apiextensionsclient.NewForConfigOrDie(cfg).ApiextensionsV1().CustomResourceDefinitions()
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		// A dry-run update runs every CRD validation and returns its warnings without
		// touching the installed definition.
		existing, err := client.Get(context.Background(), crd.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		crd.ResourceVersion = existing.ResourceVersion
		if _, err := client.Update(context.Background(), crd, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("%s: %v", filepath.Base(file), err)
		}
	}
	if len(recorder.messages) > 0 {
		t.Fatalf("the API server warned about the CRDs:\n%s", strings.Join(recorder.messages, "\n"))
	}
}
