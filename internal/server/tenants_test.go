package server

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/server/payload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestTenantName(t *testing.T) {
	longApp := strings.Repeat("a", 40)
	tests := map[string]struct {
		caName, tenantID string
		want             string
	}{
		"GUID tenant id":         {caName: "cap-app", tenantID: "5ecc7413-2b7e-414a-9496-ad4a61f6cccf", want: "cap-app-5ecc7413-2b7e-414a-9496-ad4a61f6cccf"},
		"upper case is hashed":   {caName: "cap-app", tenantID: "Tenant-1", want: "cap-app-" + identity.SHA256("Tenant-1")[:12]},
		"dots are hashed":        {caName: "cap-app", tenantID: "a.b", want: "cap-app-" + identity.SHA256("a.b")[:12]},
		"underscore is hashed":   {caName: "cap-app", tenantID: "a_b", want: "cap-app-" + identity.SHA256("a_b")[:12]},
		"long name is shortened": {caName: longApp, tenantID: "5ecc7413-2b7e-414a-9496-ad4a61f6cccf", want: identity.DNSLabel(longApp + "-5ecc7413-2b7e-414a-9496-ad4a61f6cccf")},
	}
	seen := map[string]string{}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := TenantName(tc.caName, tc.tenantID)
			if got != tc.want {
				t.Fatalf("TenantName(%q, %q) = %q, want %q", tc.caName, tc.tenantID, got, tc.want)
			}
			if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
				t.Fatalf("TenantName %q is not a DNS label: %v", got, errs)
			}
			if got != TenantName(tc.caName, tc.tenantID) {
				t.Fatal("TenantName is not deterministic")
			}
		})
		if other, ok := seen[tc.want]; ok {
			t.Errorf("cases %q and %q share the name %q", name, other, tc.want)
		}
		seen[tc.want] = name
	}
	// Tenant ids that differ only in case get different names.
	if TenantName("cap-app", "ABC") == TenantName("cap-app", "abc") {
		t.Error("tenant ids differing in case share a name")
	}
}

// TestNewTenantIsPrepared checks that the subscription server creates a tenant the tenant
// controller's prepare step has nothing to add to: identity labels and annotations, the
// finalizer, no owner reference, and the latest Ready version.
func TestNewTenantIsPrepared(t *testing.T) {
	ca := &v1alpha1.CAPApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns", Generation: 3},
		Spec:       v1alpha1.CAPApplicationSpec{BTPAppName: "btp-app", GlobalAccountId: "ga"},
	}
	sub := payload.Subscription{TenantID: "tid", Subdomain: "sub", GUID: "g1"}
	cat := newTenant(ca, sub, "app-tid", "app-tid-context", "1.2.3")
	wantLabels := map[string]string{
		v1alpha1.LabelAppIdentifierHash:   identity.AppHash("ga", "btp-app"),
		v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash("ns", "app"),
		v1alpha1.LabelOwnerGeneration:     "3",
		v1alpha1.LabelBTPTenantIdentifier: "tid",
	}
	for k, v := range wantLabels {
		if cat.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cat.Labels[k], v)
		}
	}
	wantAnnotations := map[string]string{
		v1alpha1.AnnotationAppIdentifier:   identity.AppID("ga", "btp-app"),
		v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID("ns", "app"),
	}
	for k, v := range wantAnnotations {
		if cat.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, cat.Annotations[k], v)
		}
	}
	if len(cat.Finalizers) != 1 || cat.Finalizers[0] != v1alpha1.FinalizerCAPTenant {
		t.Errorf("finalizers %v, want [%s]", cat.Finalizers, v1alpha1.FinalizerCAPTenant)
	}
	if len(cat.OwnerReferences) != 0 {
		t.Errorf("owner references %v, want none", cat.OwnerReferences)
	}
	if cat.Spec.Version != "1.2.3" {
		t.Errorf("version %q, want 1.2.3", cat.Spec.Version)
	}
}
