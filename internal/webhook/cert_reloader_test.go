package webhook

import (
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	certutil "k8s.io/client-go/util/cert"
)

// TestCertReloaderExportsExpiry checks cap_op_webhook_certificate_expiry_timestamp_seconds
// follows the certificate being served, across a reload.
func TestCertReloaderExportsExpiry(t *testing.T) {
	ca, dir, certFile, keyFile := servingCert(t)
	metrics := NewMetrics()
	r, err := NewCertReloader(certFile, keyFile, metrics)
	if err != nil {
		t.Fatal(err)
	}
	checkExpiry := func() {
		t.Helper()
		pemBytes, err := os.ReadFile(certFile)
		if err != nil {
			t.Fatal(err)
		}
		certs, err := certutil.ParseCertsPEM(pemBytes)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := testutil.ToFloat64(metrics.certExpiry), float64(certs[0].NotAfter.Unix()); got != want {
			t.Errorf("expiry gauge %v, want %v", got, want)
		}
	}
	checkExpiry()
	if _, _, err := ca.WriteServingCert(dir, 2); err != nil {
		t.Fatal(err)
	}
	changed, err := r.reload()
	if err != nil || !changed {
		t.Fatalf("reload: changed=%v err=%v", changed, err)
	}
	checkExpiry()
}
