package tenant

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Action is what the tenant controller does after a decision.
type Action string

// Actions of a decision.
const (
	// ActionNone: nothing needs to run; keep the tenant's networking in sync.
	ActionNone Action = "None"
	// ActionWait: an operation runs, or something the next one needs is missing; the event
	// that changes this requeues the tenant.
	ActionWait Action = "Wait"
	// ActionStart: create the CAPTenantOperation OperationName (Operation, Version, Attempt,
	// Steps, Sequence).
	ActionStart Action = "Start"
	// ActionRetryLater: a failed operation is retried after the delay After.
	ActionRetryLater Action = "RetryLater"
	// ActionRemoveFinalizer: the tenant is deprovisioned (or never was provisioned) and may go.
	ActionRemoveFinalizer Action = "RemoveFinalizer"
)

// Event is an event to record on the tenant when its status changes.
type Event struct {
	Type, Reason, Action, Message string
}

// Input is everything a decision depends on, read from listers.
type Input struct {
	// Tenant is the CAPTenant.
	Tenant *v1alpha1.CAPTenant
	// Operations are the tenant's CAPTenantOperations, in any order.
	Operations []*v1alpha1.CAPTenantOperation
	// Versions are the CAPApplicationVersions of the tenant's application.
	Versions []*v1alpha1.CAPApplicationVersion
	// DomainsReady reports whether the application's domains can serve the tenant; a
	// finished provisioning or upgrade is only taken over once they can.
	DomainsReady bool
	// RetryRequested is set when the tenant carries the retry-operation annotation.
	RetryRequested bool
	// Retry bounds automatic retries.
	Retry RetryPolicy
	// MaxVersionHistory bounds previousCAPApplicationVersions.
	MaxVersionHistory int
	// Now is the current time.
	Now time.Time
}

// Decision is the outcome of Decide: an action and the tenant status it implies.
type Decision struct {
	// Action says what to do.
	Action Action
	// Operation, Version, Attempt, Steps, Sequence and OperationName describe the operation
	// to start. The name follows from the tenant and the sequence number, so a second start
	// of the same operation fails with AlreadyExists instead of running it twice.
	Operation     v1alpha1.CAPTenantOperationType
	Version       *v1alpha1.CAPApplicationVersion
	Attempt       int
	Steps         []v1alpha1.CAPTenantOperationStep
	Sequence      int64
	OperationName string
	// After is the delay of ActionRetryLater.
	After time.Duration
	// State and Condition are the tenant's new state and Ready condition; "" and nil leave
	// them unchanged. With ActionStart they are the processing row of the operation.
	State     v1alpha1.CAPTenantState
	Condition *metav1.Condition
	// Current and Previous are the tenant's current version and version history.
	Current  string
	Previous []string
	// Event is recorded when the status changes this way (an operation completed or failed).
	Event *Event
	// Why explains the decision in logs.
	Why string
}

// Decide returns what a tenant needs next. In order: a running operation is waited for; the
// result of the newest finished operation is taken over (a completed provisioning or upgrade
// moves the current version, once the domains are Ready); a deleted tenant is deprovisioned
// from its current version; a tenant without current version is provisioned with the Ready
// version its spec.version names; a tenant following upgrades is upgraded to it. A failed
// operation toward the same version is retried with backoff while retries are left, or at
// once when the tenant asks for it.
func Decide(in Input) Decision {
	t := in.Tenant
	d := Decision{Current: t.Status.CurrentCAPApplicationVersionInstance, Previous: t.Status.PreviousCAPApplicationVersions}
	ops := SortOperations(in.Operations)
	if active := newestActive(ops); active != nil {
		d.Action, d.Why = ActionWait, "operation "+active.Name+" is running"
		d.setRow(RowFor(active.Spec.Operation, PhaseProcessing), ProcessingMessage(active))
		return d
	}
	var last *v1alpha1.CAPTenantOperation
	if len(ops) > 0 {
		last = ops[len(ops)-1]
		if !d.absorb(in, last) {
			return d
		}
	}
	if t.DeletionTimestamp != nil {
		return d.deletion(in, last)
	}
	return d.next(in, last)
}

// newestActive returns the newest operation that has not finished.
func newestActive(sorted []*v1alpha1.CAPTenantOperation) *v1alpha1.CAPTenantOperation {
	for i := len(sorted) - 1; i >= 0; i-- {
		if !Finished(sorted[i]) {
			return sorted[i]
		}
	}
	return nil
}

