package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// CertReloader serves the TLS certificate of a key pair on disk and reloads it when the
// files change, so a rotated certificate (a renewed cert-manager Secret, or the chart's
// re-signed one) is used without a restart. The files are polled rather than watched: Secret
// volumes are updated by swapping a symlink, which file watches follow poorly, and a poll
// every few seconds costs nothing.
type CertReloader struct {
	certFile, keyFile string
	metrics           *Metrics

	mu   sync.RWMutex
	cert *tls.Certificate
	// sum is the digest of the files' content the current certificate was loaded from.
	sum [sha256.Size]byte
}

// NewCertReloader loads the key pair and fails if it cannot: a webhook without a certificate
// is of no use.
func NewCertReloader(certFile, keyFile string, metrics *Metrics) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile, metrics: metrics}
	if _, err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate returns the current certificate; it is the tls.Config hook.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert, nil
}

// Run polls the files every interval until ctx is done. A pair that does not load (the files
// are often rewritten one after the other) keeps the previous certificate and is retried at
// the next poll.
func (r *CertReloader) Run(ctx context.Context, interval time.Duration) {
	logger := klog.FromContext(ctx)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		changed, err := r.reload()
		if err != nil {
			logger.Error(err, "Reloading the serving certificate failed; keeping the previous one")
			r.metrics.certReloaded(err)
			continue
		}
		if changed {
			logger.Info("Reloaded the serving certificate", "cert", r.certFile)
			r.metrics.certReloaded(nil)
		}
	}
}

// reload loads the pair if the files' content differs from the loaded one.
func (r *CertReloader) reload() (changed bool, err error) {
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return false, fmt.Errorf("reading the certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return false, fmt.Errorf("reading the key: %w", err)
	}
	sum := sha256.Sum256(append(append(certPEM, 0), keyPEM...))
	r.mu.RLock()
	same := r.cert != nil && sum == r.sum
	r.mu.RUnlock()
	if same {
		return false, nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("loading the key pair %s, %s: %w", r.certFile, r.keyFile, err)
	}
	r.mu.Lock()
	r.cert, r.sum = &cert, sum
	r.mu.Unlock()
	// X509KeyPair parses the leaf; it is nil only if parsing were turned off (x509keypairleaf=0).
	if cert.Leaf != nil {
		r.metrics.certLoaded(cert.Leaf.NotAfter)
	}
	return true, nil
}
