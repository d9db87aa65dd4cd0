// Package credentials holds the end-to-end tests of the credential rollout: the controller
// binary runs as a process against a control plane with kube-controller-manager,
// kube-scheduler and kwok, so Deployments roll their pods for real.
package credentials

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{E2E: true})
}
