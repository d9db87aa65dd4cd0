package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Input is everything a rollout plan depends on.
type Input struct {
	// Strategy is the application's rollout strategy (not nil).
	Strategy *v1alpha1.RolloutStrategy
	// Target is the latest Ready version, the one tenants move to.
	Target *v1alpha1.CAPApplicationVersion
	// Tenants are all tenants of the application, in any order.
	Tenants []*v1alpha1.CAPTenant
	// Moved maps the names of tenants moved to a version, which the tenants do not show yet
	// (a stale cache), to that version.
	Moved map[string]string
	// Previous is the rollout status recorded so far, or nil.
	Previous *v1alpha1.RolloutStatus
	// Action is the value of the rollout-action annotation, or "".
	Action string
	// Now is the current time.
	Now time.Time
}

// Event is an event to record on the application.
type Event struct {
	// Warning selects the Warning event type over Normal.
	Warning bool
	// Reason and Message of the event.
	Reason, Message string
}

// Plan is what to do now and the rollout status to record.
type Plan struct {
	// Upgrade are the tenants to move to the target version now.
	Upgrade []*v1alpha1.CAPTenant
	// Provision are the new tenants to give the target version now.
	Provision []*v1alpha1.CAPTenant
	// Retry are the failed tenants whose operation to retry now.
	Retry []*v1alpha1.CAPTenant
	// Status is the rollout status to record.
	Status v1alpha1.RolloutStatus
	// Events are recorded on the application when the status is written.
	Events []Event
	// RequeueAfter, when positive, is when a health gate ends.
	RequeueAfter time.Duration
	// Failing are the rollout's failed tenants, sorted by name.
	Failing []*v1alpha1.CAPTenant
}

// wave is one wave with its tenants grouped by state.
type wave struct {
	spec    v1alpha1.RolloutWave
	tenants map[State][]*v1alpha1.CAPTenant
}

// total is the number of tenants of the wave.
func (w *wave) total() int {
	n := 0
	for _, ts := range w.tenants {
		n += len(ts)
	}
	return n
}

// done reports whether the wave has no pending or running tenant.
func (w *wave) done() bool {
	return len(w.tenants[StatePending]) == 0 && len(w.tenants[StateRunning]) == 0
}

// Compute plans the rollout of in.Target. Errors are invalid strategies (a selector the
// webhook would deny).
func Compute(in Input) (Plan, error) {
	in.Tenants = withMoves(in.Tenants, in.Moved)
	st := startStatus(in)
	waves, err := groupWaves(in, st.RetriedTenants)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{}
	if in.Action == v1alpha1.RolloutActionRetry && st.Phase == v1alpha1.RolloutPhaseHalted {
		// The failed tenants are retried: they count as running, so their wave is not done.
		for _, w := range waves {
			p.Retry = append(p.Retry, w.tenants[StateFailed]...)
		}
		for _, t := range p.Retry {
			st.RetriedTenants = append(st.RetriedTenants, v1alpha1.RetriedTenant{Name: t.Name, Failure: Failure(t)})
		}
		st.Phase, st.Message = v1alpha1.RolloutPhaseProgressing, ""
		if waves, err = groupWaves(in, st.RetriedTenants); err != nil {
			return Plan{}, err
		}
	}
	st.RetriedTenants = stillFailed(in.Tenants, st.RetriedTenants)
	total, running, failed := 0, 0, 0
	for _, w := range waves {
		total += w.total()
		running += len(w.tenants[StateRunning])
		failed += len(w.tenants[StateFailed])
		p.Failing = append(p.Failing, w.tenants[StateFailed]...)
	}
	slices.SortFunc(p.Failing, func(a, b *v1alpha1.CAPTenant) int { return strings.Compare(a.Name, b.Name) })
	maxFailures, err := Limit(in.Strategy.MaxFailures, total, false)
	if err != nil {
		return Plan{}, fmt.Errorf("maxFailures: %w", err)
	}
	maxFailures = max(maxFailures, 0)
	st.Waves = waveStatuses(waves, sameTarget(in), metav1.NewTime(in.Now))
	st.Summary = summary(st.Waves, total)
	switch {
	case st.Phase == v1alpha1.RolloutPhaseAborted:
	case st.Phase == v1alpha1.RolloutPhaseHalted:
	case failed > maxFailures:
		st.Phase = v1alpha1.RolloutPhaseHalted
		st.Message = fmt.Sprintf("%d tenants failed to upgrade to version %s, more than maxFailures (%d): %s", failed, in.Target.Spec.Version, maxFailures, names(p.Failing, 5))
	default:
		if err := p.advance(in, &st, waves, total, running); err != nil {
			return Plan{}, err
		}
	}
	if err := p.provision(in, total); err != nil {
		return Plan{}, err
	}
	p.Status = st
	p.Events = events(in.Previous, st)
	return p, nil
}

