package capapplicationversion

import (
	"context"
	"errors"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// deploymentOrder is the order deployment workloads are created in: services the others
// call first, the router, the CAP server, then the rest.
var deploymentOrder = []v1alpha1.DeploymentType{
	v1alpha1.DeploymentService, v1alpha1.DeploymentRouter, v1alpha1.DeploymentCAP, v1alpha1.DeploymentAdditional,
}

// reconcile creates or corrects every child of the version and reports the outcome.
func (ctl *Controller) reconcile(ctx context.Context, in versionrender.Input) outcome {
	if missing := controller.MissingBindingSecrets(ctl.secrets, in.CA); len(missing) > 0 {
		return waiting(ReasonWaitingForSecrets, "waiting for the binding secrets %v of CAPApplication %s", missing, in.CA.Name)
	}
	for i := range in.CAV.Spec.Workloads {
		if err := workload.CheckReservedEnv(&in.CAV.Spec.Workloads[i]); err != nil {
			return failed(ReasonInvalidEnv, err)
		}
	}
	jobs := ctl.reconcileContentJobs(ctx, in)
	if jobs.done != nil {
		return *jobs.done
	}
	if o := ctl.reconcileDeployments(ctx, in); o != nil {
		return *o
	}
	if o := ctl.reconcileNetworkPolicies(ctx, in); o != nil {
		return *o
	}
	if o := ctl.deploymentStatus(in); o != nil {
		return *o
	}
	if jobs.pending != "" {
		return waiting(ReasonWaitingForWorkloads, "waiting for content job %s", jobs.pending)
	}
	if o := ctl.exposureDomainsReady(in); o != nil {
		return *o
	}
	return ready(jobs.finished)
}

// deploymentWorkloads returns the deployment workloads in creation order.
func deploymentWorkloads(cav *v1alpha1.CAPApplicationVersion) []*v1alpha1.WorkloadDetails {
	var out []*v1alpha1.WorkloadDetails
	for _, typ := range deploymentOrder {
		for i := range cav.Spec.Workloads {
			w := &cav.Spec.Workloads[i]
			if w.DeploymentDefinition != nil && w.DeploymentDefinition.Type == typ {
				out = append(out, w)
			}
		}
	}
	return out
}

// reconcileDeployments ensures each deployment workload's VCAP Secret, Deployment, Service,
// ServiceMonitor, PodDisruptionBudget, autoscaler and DestinationRule.
func (ctl *Controller) reconcileDeployments(ctx context.Context, in versionrender.Input) *outcome {
	for _, w := range deploymentWorkloads(in.CAV) {
		if o := ctl.reconcileDeployment(ctx, in, w); o != nil {
			return o
		}
		if o := ctl.reconcileWorkloadExtras(ctx, in, w); o != nil {
			return o
		}
	}
	return nil
}

// reconcileDeployment ensures one workload's VCAP Secret and Deployment, and deletes the
// VCAP Secrets the Deployment no longer needs.
func (ctl *Controller) reconcileDeployment(ctx context.Context, in versionrender.Input, w *v1alpha1.WorkloadDetails) *outcome {
	name := workload.Name(in.CAV.Name, w.Name)
	existing, getErr := ctl.deployments.Deployments(in.CAV.Namespace).Get(name)
	if getErr != nil && !apierrors.IsNotFound(getErr) {
		return ptr.To(transient(getErr))
	}
	current := ""
	if getErr == nil {
		current = workload.VCAPSecretOf(&existing.Spec.Template.Spec)
	}
	vcap, err := ctl.ensureVCAPSecret(ctx, in, name, w.ConsumedBTPServices, current)
	if err != nil {
		return ptr.To(transient(fmt.Errorf("VCAP_SERVICES secret of workload %s: %w", w.Name, err)))
	}
	destinations := ""
	if w.DeploymentDefinition.Type == v1alpha1.DeploymentRouter {
		if destinations, err = versionrender.RouterDestinations(in, w); err != nil {
			return ptr.To(failed(ReasonDeploymentError, err))
		}
	}
	d, err := ctl.ensureDeployment(ctx, in, versionrender.NewDeployment(in, w, destinations, vcap), existing, getErr)
	if err != nil {
		return ptr.To(classify(ReasonDeploymentError, fmt.Errorf("deployment %s: %w", name, err)))
	}
	if err := ctl.cleanupVCAPSecrets(ctx, in, d); err != nil {
		return ptr.To(transient(err))
	}
	return nil
}

// reconcileWorkloadExtras ensures the optional objects of one deployment workload.
func (ctl *Controller) reconcileWorkloadExtras(ctx context.Context, in versionrender.Input, w *v1alpha1.WorkloadDetails) *outcome {
	if svc := versionrender.NewService(in, w); svc != nil {
		if _, _, err := controller.EnsureChild(ctx, ctl.serviceChild(), svc); err != nil {
			return ptr.To(classify(ReasonServiceError, fmt.Errorf("service %s: %w", svc.Name, err)))
		}
	}
	if err := ctl.ensureServiceMonitor(ctx, in, w); err != nil {
		return ptr.To(classify(ReasonServiceError, err))
	}
	if pdb := newPodDisruptionBudget(in, w); pdb != nil {
		if _, _, err := controller.EnsureChild(ctx, ctl.pdbChild(), pdb); err != nil {
			return ptr.To(classify(ReasonDeploymentError, fmt.Errorf("pod disruption budget %s: %w", pdb.Name, err)))
		}
	}
	if hpa := newHorizontalPodAutoscaler(in, w); hpa != nil {
		if _, _, err := controller.EnsureChild(ctx, ctl.hpaChild(), hpa); err != nil {
			return ptr.To(classify(ReasonDeploymentError, fmt.Errorf("autoscaler %s: %w", hpa.Name, err)))
		}
	}
	if dr := newDestinationRule(in, w); dr != nil {
		if _, _, err := controller.EnsureChild(ctx, ctl.destinationRuleChild(), dr); err != nil {
			return ptr.To(classify(ReasonDeploymentError, fmt.Errorf("versionrender.Destination rule %s: %w", dr.Name, err)))
		}
	}
	return nil
}

// reconcileNetworkPolicies ensures the version's NetworkPolicies.
func (ctl *Controller) reconcileNetworkPolicies(ctx context.Context, in versionrender.Input) *outcome {
	for _, np := range newNetworkPolicies(in) {
		if _, _, err := controller.EnsureChild(ctx, ctl.networkPolicyChild(), np); err != nil {
			return ptr.To(classify(ReasonNetworkPolicyError, fmt.Errorf("network policy %s: %w", np.Name, err)))
		}
	}
	return nil
}

// contentResult is the state of the content Jobs.
type contentResult struct {
	finished []string
	pending  string
	done     *outcome
}

// reconcileContentJobs runs the content Jobs one at a time, in order, and records the
// finished ones.
func (ctl *Controller) reconcileContentJobs(ctx context.Context, in versionrender.Input) contentResult {
	res := contentResult{finished: slices.Clone(in.CAV.Status.FinishedJobs)}
	workloads, names := versionrender.ContentJobs(in.CAV)
	for i, w := range workloads {
		name := names[i]
		job, err := ctl.jobs.Jobs(in.CAV.Namespace).Get(name)
		if apierrors.IsNotFound(err) && recorded(res.finished, in.CAV.Name, name) {
			continue // finished earlier and since removed (ttlSecondsAfterFinished)
		}
		if apierrors.IsNotFound(err) {
			res.pending = name
			if err := ctl.createContentJob(ctx, in, w, name); err != nil {
				res.done = ptr.To(classify(ReasonContentJobError, err))
			}
			return res
		}
		if err != nil {
			res.done = ptr.To(transient(err))
			return res
		}
		complete, failedMsg := jobFinished(job)
		if !complete && failedMsg == "" {
			res.pending = name
			return res
		}
		if !slices.Contains(res.finished, name) {
			res.finished = append(res.finished, name)
		}
		if failedMsg != "" {
			o := failed(ReasonWorkloadStatusError, fmt.Errorf("content job %s failed: %s", name, failedMsg))
			o.finishedJobs = res.finished
			res.done = &o
			return res
		}
	}
	return res
}

// recorded reports whether a content Job is in finishedJobs, also under the legacy name
// `<cav>-content`.
func recorded(finished []string, cavName, name string) bool {
	return slices.Contains(finished, name) || slices.Contains(finished, cavName+"-content")
}

// createContentJob creates a content Job and its VCAP_SERVICES Secret.
func (ctl *Controller) createContentJob(ctx context.Context, in versionrender.Input, w *v1alpha1.WorkloadDetails, name string) error {
	vcap, err := ctl.ensureVCAPSecret(ctx, in, name, w.ConsumedBTPServices, "")
	if err != nil {
		return fmt.Errorf("VCAP_SERVICES secret of content job %s: %w", name, err)
	}
	if _, _, err := controller.EnsureChild(ctx, ctl.jobChild(), versionrender.NewContentJob(in, w, name, vcap)); err != nil {
		return fmt.Errorf("content job %s: %w", name, err)
	}
	return nil
}

// jobFinished reports whether a Job completed, or why it failed.
func jobFinished(job *batchv1.Job) (complete bool, failedMessage string) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, ""
		case batchv1.JobFailed:
			return false, fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	return false, ""
}

