package rollout

import (
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

var t0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

// cav returns a Ready version.
func cav(version string) *v1alpha1.CAPApplicationVersion {
	v := &v1alpha1.CAPApplicationVersion{ObjectMeta: metav1.ObjectMeta{Name: "app-" + version}}
	v.Spec.Version = version
	return v
}

// tn builds a tenant: it runs current (version), wants spec and is in state.
func tn(name, current, spec string, state v1alpha1.CAPTenantState, lbls ...string) *v1alpha1.CAPTenant {
	t := &v1alpha1.CAPTenant{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	t.Spec.TenantId = "id-" + name
	t.Spec.Version = spec
	t.Status.State = state
	if current != "" {
		t.Status.CurrentCAPApplicationVersionInstance = "app-" + current
	}
	for i := 0; i+1 < len(lbls); i += 2 {
		t.Labels[lbls[i]] = lbls[i+1]
	}
	return t
}

// fleet returns n Ready tenants on version 1, named prefix-00...
func fleet(prefix string, n int, lbls ...string) []*v1alpha1.CAPTenant {
	var out []*v1alpha1.CAPTenant
	for i := range n {
		out = append(out, tn(fmt.Sprintf("%s-%02d", prefix, i), "1", "1", v1alpha1.CAPTenantStateReady, lbls...))
	}
	return out
}

// failedWith sets a tenant's Ready message.
func failedWith(t *v1alpha1.CAPTenant, msg string) *v1alpha1.CAPTenant {
	t.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionTypeReady, Status: metav1.ConditionTrue, Reason: "UpgradeFailed", Message: msg}}
	return t
}

func tenantNames(ts []*v1alpha1.CAPTenant) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

var canary = v1alpha1.RolloutWave{Name: "canary", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"canary": "true"}}}

