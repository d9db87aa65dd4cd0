package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// AnnotationRolloutAction on a CAPApplication asks the controller for one rollout action:
// resume (continue after a wave with pauseAfter), retry (retry the failed tenants of a halted
// rollout and continue) or abort (stop the rollout; the remaining tenants stay on their
// version until a newer version becomes Ready). The controller removes it once acted on.
const AnnotationRolloutAction = "sme.sap.com/rollout-action"

// Values of the rollout-action annotation.
const (
	RolloutActionResume = "resume"
	RolloutActionRetry  = "retry"
	RolloutActionAbort  = "abort"
)

// RolloutStrategy controls how tenants move to a new Ready CAPApplicationVersion. Without it
// every tenant is moved at once.
type RolloutStrategy struct {
	// MaxParallel bounds the tenants with an upgrade running at once: a number, or a percentage
	// of the tenants taking part in the rollout (rounded up, at least 1). Default: unbounded.
	// +optional
	MaxParallel *intstr.IntOrString `json:"maxParallel,omitempty"`
	// MaxParallelProvisioning bounds the new tenants provisioning at once, in the same way (a
	// percentage of all tenants of the application). Default: unbounded.
	// +optional
	MaxParallelProvisioning *intstr.IntOrString `json:"maxParallelProvisioning,omitempty"`
	// MaxFailures is the number, or percentage of the rollout's tenants (rounded down), of
	// failed tenant upgrades the rollout tolerates; one more halts it and no further tenant is
	// moved. Default: 0, the first failure halts.
	// +optional
	MaxFailures *intstr.IntOrString `json:"maxFailures,omitempty"`
	// Paused stops moving further tenants; upgrades already running complete.
	// +optional
	Paused bool `json:"paused,omitempty"`
	// Waves are rolled out in order; a wave starts when the one before it has no pending or
	// running tenant (and its pause or health gate has passed). A tenant belongs to the first
	// wave that selects it; tenants no wave selects form a last, implicit wave named "rest".
	// +optional
	// +listType=map
	// +listMapKey=name
	Waves []RolloutWave `json:"waves,omitempty"`
}

// RolloutWave selects a group of tenants rolled out together.
type RolloutWave struct {
	// Name of the wave, unique within the strategy; "rest" is reserved.
	Name string `json:"name"`
	// Selector selects tenants by their labels (the provider tenant carries
	// sme.sap.com/tenant-type=provider).
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// TenantIds selects tenants by spec.tenantId.
	// +optional
	TenantIds []string `json:"tenantIds,omitempty"`
	// PauseAfter holds the rollout once this wave is done, until it is resumed.
	// +optional
	PauseAfter bool `json:"pauseAfter,omitempty"`
	// HealthGate holds the rollout once this wave is done, until all of its tenants have been
	// Ready on the new version for this duration.
	// +optional
	HealthGate *metav1.Duration `json:"healthGate,omitempty"`
}

// RolloutPhase is the phase of a rollout.
// +kubebuilder:validation:Enum=Progressing;Paused;WaitingForResume;HealthGate;Halted;Aborted;Completed
type RolloutPhase string

// Phases of a rollout.
const (
	RolloutPhaseProgressing      RolloutPhase = "Progressing"
	RolloutPhasePaused           RolloutPhase = "Paused"
	RolloutPhaseWaitingForResume RolloutPhase = "WaitingForResume"
	RolloutPhaseHealthGate       RolloutPhase = "HealthGate"
	RolloutPhaseHalted           RolloutPhase = "Halted"
	RolloutPhaseAborted          RolloutPhase = "Aborted"
	RolloutPhaseCompleted        RolloutPhase = "Completed"
)

// RolloutStatus is the progress of the rollout of a version to the application's tenants.
type RolloutStatus struct {
	// TargetVersion is the version (spec.version) tenants are moved to.
	TargetVersion string `json:"targetVersion"`
	// Phase of the rollout.
	Phase RolloutPhase `json:"phase"`
	// Message explains the phase; for a halt, why it halted.
	// +optional
	Message string `json:"message,omitempty"`
	// CurrentWave is the wave being rolled out, or held after.
	// +optional
	CurrentWave string `json:"currentWave,omitempty"`
	// Summary is the progress, for example "12/200 (1 failed)".
	// +optional
	Summary string `json:"summary,omitempty"`
	// StartTime is when the rollout to this version began.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// CompletionTime is when every tenant reached the version.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// Waves are the waves' progress, in rollout order.
	// +optional
	Waves []RolloutWaveStatus `json:"waves,omitempty"`
	// ResumedWaves lists the waves with pauseAfter whose hold was released.
	// +optional
	ResumedWaves []string `json:"resumedWaves,omitempty"`
	// RetriedTenants are the failed tenants a retry was asked for; they do not count as
	// failed again until their retry has failed too.
	// +optional
	RetriedTenants []RetriedTenant `json:"retriedTenants,omitempty"`
}

// RetriedTenant is a failed tenant whose retry was asked for.
type RetriedTenant struct {
	// Name of the CAPTenant.
	Name string `json:"name"`
	// Failure identifies the failure retried: a hash of the tenant's Ready message at the
	// time. A failure with another message is a new one.
	Failure string `json:"failure"`
}

// RolloutWaveStatus is the progress of one wave.
type RolloutWaveStatus struct {
	// Name of the wave.
	Name string `json:"name"`
	// Pending tenants are not moved to the version yet.
	Pending int32 `json:"pending"`
	// Running tenants are moved and their upgrade has not finished.
	Running int32 `json:"running"`
	// Succeeded tenants are Ready on the version.
	Succeeded int32 `json:"succeeded"`
	// Failed tenants failed to upgrade to the version.
	Failed int32 `json:"failed"`
	// StartTime is when the first tenant of the wave was moved.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// CompletionTime is when the wave had no pending or running tenant left.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
}
