// Package servertest provides loopback stand-ins for the SAP services the subscription server
// talks to (XSUAA's token, discovery and key endpoints, and the SaaS registry's or Subscription
// Manager's callback receiver), plus a throw-away PKI, for unit and integration tests.
package servertest

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"testing"
	"time"

	"github.com/capstan-io/capstan/internal/pki"
)

// CA is a test certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// Pool trusts only this CA.
	Pool *x509.CertPool
	// PEM is the CA certificate in PEM form.
	PEM []byte
}

// NewCA creates a certificate authority whose subject is name.
func NewCA(t testing.TB, name pkix.Name) *CA {
	t.Helper()
	kp, err := pki.SelfSign(pki.CATemplate(name, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	return newCA(kp)
}

// IssueCA creates an intermediate certificate authority signed by ca.
func (ca *CA) IssueCA(t testing.TB, name pkix.Name) *CA {
	t.Helper()
	kp, err := pki.Sign(pki.CATemplate(name, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)), ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return newCA(kp)
}

func newCA(kp *pki.KeyPair) *CA {
	pool := x509.NewCertPool()
	pool.AddCert(kp.Cert)
	return &CA{Cert: kp.Cert, Key: kp.Key, Pool: pool, PEM: kp.CertPEM}
}

// Leaf is a certificate issued by a CA, with its key.
type Leaf struct {
	Cert    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte
	TLS     tls.Certificate
}

// Issue creates a certificate for subject, valid for localhost and 127.0.0.1 as a server and
// usable as a client certificate.
func (ca *CA) Issue(t testing.TB, subject pkix.Name) *Leaf {
	t.Helper()
	kp, err := pki.Sign(&x509.Certificate{
		Subject:     subject,
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &Leaf{Cert: kp.Cert, CertPEM: kp.CertPEM, KeyPEM: kp.KeyPEM}
	if leaf.TLS, err = tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM); err != nil {
		t.Fatal(err)
	}
	return leaf
}
