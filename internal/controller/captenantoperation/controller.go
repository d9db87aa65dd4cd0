// Package captenantoperation reconciles CAPTenantOperations: it runs an operation's steps one
// at a time, each as a Job with a deterministic name (so a step never gets two Jobs, even
// across restarts), gives each Job its VCAP_SERVICES Secret and the operator's environment,
// and records the progress in the operation's status. A step Job the previous implementation
// created (with a generated name) is found by its step labels and adopted instead.
package captenantoperation

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// Kind is the kind this controller reconciles; it names its queue.
const Kind = "CAPTenantOperation"

// indexByVersion indexes operations by "<ns>/<capApplicationVersionInstance>", so a version
// becoming Ready reaches the operations waiting for it.
const indexByVersion = "captenantoperation.byVersion"

// Controller reconciles CAPTenantOperations.
type Controller struct {
	c     *controller.Context
	queue controller.Queue

	ops       smelisters.CAPTenantOperationLister
	opIndexer cache.Indexer
	tenants   smelisters.CAPTenantLister
	cavs      smelisters.CAPApplicationVersionLister
	cas       smelisters.CAPApplicationLister
	jobs      batchlisters.JobLister
	jobIndex  cache.Indexer
	secrets   cache.GenericLister

	// Worker drives the queue; its Run implements controller.Runnable.
	*controller.Worker
	vcap vcapCache
}

// NewController registers the informers the controller needs and its event handlers.
func NewController(c *controller.Context) (*Controller, error) {
	sme := c.SMEInformers.Sme().V1alpha1()
	ctl := &Controller{
		c:         c,
		queue:     controller.NewQueue(Kind, tenant.QueueRateLimiter()),
		ops:       sme.CAPTenantOperations().Lister(),
		opIndexer: sme.CAPTenantOperations().Informer().GetIndexer(),
		tenants:   sme.CAPTenants().Lister(),
		cavs:      sme.CAPApplicationVersions().Lister(),
		cas:       sme.CAPApplications().Lister(),
		jobs:      c.OwnedInformers.Batch().V1().Jobs().Lister(),
		jobIndex:  c.OwnedInformers.Batch().V1().Jobs().Informer().GetIndexer(),
		secrets:   c.Secrets().Lister(),
		vcap:      vcapCache{entries: map[string]*vcapEntry{}},
	}
	informer := sme.CAPTenantOperations().Informer()
	if _, ok := informer.GetIndexer().GetIndexers()[indexByVersion]; !ok {
		if err := informer.AddIndexers(cache.Indexers{indexByVersion: byVersion}); err != nil {
			return nil, err
		}
	}
	jobs := c.OwnedInformers.Batch().V1().Jobs().Informer()
	if _, ok := jobs.GetIndexer().GetIndexers()[indexJobsByController]; !ok {
		if err := jobs.AddIndexers(cache.Indexers{indexJobsByController: byController}); err != nil {
			return nil, err
		}
	}
	synced, err := ctl.addHandlers()
	if err != nil {
		return nil, err
	}
	ctl.Worker = &controller.Worker{Kind: Kind, Queue: ctl.queue, Sync: ctl.sync, Synced: synced, Metrics: c.Metrics}
	return ctl, nil
}

// indexJobsByController indexes Jobs by the UID of their controller, so an operation finds its
// Jobs without scanning every Job of the namespace (which made a mass operation quadratic).
const indexJobsByController = "captenantoperation.jobsByController"

// byController indexes an object by its controller's UID.
func byController(obj any) ([]string, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}

// byVersion indexes an operation by its version.
func byVersion(obj any) ([]string, error) {
	op, ok := obj.(*v1alpha1.CAPTenantOperation)
	if !ok {
		return nil, fmt.Errorf("%s: unexpected type %T", indexByVersion, obj)
	}
	return []string{op.Namespace + "/" + op.Spec.CAPApplicationVersionInstance}, nil
}

// SyncNow reconciles one operation at once, as a worker does with a queued key. Tests that
// drive several controllers on fake clients use it.
func (ctl *Controller) SyncNow(ctx context.Context, key cache.ObjectName) error {
	return ctl.sync(ctx, key)
}

// addHandlers routes events to the queue and returns the informers that must sync.
func (ctl *Controller) addHandlers() ([]cache.InformerSynced, error) {
	sme := ctl.c.SMEInformers.Sme().V1alpha1()
	return controller.AddHandlers([]controller.Registration{
		{Informer: sme.CAPTenantOperations().Informer(), Handler: controller.PrimaryHandler(ctl.queue)},
		{Informer: ctl.c.OwnedInformers.Batch().V1().Jobs().Informer(), Handler: controller.DependentHandler(ctl.enqueueOwner)},
		{Informer: sme.CAPApplicationVersions().Informer(), Handler: controller.DependentHandler(ctl.versionChanged)},
		// Listed for their caches only: tenants, applications and Secret metadata are read,
		// their changes do not affect a running step.
		{Informer: sme.CAPTenants().Informer(), Handler: nil},
		{Informer: sme.CAPApplications().Informer(), Handler: nil},
		{Informer: ctl.c.Secrets().Informer(), Handler: nil},
	})
}

// enqueueOwner queues the operation controlling a changed Job: a Job's progress is the only
// thing a running operation waits for.
func (ctl *Controller) enqueueOwner(obj metav1.Object) {
	key, ok := controller.ControllerOwner(obj, v1alpha1.Kind(Kind), func(ns, name string) (metav1.Object, error) {
		return ctl.ops.CAPTenantOperations(ns).Get(name)
	})
	if ok {
		controller.EnqueueImmediately(ctl.queue, key)
	}
}

// versionChanged queues the unfinished operations of a changed version: they may be waiting
// for it to become Ready.
func (ctl *Controller) versionChanged(obj metav1.Object) {
	ops := controller.ByIndexForEvent[*v1alpha1.CAPTenantOperation](ctl.opIndexer, indexByVersion, obj.GetNamespace()+"/"+obj.GetName())
	for _, op := range ops {
		if !tenant.Finished(op) {
			controller.EnqueueBatched(ctl.queue, cache.MetaObjectToName(op))
		}
	}
}
