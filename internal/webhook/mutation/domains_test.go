package mutation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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

// TestMigrateDomains checks the webhook's part of the domains migration: it makes no API
// writes, whoever posts the review (callers of the webhook are not authenticated); it
// references the objects that already serve every host at once, and otherwise leaves the
// domains to the CAPApplication controller, which creates the objects.
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
		refs     string   // JSON of the domainRefs patch value; "" means no patch
		warnings []string // substrings of the warnings
	}{
		"no domains": {op: admissionv1.Create, ca: withRefs},
		// The attack: a review forged by anyone who reaches the webhook used to create a
		// Domain and a ClusterDomain.
		"missing objects are left to the controller": {op: admissionv1.Create, ca: legacyApp("app.example.com", "alt.example.com"),
			warnings: []string{"Spec.Domains is deprecated", "the controller creates the missing Domain and ClusterDomain objects"}},
		"existing objects are referenced at once": {existing: []runtime.Object{existingDomain, existingCluster}, op: admissionv1.Create,
			ca:       legacyApp("app.example.com", "shared.example.com", "app.example.com"),
			refs:     `[{"kind":"Domain","name":"mine"},{"kind":"ClusterDomain","name":"shared"}]`,
			warnings: []string{"Automatically migrating spec.domains of CAPApplication ns/app"}},
		"partly existing objects are left to the controller": {existing: []runtime.Object{existingDomain}, op: admissionv1.Create,
			ca: legacyApp("app.example.com", "alt.example.com"), warnings: []string{"the controller creates"}},
		"update of an application without refs": {existing: []runtime.Object{existingDomain}, op: admissionv1.Update, ca: legacyApp("app.example.com"), old: legacyApp(""),
			refs: `[{"kind":"Domain","name":"mine"}]`},
		"update of an application with refs is left to validation": {op: admissionv1.Update, ca: legacyApp("app.example.com"), old: withRefs},
		"dry run": {op: admissionv1.Create, ca: legacyApp("app.example.com"), dryRun: true},
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
			for _, want := range tc.warnings {
				if !strings.Contains(strings.Join(res.Warnings, "\n"), want) {
					t.Errorf("warnings %q lack %q", res.Warnings, want)
				}
			}
			for _, a := range client.Actions() {
				if a.GetVerb() != "list" && a.GetVerb() != "get" {
					t.Errorf("the webhook wrote to the API: %s %s", a.GetVerb(), a.GetResource().Resource)
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