func TestCompute(t *testing.T) {
	pct := func(s string) *intstr.IntOrString { return ptr.To(intstr.FromString(s)) }
	num := func(n int) *intstr.IntOrString { return ptr.To(intstr.FromInt32(int32(n))) }
	canaryPause := canary
	canaryPause.PauseAfter = true
	canaryGate := canary
	canaryGate.HealthGate = &metav1.Duration{Duration: 5 * time.Minute}
	done := func(ws ...string) *v1alpha1.RolloutStatus {
		st := &v1alpha1.RolloutStatus{TargetVersion: "2", Phase: v1alpha1.RolloutPhaseProgressing}
		for _, w := range ws {
			st.Waves = append(st.Waves, v1alpha1.RolloutWaveStatus{Name: w, CompletionTime: &metav1.Time{Time: t0.Add(-time.Minute)}})
		}
		return st
	}
	cases := []struct {
		name     string
		strategy v1alpha1.RolloutStrategy
		tenants  []*v1alpha1.CAPTenant
		prev     *v1alpha1.RolloutStatus
		action   string
		now      time.Time
		moved    map[string]string
		// want
		upgrade, provision, retry []string
		phase                     v1alpha1.RolloutPhase
		wave                      string
		requeue                   time.Duration
	}{{
		name:     "percent maxParallel rounds up: 25% of 10 is 3",
		strategy: v1alpha1.RolloutStrategy{MaxParallel: pct("25%")},
		tenants:  fleet("t", 10),
		upgrade:  []string{"t-00", "t-01", "t-02"}, phase: v1alpha1.RolloutPhaseProgressing, wave: RestWave,
	}, {
		name:     "moves the cache does not show yet count as running",
		strategy: v1alpha1.RolloutStrategy{MaxParallel: num(3)},
		tenants:  fleet("t", 5),
		moved:    map[string]string{"t-00": "2", "t-01": "2"},
		upgrade:  []string{"t-02"}, phase: v1alpha1.RolloutPhaseProgressing, wave: RestWave,
	}, {
		name:     "a tiny percentage still moves one tenant",
		strategy: v1alpha1.RolloutStrategy{MaxParallel: pct("1%")},
		tenants:  fleet("t", 10),
		upgrade:  []string{"t-00"}, phase: v1alpha1.RolloutPhaseProgressing, wave: RestWave,
	}, {
		name:     "running upgrades use up maxParallel",
		strategy: v1alpha1.RolloutStrategy{MaxParallel: num(3)},
		tenants:  append(fleet("t", 5), tn("a-run", "1", "2", v1alpha1.CAPTenantStateUpgrading), tn("a-bumped", "1", "2", v1alpha1.CAPTenantStateReady)),
		upgrade:  []string{"t-00"}, phase: v1alpha1.RolloutPhaseProgressing, wave: RestWave,
	}, {
		name:     "canary wave first; a tenant selected by two waves belongs to the first",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{{Name: "provider", TenantIds: []string{"id-c-00"}}, canary}},
		tenants:  append(fleet("c", 3, "canary", "true"), fleet("t", 3)...),
		upgrade:  []string{"c-00"}, phase: v1alpha1.RolloutPhaseProgressing, wave: "provider",
	}, {
		name:     "second wave after the first is done",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{{Name: "provider", TenantIds: []string{"id-c-00"}}, canary}},
		tenants:  append([]*v1alpha1.CAPTenant{tn("c-00", "2", "2", v1alpha1.CAPTenantStateReady, "canary", "true")}, append(fleet("c", 3, "canary", "true")[1:], fleet("t", 3)...)...),
		upgrade:  []string{"c-01", "c-02"}, phase: v1alpha1.RolloutPhaseProgressing, wave: "canary",
	}, {
		name:     "pauseAfter holds after the wave",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canaryPause}},
		tenants:  append([]*v1alpha1.CAPTenant{tn("c-00", "2", "2", v1alpha1.CAPTenantStateReady, "canary", "true")}, fleet("t", 3)...),
		phase:    v1alpha1.RolloutPhaseWaitingForResume, wave: "canary",
	}, {
		name:     "resume releases the hold",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canaryPause}},
		tenants:  append([]*v1alpha1.CAPTenant{tn("c-00", "2", "2", v1alpha1.CAPTenantStateReady, "canary", "true")}, fleet("t", 3)...),
		prev:     &v1alpha1.RolloutStatus{TargetVersion: "2", Phase: v1alpha1.RolloutPhaseWaitingForResume, CurrentWave: "canary"},
		action:   v1alpha1.RolloutActionResume,
		upgrade:  []string{"t-00", "t-01", "t-02"}, phase: v1alpha1.RolloutPhaseProgressing, wave: RestWave,
	}, {
		name:     "health gate holds until the wave was Ready long enough",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canaryGate}},
		tenants:  append([]*v1alpha1.CAPTenant{tn("c-00", "2", "2", v1alpha1.CAPTenantStateReady, "canary", "true")}, fleet("t", 3)...),
		prev:     done("canary"),
		phase:    v1alpha1.RolloutPhaseHealthGate, wave: "canary", requeue: 4 * time.Minute,
	}, {
		name:     "health gate passed",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canaryGate}},
		tenants:  append([]*v1alpha1.CAPTenant{tn("c-00", "2", "2", v1alpha1.CAPTenantStateReady, "canary", "true")}, fleet("t", 2)...),
		prev:     done("canary"),
		now:      t0.Add(5 * time.Minute),
		upgrade:  []string{"t-00", "t-01"}, phase: v1alpha1.RolloutPhaseProgressing, wave: RestWave,
	}, {
		name:     "a failed canary halts; later waves stay untouched",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary}},
		tenants:  append([]*v1alpha1.CAPTenant{tn("c-00", "1", "2", v1alpha1.CAPTenantStateUpgradeError, "canary", "true"), tn("c-01", "1", "1", v1alpha1.CAPTenantStateReady, "canary", "true")}, fleet("t", 3)...),
		phase:    v1alpha1.RolloutPhaseHalted, wave: "",
	}, {
		name:     "a halt is kept while the failed tenant retries on its own",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary}},
		tenants:  append([]*v1alpha1.CAPTenant{tn("c-00", "1", "2", v1alpha1.CAPTenantStateUpgrading, "canary", "true"), tn("c-01", "1", "1", v1alpha1.CAPTenantStateReady, "canary", "true")}, fleet("t", 3)...),
		prev:     &v1alpha1.RolloutStatus{TargetVersion: "2", Phase: v1alpha1.RolloutPhaseHalted},
		phase:    v1alpha1.RolloutPhaseHalted,
	}, {
		name:     "retry retries the failed tenants and continues the wave",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary}},
		tenants:  append([]*v1alpha1.CAPTenant{tn("c-00", "1", "2", v1alpha1.CAPTenantStateUpgradeError, "canary", "true"), tn("c-01", "1", "1", v1alpha1.CAPTenantStateReady, "canary", "true")}, fleet("t", 3)...),
		prev:     &v1alpha1.RolloutStatus{TargetVersion: "2", Phase: v1alpha1.RolloutPhaseHalted},
		action:   v1alpha1.RolloutActionRetry,
		retry:    []string{"c-00"}, upgrade: []string{"c-01"}, phase: v1alpha1.RolloutPhaseProgressing, wave: "canary",
	}, {
		name:     "retry of a finished wave's failures keeps later waves waiting",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary}},
		tenants:  append([]*v1alpha1.CAPTenant{tn("c-00", "1", "2", v1alpha1.CAPTenantStateUpgradeError, "canary", "true"), tn("c-01", "2", "2", v1alpha1.CAPTenantStateReady, "canary", "true")}, fleet("t", 3)...),
		prev:     &v1alpha1.RolloutStatus{TargetVersion: "2", Phase: v1alpha1.RolloutPhaseHalted},
		action:   v1alpha1.RolloutActionRetry,
		retry:    []string{"c-00"}, phase: v1alpha1.RolloutPhaseProgressing, wave: "canary",
	}, {
		name:     "a retried tenant still in error does not halt again",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary}},
		tenants:  append([]*v1alpha1.CAPTenant{tn("c-00", "1", "2", v1alpha1.CAPTenantStateUpgradeError, "canary", "true")}, fleet("t", 1)...),
		prev:     &v1alpha1.RolloutStatus{TargetVersion: "2", Phase: v1alpha1.RolloutPhaseProgressing, RetriedTenants: []v1alpha1.RetriedTenant{{Name: "c-00", Failure: Failure(&v1alpha1.CAPTenant{})}}},
		phase:    v1alpha1.RolloutPhaseProgressing, wave: "canary",
	}, {
		name:     "a retried tenant failing anew halts again",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary}},
		tenants:  append([]*v1alpha1.CAPTenant{failedWith(tn("c-00", "1", "2", v1alpha1.CAPTenantStateUpgradeError, "canary", "true"), "job c-00-upgrade-2 failed")}, fleet("t", 1)...),
		prev: &v1alpha1.RolloutStatus{TargetVersion: "2", Phase: v1alpha1.RolloutPhaseProgressing,
			RetriedTenants: []v1alpha1.RetriedTenant{{Name: "c-00", Failure: Failure(failedWith(&v1alpha1.CAPTenant{}, "job c-00-upgrade-1 failed"))}}},
		phase: v1alpha1.RolloutPhaseHalted,
	}, {
		name:     "a tenant just moved away from a failed older upgrade is running, not failed",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary}},
		tenants: append([]*v1alpha1.CAPTenant{func() *v1alpha1.CAPTenant {
			t := tn("c-00", "1", "2", v1alpha1.CAPTenantStateUpgradeError, "canary", "true")
			t.Generation, t.Status.ObservedGeneration = 3, 2
			return t
		}()}, fleet("t", 1)...),
		phase: v1alpha1.RolloutPhaseProgressing, wave: "canary",
	}, {
		name:     "failures within maxFailures (10% of 20 = 2) continue",
		strategy: v1alpha1.RolloutStrategy{MaxFailures: pct("10%"), MaxParallel: num(3)},
		tenants:  append([]*v1alpha1.CAPTenant{tn("a-f1", "1", "2", v1alpha1.CAPTenantStateUpgradeError), tn("a-f2", "1", "2", v1alpha1.CAPTenantStateUpgradeError)}, fleet("t", 18)...),
		upgrade:  []string{"t-00", "t-01", "t-02"}, phase: v1alpha1.RolloutPhaseProgressing, wave: RestWave,
	}, {
		name:     "one failure more halts (maxFailures 10% of 20 rounds down to 2)",
		strategy: v1alpha1.RolloutStrategy{MaxFailures: pct("10%")},
		tenants:  append([]*v1alpha1.CAPTenant{tn("a-f1", "1", "2", v1alpha1.CAPTenantStateUpgradeError), tn("a-f2", "1", "2", v1alpha1.CAPTenantStateUpgradeError), tn("a-f3", "1", "2", v1alpha1.CAPTenantStateUpgradeError)}, fleet("t", 17)...),
		phase:    v1alpha1.RolloutPhaseHalted,
	}, {
		name:     "a version superseded mid-rollout: tenants upgrading to the old one occupy slots and are moved later",
		strategy: v1alpha1.RolloutStrategy{MaxParallel: num(2)},
		tenants:  append([]*v1alpha1.CAPTenant{tn("a-old", "1", "1.5", v1alpha1.CAPTenantStateUpgrading), tn("a-on-old", "1.5", "1.5", v1alpha1.CAPTenantStateReady)}, fleet("t", 2)...),
		prev:     &v1alpha1.RolloutStatus{TargetVersion: "1.5", Phase: v1alpha1.RolloutPhaseHalted},
		upgrade:  []string{"a-on-old"}, phase: v1alpha1.RolloutPhaseProgressing, wave: RestWave,
	}, {
		name:     "a tenant added to a finished wave reopens it",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary}},
		tenants:  []*v1alpha1.CAPTenant{tn("c-00", "2", "2", v1alpha1.CAPTenantStateReady, "canary", "true"), tn("c-new", "1", "1", v1alpha1.CAPTenantStateReady, "canary", "true"), tn("t-00", "2", "2", v1alpha1.CAPTenantStateReady)},
		prev:     done("canary", RestWave),
		upgrade:  []string{"c-new"}, phase: v1alpha1.RolloutPhaseProgressing, wave: "canary",
	}, {
		name:     "removed tenants leave the counts; the rest completes",
		strategy: v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary}},
		tenants:  []*v1alpha1.CAPTenant{tn("t-00", "2", "2", v1alpha1.CAPTenantStateReady)},
		prev:     &v1alpha1.RolloutStatus{TargetVersion: "2", Phase: v1alpha1.RolloutPhaseProgressing, Waves: []v1alpha1.RolloutWaveStatus{{Name: "canary", Running: 1}}},
		phase:    v1alpha1.RolloutPhaseCompleted,
	}, {
		name:     "paused: nothing new moves",
		strategy: v1alpha1.RolloutStrategy{Paused: true},
		tenants:  append([]*v1alpha1.CAPTenant{tn("a-run", "1", "2", v1alpha1.CAPTenantStateUpgrading)}, fleet("t", 2)...),
		phase:    v1alpha1.RolloutPhasePaused, wave: RestWave,
	}, {
		name:     "abort: remaining tenants stay",
		strategy: v1alpha1.RolloutStrategy{},
		tenants:  fleet("t", 2),
		prev:     &v1alpha1.RolloutStatus{TargetVersion: "2", Phase: v1alpha1.RolloutPhaseHalted},
		action:   v1alpha1.RolloutActionAbort,
		phase:    v1alpha1.RolloutPhaseAborted,
	}, {
		name:      "new tenants provision within maxParallelProvisioning, even while halted",
		strategy:  v1alpha1.RolloutStrategy{MaxParallelProvisioning: num(2)},
		tenants:   []*v1alpha1.CAPTenant{tn("n-0", "", "2", v1alpha1.CAPTenantStateProvisioning), tn("n-1", "", "", ""), tn("n-2", "", "", ""), tn("a-f", "1", "2", v1alpha1.CAPTenantStateUpgradeError), tn("t-0", "1", "1", v1alpha1.CAPTenantStateReady)},
		provision: []string{"n-1"}, phase: v1alpha1.RolloutPhaseHalted,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			p, err := Compute(Input{Strategy: &tc.strategy, Target: cav("2"), Tenants: tc.tenants, Previous: tc.prev, Action: tc.action, Moved: tc.moved, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"upgrade", tenantNames(p.Upgrade), tc.upgrade}, {"provision", tenantNames(p.Provision), tc.provision}, {"retry", tenantNames(p.Retry), tc.retry}} {
				if c.want == nil {
					c.want = []string{}
				}
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if p.Status.Phase != tc.phase || (tc.wave != "" && p.Status.CurrentWave != tc.wave) {
				t.Errorf("phase, wave = %s, %s; want %s, %s (%s)", p.Status.Phase, p.Status.CurrentWave, tc.phase, tc.wave, p.Status.Message)
			}
			if p.RequeueAfter != tc.requeue {
				t.Errorf("requeue after %s, want %s", p.RequeueAfter, tc.requeue)
			}
		})
	}
}

