// Package children checks, against a real kube-apiserver with the real Istio, cert-manager,
// Gardener and prometheus-operator CRDs, the one drift rule every child the operator owns
// follows (controller.EnsureChild): a child whose spec is edited by hand is put back, a
// deleted child is created again (its deletion event enqueues the owner), and a sync that
// finds nothing drifted writes nothing.
//
// The Domain and CAPApplicationVersion controllers run in-process with the controller's
// REST requests recorded, so the tests count the writes of the controllers only. No
// controller-manager runs: Deployments never become available and nothing garbage-collects.
package children

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{})
}
