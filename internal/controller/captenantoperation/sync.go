package captenantoperation

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Reasons besides the step reasons of package tenant.
const (
	reasonInvalidReference = "InvalidReference"
	reasonWaitingForCAV    = "WaitingForCAPApplicationVersion"
)

// sync reconciles one CAPTenantOperation.
func (ctl *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	cached, ok, err := controller.Cached(ctl.ops.CAPTenantOperations(key.Namespace).Get, key.Name)
	if !ok {
		return err
	}
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("captenantoperation", klog.KObj(cached)))
	if tenant.Finished(cached) {
		// A finished operation is history. Operations of earlier versions carry a finalizer,
		// which goes when they are deleted.
		if cached.DeletionTimestamp != nil {
			return ctl.removeFinalizer(ctx, cached)
		}
		return nil
	}
	op, ok, err := ctl.prepare(ctx, cached)
	if err != nil || !ok {
		return err
	}
	if len(op.Spec.Steps) == 0 {
		return ctl.finish(ctx, op, false, tenant.ReasonStepProcessingError, "the operation has no steps")
	}
	ca, err := ctl.cas.CAPApplications(op.Namespace).Get(ctl.appName(op))
	if err != nil {
		return ctl.lookupError(ctx, op, "CAPApplication", err)
	}
	cav, err := ctl.cavs.CAPApplicationVersions(op.Namespace).Get(op.Spec.CAPApplicationVersionInstance)
	if err != nil {
		return ctl.lookupError(ctx, op, "CAPApplicationVersion", err)
	}
	if cav.Status.State != v1alpha1.CAPApplicationVersionStateReady && op.Spec.Operation != v1alpha1.CAPTenantOperationTypeDeprovisioning {
		_, err := ctl.writeStatus(ctx, op, outcome{reason: reasonWaitingForCAV, message: fmt.Sprintf("waiting for CAPApplicationVersion %s to be Ready", cav.Name), step: op.Status.CurrentStep, job: op.Status.ActiveJob})
		return err
	}
	return ctl.runSteps(ctx, op, ca, cav)
}

// lookupError handles a missing application or version as a step error and returns other
// lister errors.
func (ctl *Controller) lookupError(ctx context.Context, op *v1alpha1.CAPTenantOperation, kind string, err error) error {
	if !apierrors.IsNotFound(err) {
		return err
	}
	return ctl.stepError(ctx, op, tenant.ReasonStepProcessingError, fmt.Sprintf("%s not found: %v", kind, err))
}

// appName returns the application of an operation: its tenant's.
func (ctl *Controller) appName(op *v1alpha1.CAPTenantOperation) string {
	if name, ok := tenant.OperationTenant(op); ok {
		if t, err := ctl.tenants.CAPTenants(op.Namespace).Get(name); err == nil {
			return t.Spec.CAPApplicationInstance
		}
	}
	if cav, err := ctl.cavs.CAPApplicationVersions(op.Namespace).Get(op.Spec.CAPApplicationVersionInstance); err == nil {
		return cav.Spec.CAPApplicationInstance
	}
	return ""
}

