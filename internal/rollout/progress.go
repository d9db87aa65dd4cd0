package rollout

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Event reasons of a rollout.
const (
	ReasonRolloutStarted   = "RolloutStarted"
	ReasonWaveStarted      = "RolloutWaveStarted"
	ReasonWaveCompleted    = "RolloutWaveCompleted"
	ReasonRolloutHalted    = "RolloutHalted"
	ReasonRolloutPaused    = "RolloutPaused"
	ReasonRolloutWaiting   = "RolloutWaitingForResume"
	ReasonRolloutAborted   = "RolloutAborted"
	ReasonRolloutCompleted = "RolloutCompleted"
)

// advance walks the waves in order: it moves pending tenants of the first unfinished wave
// within maxParallel, or holds after a finished wave's pause or health gate, or completes.
func (p *Plan) advance(in Input, st *v1alpha1.RolloutStatus, waves []*wave, total, running int) error {
	st.CompletionTime = nil
	for i, w := range waves {
		ws := &st.Waves[i]
		if !w.done() {
			st.CurrentWave = w.spec.Name
			if in.Strategy.Paused {
				st.Phase, st.Message = v1alpha1.RolloutPhasePaused, "paused by spec.rolloutStrategy.paused; running upgrades complete"
				return nil
			}
			st.Phase, st.Message = v1alpha1.RolloutPhaseProgressing, ""
			limit, err := Limit(in.Strategy.MaxParallel, total, true)
			if err != nil {
				return fmt.Errorf("maxParallel: %w", err)
			}
			pending := w.tenants[StatePending]
			n := len(pending)
			if limit >= 0 {
				n = min(n, max(max(limit, 1)-running, 0))
			}
			p.Upgrade = pending[:n]
			if n > 0 && ws.StartTime == nil {
				now := metav1.NewTime(in.Now)
				ws.StartTime = &now
			}
			return nil
		}
		if w.total() == 0 {
			continue
		}
		if w.spec.PauseAfter && !slices.Contains(st.ResumedWaves, w.spec.Name) {
			st.CurrentWave = w.spec.Name
			st.Phase, st.Message = v1alpha1.RolloutPhaseWaitingForResume, fmt.Sprintf("wave %s is done; resume the rollout to continue", w.spec.Name)
			return nil
		}
		if gate := w.spec.HealthGate; gate != nil && ws.CompletionTime != nil {
			if wait := ws.CompletionTime.Add(gate.Duration).Sub(in.Now); wait > 0 {
				st.CurrentWave = w.spec.Name
				st.Phase, st.Message = v1alpha1.RolloutPhaseHealthGate, fmt.Sprintf("wave %s is done; its tenants must stay Ready for %s", w.spec.Name, gate.Duration)
				p.RequeueAfter = wait
				return nil
			}
		}
	}
	st.Phase, st.Message, st.CurrentWave = v1alpha1.RolloutPhaseCompleted, "", ""
	if in.Previous != nil && in.Previous.TargetVersion == st.TargetVersion && in.Previous.CompletionTime != nil {
		st.CompletionTime = in.Previous.CompletionTime
	} else {
		now := metav1.NewTime(in.Now)
		st.CompletionTime = &now
	}
	return nil
}

