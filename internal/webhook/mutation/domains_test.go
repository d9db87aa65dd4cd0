package mutation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
)

// legacyApp returns a CAPApplication "app" in ns with the deprecated domains.
func legacyApp(primary string, secondary ...v1alpha1.Hostname) *v1alpha1.CAPApplication {
	return &v1alpha1.CAPApplication{
		TypeMeta:   metav1.TypeMeta{APIVersion: "sme.sap.com/v1alpha1", Kind: "CAPApplication"},
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns"},
		Spec: v1alpha1.CAPApplicationSpec{BTPAppName: "app", Domains: &v1alpha1.ApplicationDomains{
			Primary: primary, Secondary: secondary, DnsTarget: "target.example.com",
			IstioIngressGatewayLabels: []v1alpha1.NameValue{{Name: "istio", Value: "gw"}},
		}},
	}
}

func caRequest(t *testing.T, op admissionv1.Operation, ca, old *v1alpha1.CAPApplication, dryRun bool) *admissionv1.AdmissionRequest {
	t.Helper()
	req := &admissionv1.AdmissionRequest{UID: "u", Operation: op, Name: ca.Name, Namespace: ca.Namespace, DryRun: ptr.To(dryRun),
		Kind:   metav1.GroupVersionKind{Group: "sme.sap.com", Version: "v1alpha1", Kind: "CAPApplication"},
		Object: runtime.RawExtension{Raw: []byte(mustJSON(t, ca))}}
	if old != nil {
		req.OldObject.Raw = []byte(mustJSON(t, old))
	}
	return req
}

func TestMigrateDomains(t *testing.T) {
	existingDomain := &v1alpha1.Domain{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: "ns"}, Spec: v1alpha1.DomainSpec{Domain: "app.example.com"}}
	existingCluster := &v1alpha1.ClusterDomain{ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Spec: v1alpha1.DomainSpec{Domain: "shared.example.com"}}
	withRefs := legacyApp("")
	withRefs.Spec.Domains, withRefs.Spec.DomainRefs = nil, []v1alpha1.DomainRef{{Kind: "Domain", Name: "x"}}
	tests := map[string]struct {
		existing []runtime.Object
		op       admissionv1.Operation
		ca, old  *v1alpha1.CAPApplication
		dryRun   bool
		// expectations
		refs        string // JSON of the domainRefs patch value; "" means no patch
		newDomains  int    // Domains in ns after the call
		newClusters int    // ClusterDomains after the call
	}{
		"no domains": {op: admissionv1.Create, ca: withRefs, newClusters: 0},
		"creates primary and secondary": {op: admissionv1.Create, ca: legacyApp("app.example.com", "alt.example.com"),
			refs: `[{"kind":"Domain","name":"app-primary"},{"kind":"ClusterDomain","name":""}]`, newDomains: 1, newClusters: 1},
		"reuses existing objects": {existing: []runtime.Object{existingDomain, existingCluster}, op: admissionv1.Create,
			ca:   legacyApp("app.example.com", "shared.example.com", "app.example.com"),
			refs: `[{"kind":"Domain","name":"mine"},{"kind":"ClusterDomain","name":"shared"}]`, newDomains: 1, newClusters: 1},
		"update of an application without refs": {op: admissionv1.Update, ca: legacyApp("app.example.com"), old: legacyApp(""),
			refs: `[{"kind":"Domain","name":"app-primary"}]`, newDomains: 1},
		"update of an application with refs is left to validation": {op: admissionv1.Update, ca: legacyApp("app.example.com"), old: withRefs},
		// The fake API ignores dry-run; the test checks the option was passed.
		"dry run": {op: admissionv1.Create, ca: legacyApp("app.example.com"), dryRun: true,
			refs: `[{"kind":"Domain","name":"app-primary"}]`, newDomains: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// NewSimpleClientset: the managed-fields tracker of NewClientset lacks our schemas.
			client := fake.NewSimpleClientset(tc.existing...)
			res, err := New(client).Mutate(context.Background(), caRequest(t, tc.op, tc.ca, tc.old, tc.dryRun))
			if err != nil || len(res.Errors) > 0 {
				t.Fatalf("Mutate: %v %v", err, res.Errors)
			}
			checkDomainPatch(t, res.Patch, tc.refs)
			if tc.refs != "" && !strings.Contains(strings.Join(res.Warnings, "\n"), "Automatically migrating") {
				t.Errorf("missing migration warning in %q", res.Warnings)
			}
			doms, _ := client.SmeV1alpha1().Domains("ns").List(context.Background(), metav1.ListOptions{})
			cdoms, _ := client.SmeV1alpha1().ClusterDomains().List(context.Background(), metav1.ListOptions{})
			if len(doms.Items) != tc.newDomains || len(cdoms.Items) != tc.newClusters {
				t.Fatalf("got %d Domains and %d ClusterDomains, want %d and %d", len(doms.Items), len(cdoms.Items), tc.newDomains, tc.newClusters)
			}
			for _, a := range client.Actions() {
				if create, ok := a.(k8stesting.CreateActionImpl); ok {
					if got := len(create.CreateOptions.DryRun) > 0; got != tc.dryRun {
						t.Errorf("create with dry-run %v, want %v", got, tc.dryRun)
					}
				}
			}
			for _, d := range doms.Items {
				if d.Name == "app-primary" && (d.Spec.DNSMode != v1alpha1.DNSModeWildcard || d.Spec.IngressSelector["istio"] != "gw" ||
					d.Annotations[v1alpha1.AnnotationMigratedToDomainRefs] != "ns/app" || d.Spec.DNSTarget != "") {
					t.Errorf("unexpected migrated Domain %+v", d)
				}
			}
		})
	}
}

// checkDomainPatch checks that the patch sets domainRefs to want and removes domains.
func checkDomainPatch(t *testing.T, patch any, want string) {
	t.Helper()
	data, _ := json.Marshal(patch)
	if want == "" {
		if string(data) != "null" {
			t.Fatalf("expected no patch, got %s", data)
		}
		return
	}
	var ops []struct {
		Op, Path string
		Value    json.RawMessage
	}
	if err := json.Unmarshal(data, &ops); err != nil || len(ops) != 2 {
		t.Fatalf("unexpected patch %s", data)
	}
	if ops[0].Path != "/spec/domainRefs" || string(ops[0].Value) != want || ops[1].Op != "remove" || ops[1].Path != "/spec/domains" {
		t.Fatalf("patch = %s, want domainRefs %s and domains removed", data, want)
	}
}