// runSteps drives the current step: it creates the step's Job when there is none, waits for
// it, and moves to the next step (creating its Job in the same pass) or finishes the
// operation. A running step writes no status (see writeRunning): where the operation stands
// follows from its Jobs, since a step's Job is only created once the step before has ended.
func (ctl *Controller) runSteps(ctx context.Context, op *v1alpha1.CAPTenantOperation, ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) error {
	steps := op.Spec.Steps
	i := 0
	if cs := op.Status.CurrentStep; cs != nil && *cs >= 1 && int(*cs) <= len(steps) {
		i = int(*cs) - 1
	}
	var skipped, warnings []string
	for {
		name := tenant.JobName(op.Name, steps, i)
		job, err := ctl.stepJob(op, i, name)
		if err == nil {
			name = job.Name
		}
		running := outcome{reason: tenant.ReasonStepInitiated, message: stepMessage(op, i, fmt.Sprintf("job %s/%s created", op.Namespace, name)), step: ptr.To(uint32(i + 1)), job: ptr.To(name)}
		if apierrors.IsNotFound(err) {
			if ctl.laterStepStarted(op, i) {
				i++ // this step ended before (its Job may be gone after its TTL)
				continue
			}
			if err := ctl.createJob(ctx, op, ca, cav, i, name); err != nil {
				return err
			}
			ctl.warn(op, warnings)
			return ctl.writeRunning(ctx, op, running)
		}
		if err != nil {
			return ctl.severalJobs(ctx, op, i, err)
		}
		if ref := metav1.GetControllerOfNoCopy(job); ref == nil || ref.UID != op.UID {
			return ctl.stepError(ctx, op, tenant.ReasonStepProcessingError, fmt.Sprintf("job %s/%s exists and is not controlled by this operation", op.Namespace, name))
		}
		finished, failed, reason := jobResult(job)
		switch {
		case !finished:
			return ctl.writeRunning(ctx, op, running)
		case failed && !steps[i].ContinueOnFailure:
			return ctl.finishAt(ctx, op, false, tenant.ReasonStepFailed, stepMessage(op, i, fmt.Sprintf("job %s/%s failed: %s", op.Namespace, name, reason)), running.step, running.job)
		case failed:
			warnings = append(warnings, stepMessage(op, i, fmt.Sprintf("job %s/%s failed: %s; continuing operation", op.Namespace, name, reason)))
			skipped = append(skipped, fmt.Sprintf("step %d (%s) failed and was skipped", i+1, steps[i].Name))
		}
		if i == len(steps)-1 {
			msg := fmt.Sprintf("%d of %d steps completed", len(steps), len(steps))
			if len(skipped) > 0 {
				msg += "; " + strings.Join(skipped, "; ")
			}
			ctl.warn(op, warnings)
			return ctl.finish(ctx, op, true, tenant.ReasonStepCompleted, msg)
		}
		i++
	}
}

// laterStepStarted reports whether the Job of a step after step i exists (in the cache).
func (ctl *Controller) laterStepStarted(op *v1alpha1.CAPTenantOperation, i int) bool {
	for j := i + 1; j < len(op.Spec.Steps); j++ {
		if _, err := ctl.stepJob(op, j, tenant.JobName(op.Name, op.Spec.Steps, j)); err == nil {
			return true
		}
	}
	return false
}

// warn records the Warning events of steps that failed and were skipped, once: in the pass
// that moves past them.
func (ctl *Controller) warn(op *v1alpha1.CAPTenantOperation, messages []string) {
	for _, msg := range messages {
		ctl.c.Recorder.Eventf(op, nil, corev1.EventTypeWarning, tenant.ReasonStepFailed, eventAction, "%s", msg)
	}
}

// writeRunning records a running step only when the stored status needs it: to show the
// deletion, to clear an error or waiting reason, or to keep a step it already shows current.
// A healthy operation's status is thus written once, when it ends: the tenant's status already
// says which operation runs, and every skipped write is one per step of every tenant.
func (ctl *Controller) writeRunning(ctx context.Context, op *v1alpha1.CAPTenantOperation, o outcome) error {
	ready := meta.FindStatusCondition(op.Status.Conditions, v1alpha1.ConditionTypeReady)
	needed := (op.DeletionTimestamp != nil && op.Status.State != v1alpha1.CAPTenantOperationStateDeleting) ||
		(ready != nil && ready.Reason != tenant.ReasonStepInitiated) ||
		(op.Status.CurrentStep != nil && *op.Status.CurrentStep != *o.step) ||
		(op.Status.ActiveJob != nil && *op.Status.ActiveJob != *o.job)
	if !needed {
		return nil
	}
	_, err := ctl.writeStatus(ctx, op, o)
	return err
}

// stepMessage prefixes a message with the step it is about: "step 2/3 (name): ...".
func stepMessage(op *v1alpha1.CAPTenantOperation, i int, msg string) string {
	return fmt.Sprintf("step %d/%d (%s): %s", i+1, len(op.Spec.Steps), op.Spec.Steps[i].Name, msg)
}