// startStatus returns the status the plan starts from: the previous one for the same target
// version, with the abort and resume actions applied, or a fresh one.
func startStatus(in Input) v1alpha1.RolloutStatus {
	var st v1alpha1.RolloutStatus
	if in.Previous != nil && in.Previous.TargetVersion == in.Target.Spec.Version {
		st = *in.Previous.DeepCopy()
	} else {
		now := metav1.NewTime(in.Now)
		st = v1alpha1.RolloutStatus{TargetVersion: in.Target.Spec.Version, Phase: v1alpha1.RolloutPhaseProgressing, StartTime: &now}
	}
	switch in.Action {
	case v1alpha1.RolloutActionAbort:
		if st.Phase != v1alpha1.RolloutPhaseCompleted {
			st.Phase, st.Message = v1alpha1.RolloutPhaseAborted, "aborted: the remaining tenants stay on their version until a newer version is Ready"
		}
	case v1alpha1.RolloutActionResume:
		if st.Phase == v1alpha1.RolloutPhaseWaitingForResume && !slices.Contains(st.ResumedWaves, st.CurrentWave) {
			st.ResumedWaves = append(st.ResumedWaves, st.CurrentWave)
		}
	}
	return st
}

// groupWaves sorts the tenants taking part in the rollout into the strategy's waves plus the
// implicit rest wave, each group sorted by name.
func groupWaves(in Input, retried []v1alpha1.RetriedTenant) ([]*wave, error) {
	waves := make([]*wave, 0, len(in.Strategy.Waves)+1)
	byName := map[string]*wave{}
	for _, spec := range append(slices.Clone(in.Strategy.Waves), v1alpha1.RolloutWave{Name: RestWave}) {
		w := &wave{spec: spec, tenants: map[State][]*v1alpha1.CAPTenant{}}
		waves = append(waves, w)
		byName[spec.Name] = w
	}
	tenants := slices.Clone(in.Tenants)
	slices.SortFunc(tenants, func(a, b *v1alpha1.CAPTenant) int { return strings.Compare(a.Name, b.Name) })
	for _, t := range tenants {
		if !InRollout(t) {
			continue
		}
		name, err := WaveOf(in.Strategy.Waves, t)
		if err != nil {
			return nil, fmt.Errorf("wave selector: %w", err)
		}
		s := Classify(t, in.Target, retried)
		byName[name].tenants[s] = append(byName[name].tenants[s], t)
	}
	return waves, nil
}

// stillFailed keeps the retried tenants still failing with the failure retried; once a retried
// tenant's retry started or failed anew, a failure counts again.
func stillFailed(tenants []*v1alpha1.CAPTenant, retried []v1alpha1.RetriedTenant) []v1alpha1.RetriedTenant {
	var out []v1alpha1.RetriedTenant
	for _, t := range tenants {
		if t.Status.State == v1alpha1.CAPTenantStateUpgradeError && awaitingRetry(t, retried) {
			out = append(out, v1alpha1.RetriedTenant{Name: t.Name, Failure: Failure(t)})
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.RetriedTenant) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// names lists up to n tenant names.
func names(ts []*v1alpha1.CAPTenant, n int) string {
	var out []string
	for i, t := range ts {
		if i == n {
			out = append(out, fmt.Sprintf("and %d more", len(ts)-n))
			break
		}
		out = append(out, t.Name)
	}
	return strings.Join(out, ", ")
}

// sameTarget returns the previous status when it is about the same target version.
func sameTarget(in Input) *v1alpha1.RolloutStatus {
	if in.Previous != nil && in.Previous.TargetVersion == in.Target.Spec.Version {
		return in.Previous
	}
	return nil
}

// withMoves returns the tenants with the moves the controller made but the tenants do not
// show yet applied to copies.
func withMoves(tenants []*v1alpha1.CAPTenant, moved map[string]string) []*v1alpha1.CAPTenant {
	if len(moved) == 0 {
		return tenants
	}
	out := make([]*v1alpha1.CAPTenant, 0, len(tenants))
	for _, t := range tenants {
		if v, ok := moved[t.Name]; ok && t.Spec.Version != v {
			t = t.DeepCopy()
			t.Spec.Version = v
		}
		out = append(out, t)
	}
	return out
}
