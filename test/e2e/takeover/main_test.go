// Package takeover holds the end-to-end test of taking over from the previous implementation
// (SAP's CAP Operator): the cluster holds the objects that implementation leaves behind
// (legacy identity labels, Secrets with its finalizer, a tenant in the middle of an upgrade
// with a step Job named by generateName, a Deployment with its wider selector), and the
// controller binary, started with leader election, must migrate them and converge without
// running any step twice.
package takeover

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{E2E: true})
}