// createJob creates the VCAP_SERVICES Secret and the Job of step i. A Job that already
// exists (the cache was behind) is not an error: the caller records it as running and its
// informer event follows.
func (ctl *Controller) createJob(ctx context.Context, op *v1alpha1.CAPTenantOperation, ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion, i int, name string) error {
	step, err := tenant.ResolveStep(cav, op.Spec.Steps[i])
	if err != nil {
		return ctl.stepError(ctx, op, tenant.ReasonStepProcessingError, stepMessage(op, i, err.Error()))
	}
	in := jobInput{ca: ca, cav: cav, op: op, index: i, name: name, step: step, payloadSecret: ctl.payloadSecret(ctx, op)}
	if in.vcapSecret, err = ctl.ensureVCAPSecret(ctx, in); err != nil {
		return err
	}
	_, err = ctl.c.Clients.Kube.BatchV1().Jobs(op.Namespace).Create(ctx, newJob(in), metav1.CreateOptions{FieldManager: controller.FieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating job %s: %w", name, err)
	}
	return nil
}

// payloadSecret returns the subscription-context Secret of a provisioning operation when it
// exists. A tenant created without a subscription (with kubectl) has none, and its Job runs
// without the payload rather than with a reference that would keep its pod from starting.
func (ctl *Controller) payloadSecret(ctx context.Context, op *v1alpha1.CAPTenantOperation) string {
	name := op.Annotations[v1alpha1.AnnotationSubscriptionContextSecret]
	if op.Spec.Operation != v1alpha1.CAPTenantOperationTypeProvisioning || name == "" {
		return ""
	}
	if _, err := ctl.secrets.ByNamespace(op.Namespace).Get(name); err != nil {
		klog.FromContext(ctx).Info("Subscription context secret not found, provisioning without payload", "secret", name)
		return ""
	}
	return name
}

// finish records the end of the operation, counts it in the metrics and records a Warning
// event when it failed.
func (ctl *Controller) finish(ctx context.Context, op *v1alpha1.CAPTenantOperation, ok bool, reason, message string) error {
	return ctl.finishAt(ctx, op, ok, reason, message, op.Status.CurrentStep, op.Status.ActiveJob)
}

// finishAt is finish with the step and Job a failed operation stopped at.
func (ctl *Controller) finishAt(ctx context.Context, op *v1alpha1.CAPTenantOperation, ok bool, reason, message string, step *uint32, job *string) error {
	o := outcome{state: v1alpha1.CAPTenantOperationStateCompleted, finished: true, reason: reason, message: message}
	if !ok {
		o.state, o.step, o.job = v1alpha1.CAPTenantOperationStateFailed, step, job
	}
	wrote, err := ctl.writeStatus(ctx, op, o)
	if err != nil || !wrote {
		return err
	}
	if !ok {
		ctl.c.Recorder.Eventf(op, nil, corev1.EventTypeWarning, reason, eventAction, "%s", message)
	}
	ctl.count(op, ok)
	if op.DeletionTimestamp != nil {
		// The status write does not requeue; the finalizer goes in the next pass.
		return controller.RequeueAfter(time.Millisecond, "finished while deleted")
	}
	return nil
}

// count updates the tenant operation metrics of a finished operation.
func (ctl *Controller) count(op *v1alpha1.CAPTenantOperation, ok bool) {
	m := ctl.c.Metrics
	if m == nil {
		return
	}
	app := op.Labels[v1alpha1.LabelAppIdentifierHash]
	m.TenantOperations.WithLabelValues(app, string(op.Spec.Operation)).Inc()
	result := "completed"
	if !ok {
		result = "failed"
	}
	took := ctl.c.Clock.Since(op.CreationTimestamp.Time).Seconds()
	m.TenantOperationDuration.WithLabelValues(app, op.Namespace, controller.ApplicationOfOperation(ctl.cavs, op), string(op.Spec.Operation), result).Observe(took)
	if !m.Detailed {
		return
	}
	if !ok {
		m.TenantOperationFailures.WithLabelValues(app, string(op.Spec.Operation), op.Spec.TenantId, op.Namespace, op.Name).Inc()
	}
	m.LastTenantOperationDuration.WithLabelValues(app, op.Spec.TenantId).Set(took)
}
