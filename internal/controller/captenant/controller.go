// Package captenant reconciles CAPTenants: it decides, with the rules of package tenant,
// which CAPTenantOperation a tenant needs (provisioning, upgrade, deprovisioning, automatic
// retries), creates it, takes over its result into the tenant's status and version history,
// keeps the newest operations as history, and maintains the tenant's VirtualService.
package captenant

import (
	"errors"
	"fmt"
	"sync"

	istiolisters "istio.io/client-go/pkg/listers/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// Kind is the kind this controller reconciles; it names its queue.
const Kind = "CAPTenant"

// indexByTenant indexes CAPTenantOperations by their owner-identifier-hash label, which is
// the owner hash of their tenant.
const indexByTenant = "captenant.byTenant"

// Controller reconciles CAPTenants.
type Controller struct {
	c     *controller.Context
	queue controller.Queue

	cats        smelisters.CAPTenantLister
	catIndexer  cache.Indexer
	ops         smelisters.CAPTenantOperationLister
	opIndexer   cache.Indexer
	cavs        smelisters.CAPApplicationVersionLister
	cavIndexer  cache.Indexer
	cas         smelisters.CAPApplicationLister
	caIndexer   cache.Indexer
	domains     smelisters.DomainLister
	clusterDoms smelisters.ClusterDomainLister
	outputs     smelisters.CAPTenantOutputLister
	vss         istiolisters.VirtualServiceLister
	// unreleased holds the keys of released tenants whose operations could not be deleted;
	// a sync of such a tenant, gone or still there for another finalizer, repeats it (see
	// retryRelease).
	unreleased sync.Map

	// Worker drives the queue; its Run implements controller.Runnable.
	*controller.Worker
}

// NewController registers the informers the controller needs and its event handlers.
func NewController(c *controller.Context) (*Controller, error) {
	sme := c.SMEInformers.Sme().V1alpha1()
	ctl := &Controller{
		c:           c,
		queue:       controller.NewQueue(Kind, tenant.QueueRateLimiter()),
		cats:        sme.CAPTenants().Lister(),
		catIndexer:  sme.CAPTenants().Informer().GetIndexer(),
		ops:         sme.CAPTenantOperations().Lister(),
		opIndexer:   sme.CAPTenantOperations().Informer().GetIndexer(),
		cavs:        sme.CAPApplicationVersions().Lister(),
		cavIndexer:  sme.CAPApplicationVersions().Informer().GetIndexer(),
		cas:         sme.CAPApplications().Lister(),
		caIndexer:   sme.CAPApplications().Informer().GetIndexer(),
		domains:     sme.Domains().Lister(),
		clusterDoms: sme.ClusterDomains().Lister(),
		outputs:     sme.CAPTenantOutputs().Lister(),
		vss:         c.IstioInformers.Networking().V1().VirtualServices().Lister(),
	}
	if err := ctl.addIndexes(); err != nil {
		return nil, err
	}
	synced, err := ctl.addHandlers()
	if err != nil {
		return nil, err
	}
	ctl.Worker = &controller.Worker{Kind: Kind, Queue: ctl.queue, Sync: ctl.sync, Synced: synced, Metrics: c.Metrics}
	return ctl, nil
}

// addIndexes adds the indexes the controller looks objects up by.
func (ctl *Controller) addIndexes() error {
	sme := ctl.c.SMEInformers.Sme().V1alpha1()
	err := errors.Join(
		controller.EnsureIndex(sme.CAPTenants().Informer(), controller.IndexByApplication),
		controller.EnsureIndex(sme.CAPApplicationVersions().Informer(), controller.IndexByApplication),
		controller.EnsureIndex(sme.CAPApplications().Informer(), controller.IndexByDomainRef),
	)
	if err != nil {
		return err
	}
	informer := sme.CAPTenantOperations().Informer()
	if _, ok := informer.GetIndexer().GetIndexers()[indexByTenant]; ok {
		return nil
	}
	return informer.AddIndexers(cache.Indexers{indexByTenant: byTenant})
}

// byTenant indexes an operation by its tenant's owner hash.
func byTenant(obj any) ([]string, error) {
	op, ok := obj.(*v1alpha1.CAPTenantOperation)
	if !ok {
		return nil, fmt.Errorf("%s: unexpected type %T", indexByTenant, obj)
	}
	if h := op.Labels[v1alpha1.LabelOwnerIdentifierHash]; h != "" {
		return []string{h}, nil
	}
	return nil, nil
}

// addHandlers routes events to the queue and returns the informers that must sync.
func (ctl *Controller) addHandlers() ([]cache.InformerSynced, error) {
	sme := ctl.c.SMEInformers.Sme().V1alpha1()
	return controller.AddHandlers([]controller.Registration{
		{Informer: sme.CAPTenants().Informer(), Handler: controller.PrimaryHandler(ctl.queue)},
		{Informer: sme.CAPTenantOperations().Informer(), Handler: controller.DependentHandler(ctl.operationChanged)},
		{Informer: sme.CAPApplicationVersions().Informer(), Handler: controller.DependentHandlerIf(versionMatters, ctl.versionChanged)},
		{Informer: sme.CAPApplications().Informer(), Handler: controller.DependentHandlerIf(applicationMatters, ctl.applicationChanged)},
		{Informer: sme.Domains().Informer(), Handler: controller.DependentHandler(ctl.domainChanged)},
		{Informer: sme.ClusterDomains().Informer(), Handler: controller.DependentHandler(ctl.domainChanged)},
		{Informer: ctl.c.IstioInformers.Networking().V1().VirtualServices().Informer(), Handler: controller.DependentHandler(ctl.virtualServiceChanged)},
		// Listed for its cache only: outputs are deleted before each new operation.
		{Informer: sme.CAPTenantOutputs().Informer(), Handler: nil},
	})
}

// versionMatters reports whether a version's update can change what its application's
// tenants decide: of its status a tenant reads only the state (Ready is what it waits for).
func versionMatters(oldObj, newObj any) bool {
	o, ok1 := oldObj.(*v1alpha1.CAPApplicationVersion)
	n, ok2 := newObj.(*v1alpha1.CAPApplicationVersion)
	return !ok1 || !ok2 || o.Status.State != n.Status.State || controller.RelevantUpdate(o, n)
}

// applicationMatters reports whether an application's update can change what its tenants
// decide: a tenant reads nothing of its application's status, which the application
// controller rewrites about once a second while many tenants change (tenant counts in its
// conditions). Passing those writes on would sync every tenant each time, quadratic in the
// number of tenants. A new application reaches its waiting tenants through the metadata
// update that prepares it.
func applicationMatters(oldObj, newObj any) bool {
	o, ok1 := controller.MetaOf(oldObj)
	n, ok2 := controller.MetaOf(newObj)
	return !ok1 || !ok2 || controller.RelevantUpdate(o, n)
}

// ownerTenant returns the tenant controlling obj.
func (ctl *Controller) ownerTenant(obj metav1.Object) (cache.ObjectName, bool) {
	return controller.ControllerOwner(obj, v1alpha1.Kind(Kind), func(ns, name string) (metav1.Object, error) {
		return ctl.cats.CAPTenants(ns).Get(name)
	})
}

// operationChanged queues the tenant of an operation whose status changed, at once: a
// finished operation is what a tenant waits for. Operations are not owned by their tenant
// (see tenant.WithoutTenantOwner); their owner-identifier annotation names it. The deletion
// of a finished operation (history pruned, or the operations of a released tenant) changes
// nothing the tenant decides on and queues nothing; a running operation deleted by hand is
// cancelled, and its tenant decides again.
func (ctl *Controller) operationChanged(obj metav1.Object) {
	name, ok := tenant.OperationTenant(obj)
	if !ok {
		return
	}
	if op, isOp := obj.(*v1alpha1.CAPTenantOperation); isOp && tenant.Finished(op) {
		if _, err := ctl.ops.CAPTenantOperations(op.Namespace).Get(op.Name); apierrors.IsNotFound(err) {
			return
		}
	}
	controller.EnqueueImmediately(ctl.queue, cache.ObjectName{Namespace: obj.GetNamespace(), Name: name})
}

// virtualServiceChanged queues the tenant of a changed or deleted VirtualService, so drift
// is put back.
func (ctl *Controller) virtualServiceChanged(obj metav1.Object) {
	if key, ok := ctl.ownerTenant(obj); ok {
		controller.EnqueueBatched(ctl.queue, key)
	}
}

// versionChanged queues the tenants of a version's application: a version becoming Ready
// is what tenants waiting for it need.
func (ctl *Controller) versionChanged(obj metav1.Object) {
	if cav, ok := obj.(*v1alpha1.CAPApplicationVersion); ok {
		ctl.enqueueTenants(cav.Namespace, cav.Spec.CAPApplicationInstance)
	}
}

// applicationChanged queues the tenants of a changed application (domains, header and
// version-affinity annotations).
func (ctl *Controller) applicationChanged(obj metav1.Object) {
	ctl.enqueueTenants(obj.GetNamespace(), obj.GetName())
}

// domainChanged queues the tenants of the applications referencing a changed domain.
func (ctl *Controller) domainChanged(obj metav1.Object) {
	for _, ca := range controller.ApplicationsOfDomain(ctl.caIndexer, obj) {
		ctl.enqueueTenants(ca.Namespace, ca.Name)
	}
}

// enqueueTenants queues, batched, every tenant of an application.
func (ctl *Controller) enqueueTenants(namespace, app string) {
	cats := controller.ByIndexForEvent[*v1alpha1.CAPTenant](ctl.catIndexer, controller.IndexByApplication, controller.ApplicationKey(namespace, app))
	for _, cat := range cats {
		controller.EnqueueBatched(ctl.queue, cache.MetaObjectToName(cat))
	}
}