// provision gives new tenants the target version, at most maxParallelProvisioning
// provisioning at once. It does not depend on waves, pauses or halts.
func (p *Plan) provision(in Input, all int) error {
	limit, err := Limit(in.Strategy.MaxParallelProvisioning, all, true)
	if err != nil {
		return fmt.Errorf("maxParallelProvisioning: %w", err)
	}
	var candidates []*v1alpha1.CAPTenant
	running := 0
	for _, t := range in.Tenants {
		if !isNew(t) {
			continue
		}
		switch {
		case t.Status.State == v1alpha1.CAPTenantStateProvisioning:
			running++
		case t.Spec.Version != in.Target.Spec.Version:
			candidates = append(candidates, t)
		case t.Status.State != v1alpha1.CAPTenantStateProvisioningError:
			running++
		}
	}
	slices.SortFunc(candidates, func(a, b *v1alpha1.CAPTenant) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	n := len(candidates)
	if limit >= 0 {
		n = min(n, max(max(limit, 1)-running, 0))
	}
	p.Provision = candidates[:n]
	return nil
}

// waveStatuses counts each wave's tenants by state and keeps the start and completion times
// recorded for the same target version.
func waveStatuses(waves []*wave, prev *v1alpha1.RolloutStatus, now metav1.Time) []v1alpha1.RolloutWaveStatus {
	out := make([]v1alpha1.RolloutWaveStatus, 0, len(waves))
	for _, w := range waves {
		ws := v1alpha1.RolloutWaveStatus{
			Name:      w.spec.Name,
			Pending:   int32(len(w.tenants[StatePending])),
			Running:   int32(len(w.tenants[StateRunning])),
			Succeeded: int32(len(w.tenants[StateSucceeded])),
			Failed:    int32(len(w.tenants[StateFailed])),
		}
		if old := previousWave(prev, w.spec.Name); old != nil {
			ws.StartTime, ws.CompletionTime = old.StartTime, old.CompletionTime
		}
		if ws.StartTime == nil && ws.Succeeded+ws.Failed > 0 {
			ws.StartTime = &now
		}
		switch {
		case !w.done() || w.total() == 0:
			ws.CompletionTime = nil
		case ws.CompletionTime == nil:
			ws.CompletionTime = &now
		}
		out = append(out, ws)
	}
	return out
}

// previousWave returns the recorded status of a wave.
func previousWave(prev *v1alpha1.RolloutStatus, name string) *v1alpha1.RolloutWaveStatus {
	if prev == nil {
		return nil
	}
	for i := range prev.Waves {
		if prev.Waves[i].Name == name {
			return &prev.Waves[i]
		}
	}
	return nil
}

// summary is the progress in one line: succeeded of total, and failures.
func summary(waves []v1alpha1.RolloutWaveStatus, total int) string {
	var ok, failed int32
	for _, w := range waves {
		ok += w.Succeeded
		failed += w.Failed
	}
	s := fmt.Sprintf("%d/%d", ok, total)
	if failed > 0 {
		s += fmt.Sprintf(" (%d failed)", failed)
	}
	return s
}

// events describes what changed between the previous and the new rollout status.
func events(prev *v1alpha1.RolloutStatus, st v1alpha1.RolloutStatus) []Event {
	var out []Event
	if prev == nil || prev.TargetVersion != st.TargetVersion {
		prev = &v1alpha1.RolloutStatus{}
		out = append(out, Event{Reason: ReasonRolloutStarted, Message: "rolling out version " + st.TargetVersion})
	}
	for _, w := range st.Waves {
		old := previousWave(prev, w.Name)
		if w.StartTime != nil && (old == nil || old.StartTime == nil) {
			out = append(out, Event{Reason: ReasonWaveStarted, Message: fmt.Sprintf("wave %s of version %s started", w.Name, st.TargetVersion)})
		}
		if w.CompletionTime != nil && (old == nil || old.CompletionTime == nil) {
			out = append(out, Event{Reason: ReasonWaveCompleted, Message: fmt.Sprintf("wave %s of version %s done: %d succeeded, %d failed", w.Name, st.TargetVersion, w.Succeeded, w.Failed)})
		}
	}
	if st.Phase == prev.Phase {
		return out
	}
	switch st.Phase {
	case v1alpha1.RolloutPhaseHalted:
		out = append(out, Event{Warning: true, Reason: ReasonRolloutHalted, Message: st.Message})
	case v1alpha1.RolloutPhasePaused:
		out = append(out, Event{Reason: ReasonRolloutPaused, Message: st.Message})
	case v1alpha1.RolloutPhaseWaitingForResume:
		out = append(out, Event{Reason: ReasonRolloutWaiting, Message: st.Message})
	case v1alpha1.RolloutPhaseAborted:
		out = append(out, Event{Warning: true, Reason: ReasonRolloutAborted, Message: st.Message})
	case v1alpha1.RolloutPhaseCompleted:
		out = append(out, Event{Reason: ReasonRolloutCompleted, Message: "version " + st.TargetVersion + " rolled out: " + st.Summary})
	}
	return out
}