// deploymentStatus reports the first deployment that is not yet available or failed, with
// the Deployment's own condition reason and message, so the version's status says what to
// look at.
func (ctl *Controller) deploymentStatus(in versionrender.Input) *outcome {
	for _, w := range deploymentWorkloads(in.CAV) {
		name := workload.Name(in.CAV.Name, w.Name)
		d, err := ctl.deployments.Deployments(in.CAV.Namespace).Get(name)
		if err != nil {
			return ptr.To(waiting(ReasonWaitingForWorkloads, "waiting for deployment %s", name))
		}
		if msg := replicaFailure(d); msg != "" {
			return ptr.To(failed(ReasonWorkloadStatusError, fmt.Errorf("deployment %s: %s", name, msg)))
		}
		if !available(d) {
			detail := notAvailableDetail(d)
			if pod := podProblem(ctl.deploymentPods(d)); pod != "" {
				detail += "; " + pod
			}
			return ptr.To(waiting(ReasonWaitingForWorkloads, "waiting for deployment %s to become available%s", name, detail))
		}
	}
	return nil
}

// available reports whether a Deployment observed its latest spec and is Available.
func available(d *appsv1.Deployment) bool {
	if d.Status.ObservedGeneration < d.Generation {
		return false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// replicaFailure returns the reason and message of a true ReplicaFailure condition.
func replicaFailure(d *appsv1.Deployment) string {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			return reasonMessage(c.Reason, c.Message)
		}
	}
	return ""
}

