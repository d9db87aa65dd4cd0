// Package tenants holds the end-to-end tests of tenant lifecycle management: the controller
// binary (application, version, tenant and tenant-operation controllers) runs against a
// control plane with kube-controller-manager, kube-scheduler and kwok, so tenant-operation
// Jobs really run (and fail, for pods labelled testenv.FailPodLabel).
package tenants

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{E2E: true})
}
