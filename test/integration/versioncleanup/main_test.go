// Package versioncleanup runs the version-cleanup controller against a real kube-apiserver
// and a real Prometheus server. Each test serves the metrics of its workloads from the test
// process; Prometheus scrapes them every second with the job and namespace labels a
// ServiceMonitor would give them, and the controller evaluates every second.
//
// The tests run one after another: each starts its own controller, which looks at every
// namespace, and its own Prometheus.
package versioncleanup

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{SkipThirdPartyCRDs: true})
}
