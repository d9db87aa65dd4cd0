// Package certrenewal keeps the webhook's serving certificate valid without a `helm upgrade`:
// it re-signs the certificate in the chart's Secret `<release>-webhook-tls` with the CA stored
// beside it before the certificate expires. The CA stays the same, so the caBundle of the
// webhook configurations stays valid; the pods pick up the new files through the Secret volume
// (webhook.CertReloader).
//
// Renew is the pure rule; Renewer applies it to the Secret periodically.
package certrenewal

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"strings"
	"time"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"

	"github.com/capstan-io/capstan/internal/pki"
)

// Keys of the Secret, as the chart writes them.
const (
	KeyCACert     = "ca.crt"
	KeyCAKey      = "ca.key"
	KeyCAExpiry   = "ca.expiry"
	KeyCert       = "tls.crt"
	KeyKey        = "tls.key"
	KeyCertExpiry = "tls.expiry"
)

// Config says which certificate to keep valid.
type Config struct {
	// Namespace and ServiceName give the DNS names of the certificate: the Service, with the
	// namespace, .svc and .svc.cluster.local suffixes, and localhost.
	Namespace, ServiceName string
	// Validity of a new serving certificate; it never outlives the CA.
	Validity time.Duration
	// RenewBefore is how long before its expiry a certificate is replaced.
	RenewBefore time.Duration
}

// DNSNames are the names a serving certificate must hold, the chart's list.
func (c Config) DNSNames() []string {
	svc, ns := c.ServiceName, c.Namespace
	return []string{svc, svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local", "localhost"}
}

// Result is the outcome of Renew.
type Result struct {
	// Data is the Secret data to write; nil when nothing changes.
	Data map[string][]byte
	// Reason says why the data changed, for the log.
	Reason string
	// NotAfter is the expiry of the serving certificate after the renewal (or of the current
	// one when nothing changes).
	NotAfter time.Time
}

// Renew decides whether the serving certificate in data must be replaced and returns the new
// data. A certificate is replaced when it is missing or unreadable, does not chain to the CA,
// lacks a DNS name, or expires within RenewBefore. The CA itself is never changed: a CA that is
// invalid, or expires before the renewal window, is an error (the chart replaces it on the next
// `helm upgrade`). It also records the CA's expiry in ca.expiry when it is missing, which the
// chart needs to know when to replace the CA.
func Renew(data map[string][]byte, cfg Config, now time.Time) (Result, error) {
	ca, caKey, err := parseCA(data)
	if err != nil {
		return Result{}, err
	}
	if !now.Before(ca.NotAfter) {
		return Result{}, fmt.Errorf("the webhook CA expired at %s; run helm upgrade to replace it", ca.NotAfter.UTC().Format(time.RFC3339))
	}
	out := copyData(data)
	var reasons []string
	if string(data[KeyCAExpiry]) == "" {
		out[KeyCAExpiry] = []byte(ca.NotAfter.UTC().Format(time.RFC3339))
		reasons = append(reasons, "recorded the CA expiry")
	}
	leaf, why := checkServing(data, ca, cfg, now)
	if why != "" {
		if ca.NotAfter.Sub(now) <= cfg.RenewBefore {
			return Result{}, fmt.Errorf("the serving certificate must be renewed (%s) but the webhook CA expires at %s; run helm upgrade to replace the CA", why, ca.NotAfter.UTC().Format(time.RFC3339))
		}
		certPEM, keyPEM, notAfter, err := sign(ca, caKey, cfg, now)
		if err != nil {
			return Result{}, err
		}
		out[KeyCert], out[KeyKey] = certPEM, keyPEM
		out[KeyCertExpiry] = []byte(notAfter.UTC().Format(time.RFC3339))
		reasons = append(reasons, why)
		return Result{Data: out, Reason: strings.Join(reasons, "; "), NotAfter: notAfter}, nil
	}
	if len(reasons) > 0 {
		return Result{Data: out, Reason: strings.Join(reasons, "; "), NotAfter: leaf.NotAfter}, nil
	}
	return Result{NotAfter: leaf.NotAfter}, nil
}

// parseCA reads the CA certificate and key.
func parseCA(data map[string][]byte) (*x509.Certificate, crypto.Signer, error) {
	certs, err := certutil.ParseCertsPEM(data[KeyCACert])
	if err != nil {
		return nil, nil, fmt.Errorf("secret key %s: %w", KeyCACert, err)
	}
	key, err := keyutil.ParsePrivateKeyPEM(data[KeyCAKey])
	if err != nil {
		return nil, nil, fmt.Errorf("secret key %s: %w", KeyCAKey, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("secret key %s: %T cannot sign", KeyCAKey, key)
	}
	ca := certs[0]
	if !ca.IsCA {
		return nil, nil, fmt.Errorf("secret key %s is not a CA certificate", KeyCACert)
	}
	return ca, signer, nil
}

// checkServing returns the serving certificate and an empty reason when it may stay, or the
// reason to replace it.
func checkServing(data map[string][]byte, ca *x509.Certificate, cfg Config, now time.Time) (*x509.Certificate, string) {
	certs, err := certutil.ParseCertsPEM(data[KeyCert])
	if err != nil {
		return nil, "the serving certificate is missing or unreadable"
	}
	if _, err := keyutil.ParsePrivateKeyPEM(data[KeyKey]); err != nil {
		return nil, "the serving key is missing or unreadable"
	}
	leaf := certs[0]
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, name := range cfg.DNSNames() {
		opts := x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if _, err := leaf.Verify(opts); err != nil {
			return nil, fmt.Sprintf("the serving certificate is not valid for %s under the CA: %v", name, err)
		}
	}
	if leaf.NotAfter.Sub(now) <= cfg.RenewBefore {
		return nil, fmt.Sprintf("the serving certificate expires at %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return leaf, ""
}

// sign creates a serving certificate for cfg signed by the CA, with a new ECDSA P-256 key.
func sign(ca *x509.Certificate, caKey crypto.Signer, cfg Config, now time.Time) (certPEM, keyPEM []byte, notAfter time.Time, err error) {
	// Certificates hold whole seconds; the result says exactly what the certificate says.
	notAfter = now.Add(cfg.Validity).UTC().Truncate(time.Second)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	kp, err := pki.Sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cfg.ServiceName + "." + cfg.Namespace + ".svc"},
		DNSNames:    cfg.DNSNames(),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		// A little slack for clocks that are behind.
		NotBefore:   now.Add(-5 * time.Minute),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("signing the serving certificate: %w", err)
	}
	return kp.CertPEM, kp.KeyPEM, notAfter, nil
}

// copyData copies Secret data, so that the input is never modified.
func copyData(data map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(data)+2)
	for k, v := range data {
		out[k] = v
	}
	return out
}
