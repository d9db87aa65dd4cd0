// Package webhooktest helps tests of the webhook server: it writes a throw-away CA and a
// serving certificate signed by it, as a cluster's certificate manager would.
package webhooktest

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/capstan-io/capstan/internal/pki"
)

// CA is a certificate authority that signs serving certificates.
type CA struct {
	// PEM is the CA certificate, the caBundle of a webhook configuration.
	PEM []byte
	kp  *pki.KeyPair
}

// NewCA creates a CA valid for a day.
func NewCA() (*CA, error) {
	kp, err := pki.SelfSign(pki.CATemplate(pkix.Name{CommonName: "capstan-webhook-test-ca"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)))
	if err != nil {
		return nil, err
	}
	return &CA{PEM: kp.CertPEM, kp: kp}, nil
}

// WriteServingCert writes a certificate for 127.0.0.1 and localhost with the given serial to
// dir/tls.crt and dir/tls.key, replacing them atomically (as a Secret volume update does),
// and returns the two paths.
func (ca *CA) WriteServingCert(dir string, serial int64) (certFile, keyFile string, err error) {
	leaf, err := pki.Sign(&x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "capstan-webhook"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca.kp.Cert, ca.kp.Key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	files := map[string][]byte{keyFile: leaf.KeyPEM, certFile: leaf.CertPEM}
	for path, data := range files {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return "", "", err
		}
		if err := os.Rename(tmp, path); err != nil {
			return "", "", fmt.Errorf("replacing %s: %w", path, err)
		}
	}
	return certFile, keyFile, nil
}
