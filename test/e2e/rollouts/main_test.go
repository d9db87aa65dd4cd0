// Package rollouts holds the end-to-end tests of tenant rollouts under a CAPApplication's
// rolloutStrategy: the controller binary runs against a control plane with
// kube-controller-manager, kube-scheduler and kwok, so tenant-operation Jobs really run (and
// fail, for pods labelled testenv.FailPodLabel), and the kubectl-capop plugin binary watches
// and controls the rollout.
package rollouts

import (
	"flag"
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

// tenantCount is the number of consumer tenants of the rollout test. 200 works but takes
// several minutes on a shared two-core machine; the default keeps the test short.
var tenantCount = flag.Int("rollout-tenants", 30, "consumer tenants of TestRollout")

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{E2E: true})
}