// notAvailableDetail passes on why a Deployment is not available: a Progressing condition
// that is False (ProgressDeadlineExceeded) comes first, then an Available condition that is
// False. It returns "" when the Deployment says nothing, else ": " and the detail.
func notAvailableDetail(d *appsv1.Deployment) string {
	var progressing, availableCond string
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse:
			progressing = reasonMessage(c.Reason, c.Message)
		case c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionFalse:
			availableCond = reasonMessage(c.Reason, c.Message)
		}
	}
	for _, detail := range []string{progressing, availableCond} {
		if detail != "" {
			return ": " + detail
		}
	}
	return ""
}

// reasonMessage joins a condition's reason and message ("Reason: message").
func reasonMessage(reason, message string) string {
	switch {
	case reason == "":
		return message
	case message == "":
		return reason
	}
	return reason + ": " + message
}

// classify turns an error into an outcome: requeue requests and API errors are transient;
// anything else is an Error state with the given reason.
func classify(reason string, err error) outcome {
	if _, ok := controller.IsRequeue(err); ok {
		return transient(err)
	}
	var conflict *controller.ChildConflictError
	if errors.As(err, &conflict) {
		return failed(controller.ReasonChildConflict, err)
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && !apierrors.IsInvalid(err) && !apierrors.IsForbidden(err) {
		return transient(err)
	}
	return failed(reason, err)
}
