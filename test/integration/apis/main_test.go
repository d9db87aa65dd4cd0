// Package apis holds the acceptance tests of the sme.sap.com/v1alpha1 CRDs against a real
// kube-apiserver: the published examples, schema validation, defaults, printer columns and
// kubectl explain.
package apis

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{})
}
