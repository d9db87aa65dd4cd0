// Package controller holds the end-to-end tests of the controller binary: it runs as a
// process against a control plane with kube-controller-manager, kube-scheduler and kwok, so
// Deployments become Available and Jobs complete.
package controller

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{E2E: true})
}
