package domainsync

import (
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	gardenercertv1alpha1 "github.com/gardener/cert-management/pkg/apis/cert/v1alpha1"
	dnsv1alpha1 "github.com/gardener/external-dns-management/pkg/apis/dns/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestChildReadinessPassesReasonOn checks that a child that is not ready hands its own reason
// and message to the owner's condition message.
func TestChildReadinessPassesReasonOn(t *testing.T) {
	om := metav1.ObjectMeta{Namespace: "istio-system", Name: "cert", Generation: 2}
	cm := func(conds ...cmv1.CertificateCondition) readiness {
		return certManagerReadiness(&cmv1.Certificate{ObjectMeta: om, Status: cmv1.CertificateStatus{Conditions: conds}})
	}
	gardener := func(state string, msg *string) readiness {
		return gardenerReadiness(&gardenercertv1alpha1.Certificate{ObjectMeta: om,
			Status: gardenercertv1alpha1.CertificateStatus{State: state, Message: msg, ObservedGeneration: 2}})
	}
	dns := func(state string, msg *string) readiness {
		return dnsEntryReadiness(&dnsv1alpha1.DNSEntry{ObjectMeta: om, Spec: dnsv1alpha1.DNSEntrySpec{DNSName: "*.x.example.com"},
			Status: dnsv1alpha1.DNSEntryStatus{State: state, Message: msg}})
	}
	for _, tc := range []struct {
		name         string
		got          readiness
		wantNotReady string
		wantErr      string
	}{
		{"cert-manager ready", cm(cmv1.CertificateCondition{Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionTrue}), "", ""},
		{"cert-manager without conditions", cm(), "Certificate istio-system/cert is not ready", ""},
		{"cert-manager issuer missing",
			cm(cmv1.CertificateCondition{Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionFalse, Reason: "DoesNotExist",
				Message: `Issuing certificate as Secret does not exist; ClusterIssuer "letsencrypt" not found`}),
			`Certificate istio-system/cert is not ready (DoesNotExist: Issuing certificate as Secret does not exist; ClusterIssuer "letsencrypt" not found)`, ""},
		{"cert-manager ready of an older generation keeps waiting",
			cm(cmv1.CertificateCondition{Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionTrue, ObservedGeneration: 1}),
			"Certificate istio-system/cert is not ready", ""},
		{"cert-manager issuance failed",
			cm(cmv1.CertificateCondition{Type: cmv1.CertificateConditionIssuing, Status: cmmeta.ConditionFalse, Reason: "Failed", Message: "rate limited"}),
			"", "certificate istio-system/cert failed: rate limited"},
		{"gardener pending with message", gardener(gardenercertv1alpha1.StatePending, ptr.To("waiting for ACME challenge")),
			"Certificate istio-system/cert is not ready (Pending: waiting for ACME challenge)", ""},
		{"gardener pending without message", gardener(gardenercertv1alpha1.StatePending, nil), "Certificate istio-system/cert is not ready", ""},
		{"gardener error", gardener(gardenercertv1alpha1.StateError, ptr.To("no issuer")), "", "certificate istio-system/cert failed: no issuer"},
		{"dns pending with message", dns(dnsv1alpha1.STATE_PENDING, ptr.To("provider busy")),
			"DNSEntry istio-system/cert for *.x.example.com is not ready (Pending: provider busy)", ""},
		{"dns ready", dns(dnsv1alpha1.STATE_READY, nil), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.notReady != tc.wantNotReady {
				t.Errorf("notReady = %q\nwant       %q", tc.got.notReady, tc.wantNotReady)
			}
			gotErr := ""
			if tc.got.err != nil {
				gotErr = tc.got.err.Error()
			}
			if gotErr != tc.wantErr {
				t.Errorf("err = %q, want %q", gotErr, tc.wantErr)
			}
		})
	}
}
