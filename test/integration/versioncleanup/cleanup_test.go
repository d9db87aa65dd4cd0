package versioncleanup

import (
	"fmt"
	"testing"

	"github.com/capstan-io/capstan/internal/controller/versioncleanup"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestIdleVersionDeletedBusyAndUsedKept runs one application with four versions: 1.0.0 is
// busy by its metrics, 2.0.0 idle, 3.0.0 run by a tenant and 4.0.0 the latest Ready. Only
// 2.0.0 may go.
func TestIdleVersionDeletedBusyAndUsedKept(t *testing.T) {
	ns := testenv.Current().NewNamespace(t)
	busy, idle := serveMetrics(t, 4), serveMetrics(t, 0)
	prom := startPrometheus(t, busy.target(ns, "1.0.0"), idle.target(ns, "2.0.0"))
	createApp(t, ns, "true")
	createVersion(t, ns, "1.0.0", gaugeRules(), true)
	createVersion(t, ns, "2.0.0", gaugeRules(), true)
	createVersion(t, ns, "3.0.0", nil, true)
	createVersion(t, ns, "4.0.0", nil, true)
	createTenant(t, ns, "consumer", "3.0.0")
	cctx := startCleanup(t, prom.URL)

	waitDeleted(t, ns, "2.0.0")
	waitEvent(t, ns, "2.0.0", versioncleanup.ReasonReadyForDeletion, "Version 2.0.0 is no longer used", "deleting it")
	// The busy version is evaluated every second; two verdicts after the deletion show the
	// controller went on deciding to keep it.
	base := evaluations(t, cctx, ns, "true", "in_use")
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		return evaluations(t, cctx, ns, "true", "in_use") >= base+2, nil
	})
	for _, v := range []string{"1.0.0", "3.0.0", "4.0.0"} {
		if !exists(t, ns, v) {
			t.Errorf("version %s was deleted", v)
		}
	}
	if notes := eventNotes(t, ns, "1.0.0", versioncleanup.ReasonReadyForDeletion); len(notes) != 0 {
		t.Errorf("busy version reported ready for deletion: %q", notes)
	}
	if got := counterValue(t, cctx, "cap_op_version_cleanup_deletions_total", map[string]string{"namespace": ns, "application": app, "result": "deleted"}); got != 1 {
		t.Errorf("deletions counted %v, want 1", got)
	}
}

// TestDryRunNeverDeletes evaluates an application in dry-run mode until both of its old
// versions, one without rules and one idle by its rules, were reported several times.
func TestDryRunNeverDeletes(t *testing.T) {
	ns := testenv.Current().NewNamespace(t)
	idle := serveMetrics(t, 0)
	prom := startPrometheus(t, idle.target(ns, "2.0.0"))
	createApp(t, ns, "dry-run")
	createVersion(t, ns, "1.0.0", nil, true)
	createVersion(t, ns, "2.0.0", gaugeRules(), true)
	createVersion(t, ns, "3.0.0", nil, true)
	cctx := startCleanup(t, prom.URL)

	for _, v := range []string{"1.0.0", "2.0.0"} {
		waitEvent(t, ns, v, versioncleanup.ReasonReadyForDeletion, fmt.Sprintf("Version %s is no longer used", v), "dry-run")
	}
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		return evaluations(t, cctx, ns, "dry-run", "eligible") >= 6, nil
	})
	for _, v := range []string{"1.0.0", "2.0.0", "3.0.0"} {
		if !exists(t, ns, v) {
			t.Errorf("version %s was deleted in dry-run mode", v)
		}
	}
}

// TestPrometheusStoppedDeletesNothing stops Prometheus while the controller runs and then
// makes the workload idle: the rule can no longer be evaluated, so the version stays, and a
// warning names the rule and the failure. A version without rules is still cleaned up.
// (With Prometheus running, the version would go at the next evaluation after a scrape saw
// no session: the expression looks at the current value only.)
func TestPrometheusStoppedDeletesNothing(t *testing.T) {
	ns := testenv.Current().NewNamespace(t)
	backend := serveMetrics(t, 3)
	prom := startPrometheus(t, backend.target(ns, "1.0.0"))
	// Idle means no session at this instant, so the version would go as soon as a scrape
	// saw the gauge at 0.
	expr := fmt.Sprintf(`scalar(sum(current_sessions{job=%q,namespace=%q})) <= bool 0`, job("1.0.0"), ns)
	createApp(t, ns, "true")
	createVersion(t, ns, "1.0.0", &v1alpha1.DeletionRules{Expression: expr}, true)
	createVersion(t, ns, "3.0.0", nil, true)
	cctx := startCleanup(t, prom.URL)
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		return evaluations(t, cctx, ns, "true", "in_use") >= 1, nil
	})

	if err := prom.Stop(); err != nil {
		t.Fatal(err)
	}
	backend.sessions.Set(0)
	// A version without rules, between the two, is still cleaned up without Prometheus.
	createVersion(t, ns, "2.0.0", nil, true)
	waitDeleted(t, ns, "2.0.0")
	waitEvent(t, ns, "1.0.0", versioncleanup.ReasonDeletionRuleFailed,
		"Version 1.0.0 is kept", `workload "backend": expression rule`, "connection refused", "evaluated again in 1s")
	base := evaluations(t, cctx, ns, "true", "failed")
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		return evaluations(t, cctx, ns, "true", "failed") >= base+2, nil
	})
	if !exists(t, ns, "1.0.0") {
		t.Error("version 1.0.0 was deleted while its rule could not be evaluated")
	}
	if got := evaluations(t, cctx, ns, "true", "eligible"); got != 1 {
		t.Errorf("eligible evaluations %v, want 1 (version 2.0.0 only)", got)
	}
}