// absorb takes over the result of the newest finished operation. It returns false when a
// completed operation must wait for the domains before the tenant moves to its version.
func (d *Decision) absorb(in Input, last *v1alpha1.CAPTenantOperation) bool {
	op := last.Spec.Operation
	switch {
	case Succeeded(last) && op == v1alpha1.CAPTenantOperationTypeDeprovisioning:
		return true
	case Succeeded(last):
		row := RowFor(op, PhaseCompleted)
		msg := fmt.Sprintf("CAPTenantOperation %s/%s (%s) completed: running CAPApplicationVersion %s", last.Namespace, last.Name, op, last.Spec.CAPApplicationVersionInstance)
		if d.Current != last.Spec.CAPApplicationVersionInstance {
			if !in.DomainsReady {
				d.Action, d.Why = ActionWait, "operation "+last.Name+" completed; waiting for the application's domains"
				return false
			}
			d.Previous = PushHistory(d.Previous, d.Current, in.MaxVersionHistory)
			d.Current = last.Spec.CAPApplicationVersionInstance
			d.Event = &Event{Type: corev1.EventTypeNormal, Reason: row.Reason, Action: string(row.State), Message: msg}
		}
		d.setRow(row, msg)
	default:
		row := RowFor(op, PhaseFailed)
		msg := fmt.Sprintf("CAPTenantOperation %s/%s (%s) failed: %s", last.Namespace, last.Name, op, ResultMessage(last))
		if !rowIs(in.Tenant, row) {
			d.Event = &Event{Type: corev1.EventTypeWarning, Reason: row.Reason, Action: string(row.State), Message: msg}
		}
		d.setRow(row, msg)
	}
	return true
}

// rowIs reports whether the tenant's stored state and Ready reason are those of row.
func rowIs(t *v1alpha1.CAPTenant, row Row) bool {
	for _, c := range t.Status.Conditions {
		if c.Type == v1alpha1.ConditionTypeReady {
			return t.Status.State == row.State && c.Reason == row.Reason
		}
	}
	return false
}

// deletion decides for a tenant being deleted: deprovision its current version, or let it go
// when it has none or the deprovisioning completed.
func (d Decision) deletion(in Input, last *v1alpha1.CAPTenantOperation) Decision {
	deprovisioning := v1alpha1.CAPTenantOperationTypeDeprovisioning
	if d.Current == "" {
		d.Action, d.Why = ActionRemoveFinalizer, "the tenant was never provisioned"
		return d
	}
	if last != nil && last.Spec.Operation == deprovisioning && Succeeded(last) {
		d.Action, d.Why = ActionRemoveFinalizer, "deprovisioned by "+last.Name
		return d
	}
	cav := versionByName(in.Versions, d.Current)
	if cav == nil {
		// The current version is gone (its deletion normally waits for its tenants); the
		// version the tenant asks for runs the deprovisioning instead.
		cav = readyVersion(in.Versions, in.Tenant.Spec.Version)
	}
	if cav == nil {
		d.Action, d.Why = ActionWait, "no version to deprovision with"
		d.setRow(RowFor(deprovisioning, PhaseFailed), fmt.Sprintf("cannot deprovision: CAPApplicationVersion %s not found", d.Current))
		return d
	}
	return d.want(in, deprovisioning, cav, last)
}

// next decides for a tenant that is not being deleted.
func (d Decision) next(in Input, last *v1alpha1.CAPTenantOperation) Decision {
	t := in.Tenant
	target := readyVersion(in.Versions, t.Spec.Version)
	if d.Current == "" {
		switch {
		case t.Spec.Version == "":
			// Consumer tenants get their version from the application controller.
			d.Action, d.Why = ActionWait, "no version requested yet"
		case target == nil:
			d.Action, d.Why = ActionWait, "version "+t.Spec.Version+" is not Ready"
			if t.Status.State == "" {
				d.setRow(Row{Ready: metav1.ConditionFalse, Reason: ReasonWaitingForVersion},
					fmt.Sprintf("waiting for a Ready CAPApplicationVersion with version %s", t.Spec.Version))
			}
		default:
			return d.want(in, v1alpha1.CAPTenantOperationTypeProvisioning, target, last)
		}
		return d
	}
	never := t.Spec.VersionUpgradeStrategy == v1alpha1.VersionUpgradeStrategyNever
	if never || target == nil || target.Name == d.Current {
		d.Action, d.Why = ActionNone, "the tenant runs its version"
		if d.State == v1alpha1.CAPTenantStateUpgradeError && (never || target != nil) {
			// The failed upgrade is no longer wanted: the tenant runs its current version.
			d.setRow(Row{State: v1alpha1.CAPTenantStateReady, Ready: metav1.ConditionTrue, Reason: ReasonUpgradeCancelled},
				fmt.Sprintf("running CAPApplicationVersion %s; the failed upgrade is no longer requested", d.Current))
			d.Event = nil
		}
		return d
	}
	return d.want(in, v1alpha1.CAPTenantOperationTypeUpgrade, target, last)
}

