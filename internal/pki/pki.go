// Package pki creates ECDSA P-256 certificates: certificate authorities and the certificates
// they sign. The webhook's certificate renewal uses it, and so do the throw-away PKIs of tests
// and the local environment, so that there is one way to make a certificate.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// KeyPair is a certificate with its private key.
type KeyPair struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// CertPEM is the certificate in PEM form.
	CertPEM []byte
	// KeyPEM is the key in PEM form (SEC 1, "EC PRIVATE KEY").
	KeyPEM []byte
}

// CATemplate is the template of a certificate authority with the given subject and validity.
func CATemplate(subject pkix.Name, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
}

// SelfSign creates a new key and a certificate from tmpl signed by that key, as a root CA is.
func SelfSign(tmpl *x509.Certificate) (*KeyPair, error) {
	return create(tmpl, nil, nil)
}

// Sign creates a new key and a certificate from tmpl signed by parent, whose key is parentKey.
// A template without a serial number gets a random one. tmpl is not modified.
func Sign(tmpl, parent *x509.Certificate, parentKey crypto.Signer) (*KeyPair, error) {
	if parent == nil || parentKey == nil {
		return nil, fmt.Errorf("signing a certificate needs the parent certificate and key")
	}
	return create(tmpl, parent, parentKey)
}

// create signs tmpl with parent and parentKey, or with the new key when parent is nil.
func create(tmpl, parent *x509.Certificate, parentKey crypto.Signer) (*KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	t := *tmpl
	if t.SerialNumber == nil {
		if t.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128)); err != nil {
			return nil, err
		}
	}
	if parent == nil {
		parent, parentKey = &t, key
	}
	der, err := x509.CreateCertificate(rand.Reader, &t, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: der})
	return &KeyPair{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}
