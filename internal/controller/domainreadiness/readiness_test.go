package domainreadiness

import (
	"testing"
	"time"

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
	cm := func(conds ...cmv1.CertificateCondition) State {
		return CertManager(&cmv1.Certificate{ObjectMeta: om, Status: cmv1.CertificateStatus{Conditions: conds}}, nil)
	}
	gardener := func(state string, msg *string) State {
		return Gardener(&gardenercertv1alpha1.Certificate{ObjectMeta: om,
			Status: gardenercertv1alpha1.CertificateStatus{State: state, Message: msg, ObservedGeneration: 2}})
	}
	dns := func(state string, msg *string) State {
		return DNSEntry(&dnsv1alpha1.DNSEntry{ObjectMeta: om, Spec: dnsv1alpha1.DNSEntrySpec{DNSName: "*.x.example.com"},
			Status: dnsv1alpha1.DNSEntryStatus{State: state, Message: msg}})
	}
	for _, tc := range []struct {
		name         string
		got          State
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
			if tc.got.NotReady != tc.wantNotReady {
				t.Errorf("notReady = %q\nwant       %q", tc.got.NotReady, tc.wantNotReady)
			}
			gotErr := ""
			if tc.got.Err != nil {
				gotErr = tc.got.Err.Error()
			}
			if gotErr != tc.wantErr {
				t.Errorf("err = %q, want %q", gotErr, tc.wantErr)
			}
		})
	}
}

// TestCertificateRequestReasonIsPassedOn checks that a cert-manager Certificate that is not
// Ready passes on the reason and message of its newest CertificateRequest that is not Ready,
// where cert-manager reports a missing issuer, and ignores the requests of other
// Certificates and of older revisions.
func TestCertificateRequestReasonIsPassedOn(t *testing.T) {
	cert := &cmv1.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "cert", UID: "cert-uid", Generation: 1},
		Status: cmv1.CertificateStatus{Conditions: []cmv1.CertificateCondition{
			{Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionFalse, Reason: "DoesNotExist", Message: "Issuing certificate as Secret does not exist"},
			{Type: cmv1.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, Reason: "DoesNotExist", Message: "Issuing certificate as Secret does not exist"},
		}}}
	const missing = `Referenced "ClusterIssuer" not found: clusterissuer.cert-manager.io "letsencrypt" not found`
	request := func(name, revision string, created time.Time, ready cmmeta.ConditionStatus, reason, message string) *cmv1.CertificateRequest {
		req := &cmv1.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: name,
			CreationTimestamp: metav1.NewTime(created),
			Annotations:       map[string]string{cmv1.CertificateRequestRevisionAnnotationKey: revision}}}
		if ready != "" {
			req.Status.Conditions = []cmv1.CertificateRequestCondition{{Type: cmv1.CertificateRequestConditionReady, Status: ready, Reason: reason, Message: message}}
		}
		return req
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const certPart = "Certificate istio-system/cert is not ready (DoesNotExist: Issuing certificate as Secret does not exist)"
	for _, tc := range []struct {
		name     string
		requests []*cmv1.CertificateRequest
		want     string
	}{
		{"no request yet", nil, certPart},
		{"issuer missing", []*cmv1.CertificateRequest{request("cert-1", "1", t0, cmmeta.ConditionFalse, "Pending", missing)},
			certPart + "; CertificateRequest istio-system/cert-1 is not ready (Pending: " + missing + ")"},
		{"the newest revision counts", []*cmv1.CertificateRequest{
			request("cert-2", "2", t0, cmmeta.ConditionFalse, "Pending", missing),
			request("cert-1", "1", t0.Add(time.Hour), cmmeta.ConditionFalse, "Failed", "old failure"),
		}, certPart + "; CertificateRequest istio-system/cert-2 is not ready (Pending: " + missing + ")"},
		{"the newest of one revision counts", []*cmv1.CertificateRequest{
			request("cert-a", "3", t0, cmmeta.ConditionFalse, "Failed", "old failure"),
			request("cert-b", "3", t0.Add(time.Minute), cmmeta.ConditionFalse, "Pending", "Waiting on certificate issuance from order"),
		}, certPart + "; CertificateRequest istio-system/cert-b is not ready (Pending: Waiting on certificate issuance from order)"},
		{"a Ready request adds nothing", []*cmv1.CertificateRequest{request("cert-1", "1", t0, cmmeta.ConditionTrue, "Issued", "Certificate fetched from issuer successfully")}, certPart},
		{"a request without conditions adds nothing", []*cmv1.CertificateRequest{request("cert-1", "1", t0, "", "", "")}, certPart},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CertManager(cert, tc.requests)
			if got.Err != nil || got.NotReady != tc.want {
				t.Errorf("readiness = %q (err %v)\nwant        %q", got.NotReady, got.Err, tc.want)
			}
		})
	}
	failed := cert.DeepCopy()
	failed.Status.Conditions = []cmv1.CertificateCondition{{Type: cmv1.CertificateConditionIssuing, Status: cmmeta.ConditionFalse, Reason: "Failed", Message: "The certificate request has failed to complete and will be retried"}}
	got := CertManager(failed, []*cmv1.CertificateRequest{request("cert-1", "1", t0, cmmeta.ConditionFalse, "Failed", "ACME order failed: rate limited")})
	want := "certificate istio-system/cert failed: The certificate request has failed to complete and will be retried; CertificateRequest istio-system/cert-1 is not ready (Failed: ACME order failed: rate limited)"
	if got.Err == nil || got.Err.Error() != want {
		t.Errorf("failed issuance: %v\nwant %s", got.Err, want)
	}
}