// want decides how to reach an operation toward a version: start it, or, when the newest
// operation was the same one and failed, retry it after the backoff delay while retries are
// left (at once when asked to).
func (d Decision) want(in Input, op v1alpha1.CAPTenantOperationType, cav *v1alpha1.CAPApplicationVersion, last *v1alpha1.CAPTenantOperation) Decision {
	sameFailed := last != nil && last.Spec.Operation == op && last.Spec.CAPApplicationVersionInstance == cav.Name && !Succeeded(last)
	if !sameFailed {
		return d.start(in, op, cav, 1)
	}
	attempt := Attempt(last)
	if in.RetryRequested {
		// A manual retry starts a fresh retry budget.
		return d.start(in, op, cav, 1)
	}
	if attempt > in.Retry.MaxAttempts {
		d.Action, d.Why = ActionNone, "no automatic retries left"
		d.appendMessage("; no automatic retries left: annotate the CAPTenant with " + v1alpha1.AnnotationRetryOperation + " to retry")
		return d
	}
	delay := in.Retry.Delay(attempt)
	d.appendMessage(fmt.Sprintf("; automatic retry %d of %d after %s", attempt, in.Retry.MaxAttempts, delay))
	if wait := FinishedAt(last).Add(delay).Sub(in.Now); wait > 0 {
		d.Action, d.After, d.Why = ActionRetryLater, wait, "backing off before retrying "+last.Name
		return d
	}
	return d.start(in, op, cav, attempt+1)
}

// start returns the decision to create an operation, with its steps, name and processing
// row. A version whose workloads cannot run the operation fails the tenant instead; the
// version's next change requeues it.
func (d Decision) start(in Input, op v1alpha1.CAPTenantOperationType, cav *v1alpha1.CAPApplicationVersion, attempt int) Decision {
	d.Operation, d.Version, d.Attempt = op, cav, attempt
	steps, err := Steps(cav, op)
	if err != nil {
		row := RowFor(op, PhaseFailed)
		row.Reason = ReasonInvalidSteps
		d.Action, d.Why = ActionWait, err.Error()
		d.setRow(row, err.Error())
		d.Event = &Event{Type: corev1.EventTypeWarning, Reason: ReasonInvalidSteps, Action: string(op), Message: err.Error()}
		return d
	}
	t := in.Tenant
	d.Action, d.Steps, d.Sequence = ActionStart, steps, NextSequence(in.Operations)
	d.OperationName = OperationName(t.Name, t.UID, d.Sequence)
	d.Why = fmt.Sprintf("%s to %s (attempt %d)", op, cav.Name, attempt)
	d.setRow(RowFor(op, PhaseProcessing), processingMessage(t.Namespace, d.OperationName, op))
	return d
}

// setRow sets the state and Ready condition.
func (d *Decision) setRow(row Row, message string) {
	d.State = row.State
	c := row.Condition(message)
	d.Condition = &c
}

// appendMessage extends the Ready condition's message.
func (d *Decision) appendMessage(s string) {
	if d.Condition != nil {
		d.Condition.Message += s
	}
}

// ProcessingMessage is the tenant's Ready message while an operation runs.
func ProcessingMessage(op *v1alpha1.CAPTenantOperation) string {
	return processingMessage(op.Namespace, op.Name, op.Spec.Operation)
}

// processingMessage is ProcessingMessage of an operation known by name.
func processingMessage(namespace, name string, op v1alpha1.CAPTenantOperationType) string {
	return fmt.Sprintf("waiting for CAPTenantOperation %s/%s of type %s to complete", namespace, name, op)
}

// readyVersion returns the Ready version whose spec.version equals version.
func readyVersion(cavs []*v1alpha1.CAPApplicationVersion, version string) *v1alpha1.CAPApplicationVersion {
	if version == "" {
		return nil
	}
	for _, cav := range cavs {
		if cav.Spec.Version == version && cav.Status.State == v1alpha1.CAPApplicationVersionStateReady && cav.DeletionTimestamp == nil {
			return cav
		}
	}
	return nil
}

// versionByName returns the version of the given name, whatever its state.
func versionByName(cavs []*v1alpha1.CAPApplicationVersion, name string) *v1alpha1.CAPApplicationVersion {
	for _, cav := range cavs {
		if cav.Name == name {
			return cav
		}
	}
	return nil
}
