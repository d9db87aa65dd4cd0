package rollout

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// RestWave names the implicit last wave of the tenants no wave selects.
const RestWave = "rest"

// State is a tenant's state in the rollout of a version.
type State string

// States of a tenant in a rollout.
const (
	// StatePending: the tenant is not moved to the version yet.
	StatePending State = "Pending"
	// StateRunning: the tenant is moved and its upgrade has not finished, or it is still
	// upgrading to an older version and cannot be moved yet.
	StateRunning State = "Running"
	// StateSucceeded: the tenant is Ready on the version.
	StateSucceeded State = "Succeeded"
	// StateFailed: the tenant's upgrade to the version failed.
	StateFailed State = "Failed"
)

// Classify returns a tenant's state in the rollout to target. A retried tenant still failing
// with the failure retried counts as running: its retry has been asked for.
func Classify(t *v1alpha1.CAPTenant, target *v1alpha1.CAPApplicationVersion, retried []v1alpha1.RetriedTenant) State {
	busy := t.Status.State == v1alpha1.CAPTenantStateUpgrading || t.Status.State == v1alpha1.CAPTenantStateProvisioning
	if t.Spec.Version != target.Spec.Version {
		if busy {
			return StateRunning
		}
		return StatePending
	}
	switch {
	case t.Status.State == v1alpha1.CAPTenantStateReady && t.Status.CurrentCAPApplicationVersionInstance == target.Name:
		return StateSucceeded
	case t.Status.State == v1alpha1.CAPTenantStateUpgradeError && t.Status.ObservedGeneration == t.Generation && !awaitingRetry(t, retried):
		// A status of an older generation is the failure of an older upgrade: the tenant was
		// just moved and its upgrade to the target has not started yet.
		return StateFailed
	}
	return StateRunning
}

// Failure identifies a failed tenant's failure: a short hash of its Ready condition's message,
// which names the failed operation's Job.
func Failure(t *v1alpha1.CAPTenant) string {
	msg := ""
	if c := meta.FindStatusCondition(t.Status.Conditions, v1alpha1.ConditionTypeReady); c != nil {
		msg = c.Message
	}
	sum := sha256.Sum256([]byte(msg))
	return hex.EncodeToString(sum[:8])
}

// awaitingRetry reports whether a failed tenant's failure is one a retry was asked for.
func awaitingRetry(t *v1alpha1.CAPTenant, retried []v1alpha1.RetriedTenant) bool {
	return slices.Contains(retried, v1alpha1.RetriedTenant{Name: t.Name, Failure: Failure(t)})
}

// InRollout reports whether a tenant takes part in upgrade rollouts: it runs a version, follows
// upgrades and is not being deleted. New tenants are provisioned instead.
func InRollout(t *v1alpha1.CAPTenant) bool {
	return t.DeletionTimestamp == nil && t.Spec.VersionUpgradeStrategy != v1alpha1.VersionUpgradeStrategyNever &&
		t.Status.CurrentCAPApplicationVersionInstance != ""
}

// isNew reports whether a tenant has never been provisioned and is not being deleted.
func isNew(t *v1alpha1.CAPTenant) bool {
	return t.DeletionTimestamp == nil && t.Status.CurrentCAPApplicationVersionInstance == ""
}

// WaveOf returns the name of the first wave selecting the tenant, or RestWave. A wave selects
// a tenant whose spec.tenantId it lists or whose labels match its selector.
func WaveOf(waves []v1alpha1.RolloutWave, t *v1alpha1.CAPTenant) (string, error) {
	for _, w := range waves {
		if slices.Contains(w.TenantIds, t.Spec.TenantId) {
			return w.Name, nil
		}
		if w.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(w.Selector)
		if err != nil {
			return "", err
		}
		if !sel.Empty() && sel.Matches(labels.Set(t.Labels)) {
			return w.Name, nil
		}
	}
	return RestWave, nil
}

// Limit resolves a number or percentage of total; a percentage is rounded up (down when
// roundUp is false). nil means no limit (-1).
func Limit(v *intstr.IntOrString, total int, roundUp bool) (int, error) {
	if v == nil {
		return -1, nil
	}
	return intstr.GetScaledValueFromIntOrPercent(v, total, roundUp)
}
