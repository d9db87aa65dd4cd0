package capapplicationversion

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/versionrender"
)

// Replacing a Deployment whose selector cannot be kept (see ensureDeployment).
const (
	// reasonDeploymentReplaced is the event reason of a replaced Deployment.
	reasonDeploymentReplaced = "DeploymentReplaced"
	// orphanWait bounds how long a sync waits for the garbage collector to release the
	// ReplicaSets of a Deployment deleted with orphan propagation.
	orphanWait = 15 * time.Second
)

// ensureDeployment creates or updates a workload's Deployment; existing and getErr are the
// result of reading it from the cache.
//
// A Deployment's selector is immutable. This operator selects pods on stable labels only,
// while the previous implementation also put owner-generation, exposed-workload and the
// user's labels into the selector. When such a Deployment needs an update whose pod labels
// no longer match its selector (the version's generation changed, say), the API server would
// refuse the update; the Deployment is then replaced: deleted with orphan propagation, so
// its ReplicaSets and pods keep running, and created again with this operator's selector.
// The new Deployment adopts the running ReplicaSets (their labels include every label of the
// new selector) and rolls them over to the new pod template, so the workload keeps serving.
func (ctl *Controller) ensureDeployment(ctx context.Context, in versionrender.Input, desired, existing *appsv1.Deployment, getErr error) (*appsv1.Deployment, error) {
	if getErr == nil && existing.DeletionTimestamp != nil {
		return nil, controller.RequeueAfter(time.Second, "waiting for deployment "+desired.Name+" to be deleted")
	}
	if getErr == nil && needsReplacement(desired, existing) && metav1.IsControlledBy(existing, in.CAV) {
		return ctl.replaceDeployment(ctx, in, desired, existing)
	}
	// Compare against the very object the injected Secret was read from: should the credential
	// rollout point the Deployment at a new Secret meanwhile, the update conflicts instead of
	// putting the old Secret back.
	if getErr != nil {
		d, _, err := controller.CreateChild(ctx, ctl.deploymentChild(), desired)
		return d, err
	}
	d, _, err := controller.UpdateChild(ctx, ctl.deploymentChild(), desired, existing)
	return d, err
}

// needsReplacement reports whether the existing Deployment must be updated and the update
// would be refused because the desired pod labels do not match its (immutable) selector.
func needsReplacement(desired, actual *appsv1.Deployment) bool {
	selector, err := metav1.LabelSelectorAsSelector(actual.Spec.Selector)
	if err != nil || selector.Matches(labels.Set(desired.Spec.Template.Labels)) {
		return false
	}
	return controller.ChildDrifted(controller.Child[*appsv1.Deployment]{Spec: deploymentOwned}, desired, actual)
}

// replaceDeployment deletes actual with orphan propagation and creates desired once the
// garbage collector has released the ReplicaSets. The replica count of actual is carried
// over when the workload sets none (an autoscaler owns it), so the new Deployment does not
// scale the adopted pods down.
func (ctl *Controller) replaceDeployment(ctx context.Context, in versionrender.Input, desired, actual *appsv1.Deployment) (*appsv1.Deployment, error) {
	logger := klog.FromContext(ctx).WithValues("deployment", klog.KObj(actual))
	deployments := ctl.c.Clients.Kube.AppsV1().Deployments(actual.Namespace)
	err := deployments.Delete(ctx, actual.Name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan),
		// Delete exactly the object that was evaluated; a newer one is evaluated again.
		Preconditions: &metav1.Preconditions{UID: &actual.UID, ResourceVersion: &actual.ResourceVersion},
	})
	switch {
	case apierrors.IsNotFound(err):
		// The cache is behind: the Deployment is already gone (or replaced).
		return nil, controller.RequeueAfter(time.Second, "waiting for the cache to show deployment "+actual.Name)
	case err != nil:
		return nil, fmt.Errorf("deleting deployment %s with a selector that cannot be kept: %w", actual.Name, err)
	}
	logger.Info("Replacing deployment: its immutable selector does not match the pod labels", "selector", actual.Spec.Selector.MatchLabels)
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, orphanWait, true, func(ctx context.Context) (bool, error) {
		d, err := deployments.Get(ctx, actual.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && d.UID != actual.UID, err
	})
	if err != nil {
		return nil, controller.RequeueAfter(time.Second, "waiting for deployment "+actual.Name+" to release its ReplicaSets")
	}
	replacement := desired.DeepCopy()
	if replacement.Spec.Replicas == nil {
		replacement.Spec.Replicas = actual.Spec.Replicas
	}
	created, err := deployments.Create(ctx, replacement, metav1.CreateOptions{FieldManager: controller.FieldManager})
	switch {
	case apierrors.IsAlreadyExists(err):
		return nil, controller.RequeueAfter(time.Second, "waiting for the cache to show deployment "+actual.Name)
	case err != nil:
		return nil, fmt.Errorf("creating deployment %s again: %w", actual.Name, err)
	}
	ctl.c.Recorder.Eventf(in.CAV, nil, corev1.EventTypeNormal, reasonDeploymentReplaced, "ReconcileWorkloads",
		"Deployment %s was replaced to change its selector; its pods kept running and are rolled over to the new template", actual.Name)
	return created, nil
}
