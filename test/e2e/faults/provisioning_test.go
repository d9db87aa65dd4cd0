package faults

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestControllerKilledDuringProvisioning provisions many tenants while the controller is
// killed with SIGKILL at random moments and started again each time, as its Deployment
// would: every tenant ends Ready, provisioned by one operation whose step Jobs were each
// created once. The moments are random points of the run's progress (Jobs created plus
// tenants Ready), so kills fall between creating a Job and recording it, between a Job's
// completion and the status update, and everywhere else; when the run has passed several
// points before a kill, the next controller is killed while it starts.
func TestControllerKilledDuringProvisioning(t *testing.T) {
	f := newFixture(t)
	ctl := f.startController()
	f.readyApp()
	base := f.progress()
	n, kills := *tenantsFlag, *killsFlag
	schedule := killSchedule(t, kills, 2*n)
	f.createTenants("tenant", n)
	for i, at := range schedule {
		f.waitProgress(base+at, timeout)
		ctl.Kill()
		t.Logf("kill %d at progress %d of %d", i+1, f.progress()-base, 2*n)
		ctl = f.startController()
	}
	f.waitReady(timeout)
	f.checkProvisionedOnce()
}

// killSchedule returns kills distinct progress points in [1, events), sorted, from a logged
// seed (-seed repeats a run).
func killSchedule(t *testing.T, kills, events int) []int {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("kill schedule seed %d (rerun with -args -seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	kills = min(kills, events-1)
	at := rng.Perm(events - 1)[:kills]
	for i := range at {
		at[i]++
	}
	slices.Sort(at)
	return at
}

// TestAPIServerRestart restarts kube-apiserver while tenants are provisioned: the controller
// (not restarted) and the rest of the control plane reconnect by themselves, every tenant
// ends Ready once, and tenants created after the restart are provisioned too.
func TestAPIServerRestart(t *testing.T) {
	f := newFixture(t)
	ctl := f.startController()
	f.readyApp()
	base := f.progress()
	n := max(*tenantsFlag/4, 10)
	f.createTenants("before", n)
	f.waitProgress(base+n/2, timeout)
	began, before := time.Now(), f.progress()-base
	if err := f.env.RestartAPIServer(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// Until it is ready, a starting API server forbids requests: its authorizer has not
	// loaded the RBAC objects yet. Forbidden requests after that would be missing permissions.
	ready := time.Now()
	ctl.AllowForbiddenUntil(ready)
	t.Logf("kube-apiserver stopped at %s at progress %d of %d, ready again at %s (%s)", began.Format(time.TimeOnly), before, 2*n,
		ready.Format(time.StampMicro), ready.Sub(began).Round(time.Millisecond))
	f.createTenants("after", n/2)
	f.waitReady(timeout)
	if exited, code := ctl.Exited(); exited {
		t.Errorf("the controller exited (code %d) during the API server's restart", code)
	}
	f.checkProvisionedOnce()
}
