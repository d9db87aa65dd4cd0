package server

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/capstan-io/capstan/internal/identity"
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
