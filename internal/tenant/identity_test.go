package tenant

import (
	"maps"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestTenantIdentity(t *testing.T) {
	ca := &v1alpha1.CAPApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns", Generation: 3},
		Spec:       v1alpha1.CAPApplicationSpec{BTPAppName: "btp-app", ProviderSubaccountId: "sub", GlobalAccountId: "ga"},
	}
	base := map[string]string{
		v1alpha1.LabelBTPTenantIdentifier: "tid",
		v1alpha1.LabelAppIdentifierHash:   identity.AppHash("sub", "btp-app"),
		v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash("ns", "app"),
		v1alpha1.LabelOwnerGeneration:     "3",
	}
	baseAnnotations := map[string]string{
		v1alpha1.AnnotationAppIdentifier:   identity.AppID("sub", "btp-app"),
		v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID("ns", "app"),
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := maps.Clone(m)
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	tests := map[string]struct {
		tenantType, guid string
		labels, annots   map[string]string
	}{
		"hand-made tenant: no type, no subscription": {labels: base, annots: baseAnnotations},
		"provider tenant": {
			tenantType: v1alpha1.TenantTypeProvider,
			labels:     with(base, v1alpha1.LabelTenantType, v1alpha1.TenantTypeProvider), annots: baseAnnotations,
		},
		"consumer tenant of a subscription": {
			tenantType: v1alpha1.TenantTypeConsumer, guid: "g1",
			labels: with(base, v1alpha1.LabelTenantType, v1alpha1.TenantTypeConsumer, v1alpha1.LabelSubscriptionGUID, "g1"),
			annots: with(baseAnnotations, v1alpha1.AnnotationSubscriptionGUID, "g1"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id := TenantIdentity(ca, "tid", tc.tenantType, tc.guid)
			if !maps.Equal(id.Labels, tc.labels) {
				t.Errorf("labels %v, want %v", id.Labels, tc.labels)
			}
			if !maps.Equal(id.Annotations, tc.annots) {
				t.Errorf("annotations %v, want %v", id.Annotations, tc.annots)
			}
		})
	}
}

func TestOperationIdentity(t *testing.T) {
	cat := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns", Generation: 2,
			Labels: map[string]string{v1alpha1.LabelAppIdentifierHash: "app-hash", v1alpha1.LabelTenantType: v1alpha1.TenantTypeConsumer,
				v1alpha1.LabelSubscriptionGUID: "g1", "unrelated": "x"},
			Annotations: map[string]string{v1alpha1.AnnotationSubscriptionGUID: "g1", v1alpha1.AnnotationSubscriptionContextSecret: "t-context"}},
		Spec: v1alpha1.CAPTenantSpec{BTPTenantIdentification: v1alpha1.BTPTenantIdentification{TenantId: "tid"}},
	}
	wantLabels := map[string]string{
		v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash("ns", "t"),
		v1alpha1.LabelOwnerGeneration:     "2",
		v1alpha1.LabelTenantOperationType: string(v1alpha1.CAPTenantOperationTypeProvisioning),
		v1alpha1.LabelBTPTenantIdentifier: "tid",
		v1alpha1.LabelAppIdentifierHash:   "app-hash",
		v1alpha1.LabelTenantType:          v1alpha1.TenantTypeConsumer,
		v1alpha1.LabelSubscriptionGUID:    "g1",
	}
	id := OperationIdentity(cat, v1alpha1.CAPTenantOperationTypeProvisioning)
	if !maps.Equal(id.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", id.Labels, wantLabels)
	}
	if id.Annotations[v1alpha1.AnnotationSubscriptionContextSecret] != "t-context" || id.Annotations[v1alpha1.AnnotationSubscriptionGUID] != "g1" ||
		id.Annotations[v1alpha1.AnnotationOwnerIdentifier] != identity.OwnerID("ns", "t") {
		t.Errorf("annotations %v", id.Annotations)
	}
	// Only a provisioning reads the subscription context.
	if _, ok := OperationIdentity(cat, v1alpha1.CAPTenantOperationTypeUpgrade).Annotations[v1alpha1.AnnotationSubscriptionContextSecret]; ok {
		t.Error("an upgrade names the subscription-context Secret")
	}
}
