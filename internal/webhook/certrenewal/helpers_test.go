package certrenewal

import (
	"crypto/tls"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// tlsKeyPair checks that a certificate and key belong together.
func tlsKeyPair(certPEM, keyPEM []byte) (tls.Certificate, error) {
	return tls.X509KeyPair(certPEM, keyPEM)
}

// conflictError is the API server's answer to a stale resourceVersion.
func conflictError() error {
	return apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, "capop-webhook-tls", nil)
}