func TestComputeStatusAndEvents(t *testing.T) {
	s := v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary}}
	tenants := append([]*v1alpha1.CAPTenant{
		tn("c-00", "1", "2", v1alpha1.CAPTenantStateUpgradeError, "canary", "true"),
		tn("c-01", "2", "2", v1alpha1.CAPTenantStateReady, "canary", "true"),
		tn("c-02", "1", "2", v1alpha1.CAPTenantStateUpgrading, "canary", "true"),
	}, fleet("t", 4)...)
	prev := &v1alpha1.RolloutStatus{TargetVersion: "2", Phase: v1alpha1.RolloutPhaseProgressing, Waves: []v1alpha1.RolloutWaveStatus{{Name: "canary", StartTime: &metav1.Time{Time: t0}}}}
	p, err := Compute(Input{Strategy: &s, Target: cav("2"), Tenants: tenants, Previous: prev, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	want := []v1alpha1.RolloutWaveStatus{
		{Name: "canary", Pending: 0, Running: 1, Succeeded: 1, Failed: 1, StartTime: &metav1.Time{Time: t0}},
		{Name: RestWave, Pending: 4},
	}
	for i, w := range want {
		if got := p.Status.Waves[i]; got.Name != w.Name || got.Pending != w.Pending || got.Running != w.Running || got.Succeeded != w.Succeeded || got.Failed != w.Failed || (got.StartTime == nil) != (w.StartTime == nil) {
			t.Errorf("wave %d = %+v, want %+v", i, got, w)
		}
	}
	if p.Status.Summary != "1/7 (1 failed)" {
		t.Errorf("summary %q", p.Status.Summary)
	}
	if len(p.Events) != 1 || p.Events[0].Reason != ReasonRolloutHalted || !p.Events[0].Warning {
		t.Errorf("events %+v, want one RolloutHalted warning", p.Events)
	}
	if tenantNames(p.Failing)[0] != "c-00" {
		t.Errorf("failing %v", tenantNames(p.Failing))
	}
}

func TestLimit(t *testing.T) {
	for _, tc := range []struct {
		v       intstr.IntOrString
		total   int
		roundUp bool
		want    int
	}{
		{intstr.FromString("25%"), 10, true, 3},
		{intstr.FromString("25%"), 10, false, 2},
		{intstr.FromString("100%"), 7, true, 7},
		{intstr.FromString("0%"), 7, true, 0},
		{intstr.FromInt32(5), 3, true, 5},
	} {
		got, err := Limit(&tc.v, tc.total, tc.roundUp)
		if err != nil || got != tc.want {
			t.Errorf("Limit(%s, %d, %v) = %d, %v; want %d", tc.v.String(), tc.total, tc.roundUp, got, err, tc.want)
		}
	}
	if got, _ := Limit(nil, 3, true); got != -1 {
		t.Errorf("nil limit = %d, want -1", got)
	}
}
