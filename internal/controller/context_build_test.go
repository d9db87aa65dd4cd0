package controller

import (
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestStripCertManagerObject checks that the cache keeps a CertificateRequest's conditions
// but neither its PEM data nor its managedFields, and leaves Certificates' specs alone.
func TestStripCertManagerObject(t *testing.T) {
	managed := []metav1.ManagedFieldsEntry{{Manager: "cert-manager"}}
	req := &cmv1.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Name: "r", ManagedFields: managed},
		Spec: cmv1.CertificateRequestSpec{Request: []byte("csr")},
		Status: cmv1.CertificateRequestStatus{Certificate: []byte("cert"), CA: []byte("ca"),
			Conditions: []cmv1.CertificateRequestCondition{{Type: cmv1.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse, Reason: "Pending"}}}}
	got, err := stripCertManagerObject(req)
	if err != nil {
		t.Fatal(err)
	}
	r := got.(*cmv1.CertificateRequest)
	if r.Spec.Request != nil || r.Status.Certificate != nil || r.Status.CA != nil || r.ManagedFields != nil || len(r.Status.Conditions) != 1 {
		t.Errorf("stripped request: %+v", r)
	}
	cert := &cmv1.Certificate{ObjectMeta: metav1.ObjectMeta{Name: "c", ManagedFields: managed}, Spec: cmv1.CertificateSpec{SecretName: "s"}}
	if got, err := stripCertManagerObject(cert); err != nil || got.(*cmv1.Certificate).Spec.SecretName != "s" || got.(*cmv1.Certificate).ManagedFields != nil {
		t.Errorf("stripped certificate: %+v, %v", got, err)
	}
}
