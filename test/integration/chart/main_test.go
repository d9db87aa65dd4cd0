// Package chart tests the Helm chart in chart/: it is linted, rendered with several value sets,
// every rendered object is sent to a real kube-apiserver with server-side dry-run, the key facts
// of the manifests are checked, and the chart is installed and upgraded for real (the plain test
// environment has no scheduler, so pods never run; the objects are what is tested).
//
// helm is the binary hack/install-tools.sh builds into <repo>/.cache/bin.
package chart

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{})
}
