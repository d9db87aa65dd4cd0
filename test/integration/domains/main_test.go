// Package domains runs the Domain and ClusterDomain controllers and the service-exposure
// reconciler against a real kube-apiserver with the real Istio, cert-manager and Gardener
// CRDs, so every object they write must pass those schemas.
//
// The real cert-manager and Gardener controllers cannot run here (cert-manager's cmd module
// is not served by the module proxy), so the tests play their part: they mark Certificates
// and DNSEntries Ready through the status subresource, as those controllers would.
package domains

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{})
}
