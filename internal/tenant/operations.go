package tenant

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Annotations the operator records on the CAPTenantOperations it creates.
const (
	// AnnotationSequence numbers a tenant's operations (1, 2, ...). It orders them reliably
	// where creation timestamps, which have a one-second resolution, tie.
	AnnotationSequence = "sme.sap.com/operation-sequence"
	// AnnotationAttempt is the attempt of the operation: 1 for the first run, n+1 for the
	// n-th automatic retry. It survives the pruning of older operations, so the retry budget
	// does not depend on how much history is kept.
	AnnotationAttempt = "sme.sap.com/operation-attempt"
)

// Condition reasons of a CAPTenantOperation's Ready condition.
const (
	ReasonStepInitiated       = "StepInitiated"
	ReasonStepProcessing      = "StepProcessing"
	ReasonStepCompleted       = "StepCompleted"
	ReasonStepFailed          = "StepFailed"
	ReasonStepProcessingError = "StepProcessingError"
)

// Finished reports whether an operation has ended: its Ready condition is True.
func Finished(op *v1alpha1.CAPTenantOperation) bool {
	return meta.IsStatusConditionTrue(op.Status.Conditions, v1alpha1.ConditionTypeReady)
}

// Succeeded reports whether an operation has ended successfully (reason StepCompleted).
func Succeeded(op *v1alpha1.CAPTenantOperation) bool {
	c := meta.FindStatusCondition(op.Status.Conditions, v1alpha1.ConditionTypeReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.Reason == ReasonStepCompleted
}

// FinishedAt returns when an operation ended (the transition time of its Ready condition),
// or its creation time when that is unknown.
func FinishedAt(op *v1alpha1.CAPTenantOperation) time.Time {
	if c := meta.FindStatusCondition(op.Status.Conditions, v1alpha1.ConditionTypeReady); c != nil && !c.LastTransitionTime.IsZero() {
		return c.LastTransitionTime.Time
	}
	return op.CreationTimestamp.Time
}

// ResultMessage returns the message of a finished operation's Ready condition.
func ResultMessage(op *v1alpha1.CAPTenantOperation) string {
	if c := meta.FindStatusCondition(op.Status.Conditions, v1alpha1.ConditionTypeReady); c != nil {
		return c.Message
	}
	return ""
}

// Sequence returns an operation's sequence number; 0 for operations created by others.
func Sequence(op *v1alpha1.CAPTenantOperation) int64 {
	n, _ := strconv.ParseInt(op.Annotations[AnnotationSequence], 10, 64)
	return n
}

// Attempt returns an operation's attempt number, at least 1.
func Attempt(op *v1alpha1.CAPTenantOperation) int {
	n, err := strconv.Atoi(op.Annotations[AnnotationAttempt])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// SortOperations returns the operations oldest first: by sequence, then creation time, then
// name.
func SortOperations(ops []*v1alpha1.CAPTenantOperation) []*v1alpha1.CAPTenantOperation {
	out := slices.Clone(ops)
	slices.SortStableFunc(out, func(a, b *v1alpha1.CAPTenantOperation) int {
		if d := Sequence(a) - Sequence(b); d != 0 {
			return sign(d)
		}
		if c := a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// sign returns -1, 0 or 1.
func sign(d int64) int {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// NextSequence returns the sequence number of a tenant's next operation.
func NextSequence(ops []*v1alpha1.CAPTenantOperation) int64 {
	var highest int64
	for _, op := range ops {
		highest = max(highest, Sequence(op))
	}
	return highest + 1
}

// nameAlphabet is the alphabet of generated name suffixes (the API server's, without vowels).
const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// maxObjectName is the length limit of an object name (a DNS subdomain).
const maxObjectName = 253

// OperationName returns the name of a tenant's operation with the given sequence number:
// "<tenant>-<5 characters>", like a generated name, but derived from the tenant's UID and the
// sequence. A second create of the same operation (after a restart, or from a stale cache)
// therefore fails with AlreadyExists instead of starting the operation twice.
func OperationName(tenantName string, tenantUID types.UID, seq int64) string {
	sum := identity.SHA1(string(tenantUID), strconv.FormatInt(seq, 10))
	suffix := make([]byte, 5)
	for i := range suffix {
		v, _ := strconv.ParseUint(sum[i*2:i*2+2], 16, 8)
		suffix[i] = nameAlphabet[int(v)%len(nameAlphabet)]
	}
	prefix := tenantName
	if len(prefix) > maxObjectName-len(suffix)-1 {
		prefix = prefix[:maxObjectName-len(suffix)-1]
	}
	return prefix + "-" + string(suffix)
}

// JobName returns the name of the Job of step i of an operation: "<operation>-<workload>",
// with "-<i+1>" appended when an earlier step runs the same workload, made a valid DNS label
// of at most 63 characters. The name is deterministic, so a step never gets two Jobs: a
// second create hits AlreadyExists.
func JobName(operationName string, steps []v1alpha1.CAPTenantOperationStep, i int) string {
	base := operationName + "-" + strings.ToLower(steps[i].Name)
	for _, earlier := range steps[:i] {
		if earlier.Name == steps[i].Name {
			base = fmt.Sprintf("%s-%d", base, i+1)
			break
		}
	}
	return workload.JobName(base)
}

// Prune returns the finished operations beyond the newest keep ones (at least one is always
// kept: the newest operation carries the retry attempt). Running operations and operations
// already being deleted are never returned.
func Prune(ops []*v1alpha1.CAPTenantOperation, keep int) []*v1alpha1.CAPTenantOperation {
	keep = max(keep, 1)
	sorted := SortOperations(ops)
	var prune []*v1alpha1.CAPTenantOperation
	kept := 0
	for i := len(sorted) - 1; i >= 0; i-- {
		op := sorted[i]
		if !Finished(op) || op.DeletionTimestamp != nil {
			continue
		}
		kept++
		if kept > keep {
			prune = append(prune, op)
		}
	}
	return prune
}
