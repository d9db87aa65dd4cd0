package faults

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/test/framework"
)

// leaseName is the controller's leader-election Lease.
const leaseName = "capoperator-lease-lock"

// leaderTiming shortens leader election so that a standby replaces a dead leader within
// leaseDuration + 4.4 × retryPeriod = 16.8 s: it counts the lease duration from the last
// renewal it saw (at most 2.2 retry periods late) and then polls every 1 to 2.2 retry
// periods. With the defaults (15 s, 10 s, 5 s) the bound is 37 s.
var leaderTiming = []string{"--leader-elect=true", "--leader-elect-lease-duration=8s",
	"--leader-elect-renew-deadline=6s", "--leader-elect-retry-period=2s"}

// replica is a controller process running for leadership.
type replica struct {
	p          *framework.Process
	metricsURL string
}

// TestStandbyTakesOver runs two controller replicas with leader election while tenants are
// provisioned. The standby makes no API writes while the leader lives; after the leader is
// killed with SIGKILL the standby takes the Lease within -takeover-limit and finishes the
// provisioning, each Job created once. A graceful shutdown of the new leader then hands
// over to a third replica only after its workers stopped.
func TestStandbyTakesOver(t *testing.T) {
	f := newFixture(t)
	// The standby starts once the leader holds the Lease, so that it never even tries to
	// create the Lease: any write it makes counts against it.
	leader := f.startReplica()
	f.waitHolder(leader)
	standby := f.startReplica()
	f.readyApp()
	base := f.progress()
	n := max(*tenantsFlag/4, 10)
	f.createTenants("tenant", n)
	f.waitProgress(base+n/2, timeout)

	if w := writes(t, standby); w != 0 {
		t.Errorf("the standby made %v API writes while the leader lived", w)
	}
	if lines := standby.p.LogLines("Starting controllers"); len(lines) > 0 {
		t.Errorf("the standby started its controllers while the leader lived: %v", lines)
	}
	old := f.holder()
	leader.p.Kill()
	killed := time.Now()
	testenv.Eventually(t, timeout, func() (bool, error) {
		h := f.holder()
		return h != "" && h != old, nil
	})
	took := time.Since(killed)
	t.Logf("the standby took the Lease %s after the leader was killed", took.Round(10*time.Millisecond))
	if took > *takeoverFlag {
		t.Errorf("the standby took the Lease %s after the leader's death, want at most %s", took, *takeoverFlag)
	}
	f.waitHolder(standby)
	f.waitReady(timeout)
	f.checkProvisionedOnce()

	// Graceful handover: the leader stops its workers before it releases the Lease.
	third := f.startReplica()
	standby.p.Stop(t)
	testenv.Eventually(t, timeout, func() (bool, error) { return len(third.p.LogLines("Starting controllers")) > 0, nil })
	stoppedAt := lastLogTime(t, standby.p, "Workers stopped")
	startedAt := lastLogTime(t, third.p, "Starting controllers")
	if !stoppedAt.Before(startedAt) {
		t.Errorf("the new leader started its controllers at %s, before the old one's workers stopped at %s", startedAt, stoppedAt)
	}
}

// startReplica runs a controller with leader election on a known metrics port.
func (f *fixture) startReplica() *replica {
	f.t.Helper()
	port := freePort(f.t)
	args := append(f.controllerArgs(port), leaderTiming...)
	p := framework.StartAs(f.t, f.env, f.ids["controller"], "controller", args, "POD_NAMESPACE="+f.ns)
	return &replica{p: p, metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", port)}
}

// holder returns the Lease's holder identity ("" when there is none yet).
func (f *fixture) holder() string {
	l, err := f.env.Clientset().CoordinationV1().Leases(f.ns).Get(context.Background(), leaseName, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return ptr.Deref(l.Spec.HolderIdentity, "")
}

// waitHolder waits until the replica holds the Lease.
func (f *fixture) waitHolder(r *replica) {
	f.t.Helper()
	testenv.Eventually(f.t, timeout, func() (bool, error) {
		h := f.holder()
		return h != "" && strings.Contains(strings.Join(r.p.LogLines("Waiting for leadership"), ""), h), fmt.Errorf("lease holder %q", h)
	})
}

// writes returns the API requests other than reads a replica made (POST, PUT, PATCH,
// DELETE), from its cap_op_rest_client_requests_total.
func writes(t *testing.T, r *replica) float64 {
	t.Helper()
	resp, err := http.Get(r.metricsURL) //nolint:gosec // loopback URL of the test's process
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		sample, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(sample, "cap_op_rest_client_requests_total{") {
			continue
		}
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			if strings.Contains(sample, `method="`+m+`"`) {
				v, err := strconv.ParseFloat(value, 64)
				if err != nil {
					t.Fatalf("metric sample %q: %v", sc.Text(), err)
				}
				sum += v
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sum
}

// lastLogTime returns the time of the last klog line of p containing msg.
func lastLogTime(t *testing.T, p *framework.Process, msg string) time.Time {
	t.Helper()
	lines := p.LogLines(msg)
	if len(lines) == 0 {
		t.Fatalf("%s never logged %q", p.Name, msg)
	}
	ts, ok := framework.LogTime(lines[len(lines)-1], time.Now())
	if !ok {
		t.Fatalf("no klog header in %q", lines[len(lines)-1])
	}
	return ts
}
