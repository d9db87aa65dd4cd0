package pki

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

func TestSignChainsToCA(t *testing.T) {
	now := time.Now()
	ca, err := SelfSign(CATemplate(pkix.Name{CommonName: "root"}, now.Add(-time.Hour), now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.IsCA || ca.Cert.SerialNumber.Sign() <= 0 {
		t.Fatalf("CA: IsCA=%v serial=%v", ca.Cert.IsCA, ca.Cert.SerialNumber)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "leaf"}, DNSNames: []string{"localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leaf, err := Sign(tmpl, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"}); err != nil {
		t.Errorf("leaf does not chain to the CA: %v", err)
	}
	if leaf.Cert.SerialNumber.Int64() != 7 {
		t.Errorf("serial %v, want the template's 7", leaf.Cert.SerialNumber)
	}
	if _, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM); err != nil {
		t.Errorf("PEM pair: %v", err)
	}
	if _, err := Sign(tmpl, nil, nil); err == nil {
		t.Error("Sign without a parent: no error")
	}
}
