// Package secretcache checks against a real kube-apiserver that the operator's caches stay
// small however many unrelated Secrets a cluster holds: Secrets are cached as metadata only,
// without managedFields, and no informer caches full Secrets.
package secretcache

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{SkipThirdPartyCRDs: true})
}
