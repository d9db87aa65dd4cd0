// Package capapplication reconciles CAPApplications: it waits for the binding Secrets and
// domains, finds the latest Ready version, creates the provider tenant, moves tenants to the
// latest version and blocks the application's deletion while tenants exist.
package capapplication

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/controller/serviceexposure"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// Kind is the kind this controller reconciles; it names its queue.
const Kind = "CAPApplication"

// Controller reconciles CAPApplications.
type Controller struct {
	c     *controller.Context
	queue controller.Queue

	cas         smelisters.CAPApplicationLister
	caIndexer   cache.Indexer
	cavIndexer  cache.Indexer
	tenants     smelisters.CAPTenantLister
	tenantIndex cache.Indexer
	domains     smelisters.DomainLister
	clusterDoms smelisters.ClusterDomainLister
	secrets     cache.GenericLister

	// Worker drives the queue; its Run implements controller.Runnable.
	*controller.Worker
	exposures *serviceexposure.Reconciler
	// moved are tenant moves of rollouts the cache does not show yet.
	moved movedTenants
}

// NewController registers the informers the controller needs and its event handlers.
func NewController(c *controller.Context) (*Controller, error) {
	sme := c.SMEInformers.Sme().V1alpha1()
	ctl := &Controller{
		c:           c,
		queue:       controller.NewQueue(Kind, nil),
		cas:         sme.CAPApplications().Lister(),
		caIndexer:   sme.CAPApplications().Informer().GetIndexer(),
		cavIndexer:  sme.CAPApplicationVersions().Informer().GetIndexer(),
		tenants:     sme.CAPTenants().Lister(),
		tenantIndex: sme.CAPTenants().Informer().GetIndexer(),
		domains:     sme.Domains().Lister(),
		clusterDoms: sme.ClusterDomains().Lister(),
		secrets:     c.Secrets().Lister(),
		exposures:   serviceexposure.NewReconciler(c),
	}
	err := errors.Join(
		controller.EnsureIndex(sme.CAPApplications().Informer(), controller.IndexByDomainRef, controller.IndexBySecret),
		controller.EnsureIndex(sme.CAPApplicationVersions().Informer(), controller.IndexByApplication),
		controller.EnsureIndex(sme.CAPTenants().Informer(), controller.IndexByApplication),
	)
	if err != nil {
		return nil, err
	}
	if err := registerRolloutCollector(c.Metrics, ctl.cas); err != nil {
		return nil, err
	}
	synced, err := ctl.addHandlers()
	if err != nil {
		return nil, err
	}
	ctl.Worker = &controller.Worker{Kind: Kind, Queue: ctl.queue, Sync: ctl.sync, Synced: synced, Metrics: c.Metrics}
	return ctl, nil
}

// addHandlers routes events to the queue and returns the informers that must sync.
func (ctl *Controller) addHandlers() ([]cache.InformerSynced, error) {
	sme := ctl.c.SMEInformers.Sme().V1alpha1()
	return controller.AddHandlers([]controller.Registration{
		{Informer: sme.CAPApplications().Informer(), Handler: controller.PrimaryHandler(ctl.queue)},
		{Informer: sme.CAPApplicationVersions().Informer(), Handler: ownedHandler(ctl.enqueueApp)},
		{Informer: sme.CAPTenants().Informer(), Handler: ownedHandler(ctl.enqueueApp)},
		{Informer: sme.Domains().Informer(), Handler: controller.DependentHandler(ctl.domainChanged)},
		{Informer: sme.ClusterDomains().Informer(), Handler: controller.DependentHandler(ctl.domainChanged)},
		{Informer: ctl.c.Secrets().Informer(), Handler: controller.CreateDeleteHandler(ctl.secretChanged)},
		{Informer: ctl.c.IstioInformers.Networking().V1().VirtualServices().Informer(), Handler: controller.DependentHandler(ctl.enqueueOwner)},
	})
}

// enqueueApp queues, batched, the application a version or tenant belongs to: many tenants
// changing together cause one sync.
func (ctl *Controller) enqueueApp(namespace, app string) {
	controller.EnqueueBatched(ctl.queue, cache.ObjectName{Namespace: namespace, Name: app})
}

// enqueueOwner queues the application controlling a changed service-exposure
// VirtualService, so a deleted or edited one is put back.
func (ctl *Controller) enqueueOwner(obj metav1.Object) {
	key, ok := controller.ControllerOwner(obj, v1alpha1.Kind(Kind), func(ns, name string) (metav1.Object, error) {
		return ctl.cas.CAPApplications(ns).Get(name)
	})
	if ok {
		controller.EnqueueBatched(ctl.queue, key)
	}
}

// domainChanged queues the applications referencing a changed or deleted domain, and those
// whose spec.domains are not migrated yet: a refused migration may have been over this domain
// (a host it served), so it is tried again. Pending migrations are found by their spec, not
// by the DomainsMigrationFailed status, which the cache may not show yet.
func (ctl *Controller) domainChanged(obj metav1.Object) {
	for _, ca := range controller.ApplicationsOfDomain(ctl.caIndexer, obj) {
		controller.EnqueueBatched(ctl.queue, cache.MetaObjectToName(ca))
	}
	cas, err := ctl.cas.List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("listing applications to retry their domains migration: %w", err))
		return
	}
	for _, ca := range cas {
		if len(domainref.LegacyDomains(ca)) > 0 {
			controller.EnqueueBatched(ctl.queue, cache.MetaObjectToName(ca))
		}
	}
}

// secretChanged queues the applications bound to a created or deleted Secret.
func (ctl *Controller) secretChanged(obj metav1.Object) {
	cas := controller.ApplicationsOfSecret(ctl.caIndexer, obj)
	for _, ca := range cas {
		controller.EnqueueImmediately(ctl.queue, cache.MetaObjectToName(ca))
	}
}

// ownedHandler calls notify with the application of every created, changed or deleted
// version or tenant.
func ownedHandler(notify func(namespace, app string)) cache.ResourceEventHandlerFuncs {
	call := func(obj any) {
		switch o := tombstoneObj(obj).(type) {
		case *v1alpha1.CAPApplicationVersion:
			notify(o.Namespace, o.Spec.CAPApplicationInstance)
		case *v1alpha1.CAPTenant:
			notify(o.Namespace, o.Spec.CAPApplicationInstance)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: call,
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := controller.MetaOf(oldObj)
			n, ok2 := controller.MetaOf(newObj)
			if ok1 && ok2 && o.GetResourceVersion() != n.GetResourceVersion() {
				call(newObj)
			}
		},
		DeleteFunc: call,
	}
}

// tombstoneObj unwraps the object of a delete tombstone.
func tombstoneObj(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}
