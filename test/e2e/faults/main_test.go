// Package faults holds the fault-injection tests of the operator (docs/security.md, "Failure
// behaviour"): the controller killed with SIGKILL while it provisions many tenants, the API
// server restarted mid-run, a standby replica taking over from a dead leader, and the
// webhook down for a while. The binaries run as processes against a control plane with
// kube-controller-manager, kube-scheduler and kwok, each with the token of its own
// ServiceAccount bound to the chart's RBAC, so every scenario also proves that the chart
// grants what the binaries use: a forbidden request fails the test.
//
// Sizes and durations are flags, e.g.
//
//	go test ./test/e2e/faults -args -tenants=200 -kills=20 -webhook-outage=1m
package faults

import (
	"flag"
	"testing"
	"time"

	"github.com/capstan-io/capstan/internal/testenv"
)

// Parameters of the scenarios.
var (
	tenantsFlag  = flag.Int("tenants", 200, "tenants provisioned while the controller is killed")
	killsFlag    = flag.Int("kills", 20, "SIGKILLs of the controller during the provisioning")
	seedFlag     = flag.Int64("seed", 0, "seed of the kill schedule; 0 picks one (logged)")
	outageFlag   = flag.Duration("webhook-outage", 20*time.Second, "how long the webhook is down")
	takeoverFlag = flag.Duration("takeover-limit", 20*time.Second, "longest time a standby may take to replace a dead leader")
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{E2E: true})
}
