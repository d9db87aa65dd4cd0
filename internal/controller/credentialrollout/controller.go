// Package credentialrollout rolls the workloads of applications that set
// rolloutOnCredentialUpdate when the binding Secrets they consume change.
//
// Binding Secrets are watched as metadata only: a change shows as a new resourceVersion. A
// change of a binding Secret of a flagged application queues its namespace after the rollout
// delay, so that all changes within the delay (a service broker rotating several keys) are
// handled in one batch. The batch reads the binding Secrets of the namespace's flagged
// applications and rebuilds the VCAP_SERVICES of every Deployment workload. VCAP_SERVICES
// Secrets are named after their content (workload.VCAPSecretName), so only Deployments whose
// content changed, the consumers of the changed services, get a new Secret and a new pod
// template; the others are not written at all. The CAPApplicationVersion controller deletes
// superseded Secrets once their Deployment has rolled out.
package credentialrollout

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// QueueName names the controller's queue and its metrics, as the previous implementation's
// rollout manager did.
const QueueName = "rollout-manager"

// DefaultDelay is the rollout delay when none is configured (ROLLOUT_DELAY).
const DefaultDelay = time.Hour

// MinDelay is the shortest rollout delay; shorter (or negative) values are raised to it, so a
// batch is never scheduled with no delay at all.
const MinDelay = time.Second

// Controller rolls Deployments onto new VCAP_SERVICES Secrets, one namespace at a time. Its
// queue keys carry only a namespace.
type Controller struct {
	c     *controller.Context
	queue controller.Queue
	delay time.Duration

	cas         smelisters.CAPApplicationLister
	caIndexer   cache.Indexer
	cavIndexer  cache.Indexer
	deployments appslisters.DeploymentLister

	// Worker drives the queue; its Run implements controller.Runnable.
	*controller.Worker
}

// NewController registers the informers the controller needs and its event handlers.
func NewController(c *controller.Context) (*Controller, error) {
	sme := c.SMEInformers.Sme().V1alpha1()
	ctl := &Controller{
		c: c,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: QueueName, Clock: c.Clock}),
		delay:       EffectiveDelay(c.Options.RolloutDelay),
		cas:         sme.CAPApplications().Lister(),
		caIndexer:   sme.CAPApplications().Informer().GetIndexer(),
		cavIndexer:  sme.CAPApplicationVersions().Informer().GetIndexer(),
		deployments: c.OwnedInformers.Apps().V1().Deployments().Lister(),
	}
	if err := controller.EnsureIndex(sme.CAPApplications().Informer(), controller.IndexBySecret); err != nil {
		return nil, err
	}
	if err := controller.EnsureIndex(sme.CAPApplicationVersions().Informer(), controller.IndexByApplication); err != nil {
		return nil, err
	}
	synced, err := controller.AddHandlers([]controller.Registration{
		{Informer: c.Secrets().Informer(), Handler: changeHandler(ctl.bindingChanged)},
		{Informer: sme.CAPApplications().Informer(), Handler: applicationHandler(ctl.applicationChanged)},
		{Informer: sme.CAPApplicationVersions().Informer()},
		{Informer: c.OwnedInformers.Apps().V1().Deployments().Informer()},
	})
	if err != nil {
		return nil, err
	}
	ctl.Worker = &controller.Worker{Kind: QueueName, Queue: ctl.queue, Sync: ctl.sync, Synced: synced, Metrics: c.Metrics}
	return ctl, nil
}

// EffectiveDelay returns the rollout delay to use for a configured one: at least MinDelay
// (the previous implementation raised values below 30s to 30s).
func EffectiveDelay(d time.Duration) time.Duration {
	return max(d, MinDelay)
}

// enqueueDelayed schedules a batch for a namespace after the rollout delay. The delaying
// queue keeps the earliest time of a key it already holds, so every change before the batch
// runs joins it instead of postponing it.
func (ctl *Controller) enqueueDelayed(namespace string) {
	ctl.queue.AddAfter(cache.ObjectName{Namespace: namespace}, ctl.delay)
}

// bindingChanged schedules a batch when a created or changed Secret is a binding Secret of
// an application that rolls on credential updates.
func (ctl *Controller) bindingChanged(obj metav1.Object) {
	cas := controller.ApplicationsOfSecret(ctl.caIndexer, obj)
	for _, ca := range cas {
		if rolls(ca) {
			ctl.enqueueDelayed(ca.Namespace)
			return
		}
	}
}

// applicationChanged schedules a batch for a flagged application seen for the first time
// (every one at start-up: changes made while the operator was down are caught up) or whose
// spec changed (another binding Secret, or the flag just turned on).
func (ctl *Controller) applicationChanged(ca *v1alpha1.CAPApplication) {
	if rolls(ca) {
		ctl.enqueueDelayed(ca.Namespace)
	}
}

// rolls reports whether an application asks for credential rollouts and is not being deleted.
func rolls(ca *v1alpha1.CAPApplication) bool {
	return ca.Spec.RolloutOnCredentialUpdate && ca.DeletionTimestamp == nil
}

// changeHandler calls notify for created objects and for updates with a new resourceVersion.
// Deletions are ignored: running workloads keep the credentials they have.
func changeHandler(notify func(metav1.Object)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m, ok := controller.MetaOf(obj); ok {
				notify(m)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := controller.MetaOf(oldObj)
			n, ok2 := controller.MetaOf(newObj)
			if ok1 && ok2 && o.GetResourceVersion() != n.GetResourceVersion() {
				notify(n)
			}
		},
	}
}

// applicationHandler calls notify for created applications and spec changes.
func applicationHandler(notify func(*v1alpha1.CAPApplication)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if ca, ok := obj.(*v1alpha1.CAPApplication); ok {
				notify(ca)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*v1alpha1.CAPApplication)
			n, ok2 := newObj.(*v1alpha1.CAPApplication)
			if ok1 && ok2 && o.Generation != n.Generation {
				notify(n)
			}
		},
	}
}
