// Package capapplicationversion reconciles CAPApplicationVersions: the Deployments,
// Services, content Jobs, VCAP_SERVICES Secrets, PodDisruptionBudgets, autoscalers,
// DestinationRules, ServiceMonitors and NetworkPolicies of one application version.
package capapplicationversion

import (
	"errors"

	monitoringlisters "github.com/prometheus-operator/prometheus-operator/pkg/client/listers/monitoring/v1"
	istiolisters "istio.io/client-go/pkg/listers/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// Kind is the kind this controller reconciles; it names its queue.
const Kind = "CAPApplicationVersion"

// Controller reconciles CAPApplicationVersions.
type Controller struct {
	c     *controller.Context
	queue controller.Queue

	cavs        smelisters.CAPApplicationVersionLister
	cavIndexer  cache.Indexer
	cas         smelisters.CAPApplicationLister
	caIndexer   cache.Indexer
	tenants     cache.Indexer
	domains     smelisters.DomainLister
	clusterDoms smelisters.ClusterDomainLister
	secrets     cache.GenericLister

	deployments appslisters.DeploymentLister
	// pods are read only to explain a Deployment that is not available.
	pods      corelisters.PodLister
	services  corelisters.ServiceLister
	jobs      batchlisters.JobLister
	pdbs      policylisters.PodDisruptionBudgetLister
	hpas      autoscalinglisters.HorizontalPodAutoscalerLister
	netpols   networkinglisters.NetworkPolicyLister
	destRules istiolisters.DestinationRuleLister
	// serviceMonitors is nil when the Prometheus Operator API is not served.
	serviceMonitors monitoringlisters.ServiceMonitorLister

	// Worker drives the queue; its Run implements controller.Runnable.
	*controller.Worker
	created createdSecrets
}

// NewController registers the informers the controller needs and its event handlers.
func NewController(c *controller.Context) (*Controller, error) {
	sme := c.SMEInformers.Sme().V1alpha1()
	owned := c.OwnedInformers
	ctl := &Controller{
		c:           c,
		queue:       controller.NewQueue(Kind, nil),
		cavs:        sme.CAPApplicationVersions().Lister(),
		cavIndexer:  sme.CAPApplicationVersions().Informer().GetIndexer(),
		cas:         sme.CAPApplications().Lister(),
		caIndexer:   sme.CAPApplications().Informer().GetIndexer(),
		tenants:     sme.CAPTenants().Informer().GetIndexer(),
		domains:     sme.Domains().Lister(),
		clusterDoms: sme.ClusterDomains().Lister(),
		secrets:     c.Secrets().Lister(),
		deployments: owned.Apps().V1().Deployments().Lister(),
		pods:        owned.Core().V1().Pods().Lister(),
		services:    owned.Core().V1().Services().Lister(),
		jobs:        owned.Batch().V1().Jobs().Lister(),
		pdbs:        owned.Policy().V1().PodDisruptionBudgets().Lister(),
		hpas:        owned.Autoscaling().V2().HorizontalPodAutoscalers().Lister(),
		netpols:     owned.Networking().V1().NetworkPolicies().Lister(),
		destRules:   c.IstioInformers.Networking().V1().DestinationRules().Lister(),
	}
	if c.MonitoringInformers != nil {
		ctl.serviceMonitors = c.MonitoringInformers.Monitoring().V1().ServiceMonitors().Lister()
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
	return errors.Join(
		controller.EnsureIndex(sme.CAPApplicationVersions().Informer(), controller.IndexByApplication),
		controller.EnsureIndex(sme.CAPTenants().Informer(), controller.IndexByApplication),
		controller.EnsureIndex(sme.CAPApplications().Informer(), controller.IndexByDomainRef, controller.IndexBySecret),
	)
}

// addHandlers routes events to the queue and returns the informers that must sync.
func (ctl *Controller) addHandlers() ([]cache.InformerSynced, error) {
	sme := ctl.c.SMEInformers.Sme().V1alpha1()
	owned := ctl.c.OwnedInformers
	toOwner := controller.DependentHandler(ctl.enqueueOwner)
	regs := []controller.Registration{
		{Informer: sme.CAPApplicationVersions().Informer(), Handler: controller.PrimaryHandler(ctl.queue)},
		{Informer: sme.CAPApplications().Informer(), Handler: appHandler(ctl.enqueueApplicationVersions)},
		{Informer: sme.CAPTenants().Informer(), Handler: controller.DependentHandler(ctl.tenantChanged)},
		{Informer: sme.Domains().Informer(), Handler: controller.DependentHandler(ctl.domainChanged)},
		{Informer: sme.ClusterDomains().Informer(), Handler: controller.DependentHandler(ctl.domainChanged)},
		{Informer: ctl.c.Secrets().Informer(), Handler: controller.CreateDeleteHandler(ctl.secretChanged)},
		{Informer: owned.Apps().V1().Deployments().Informer(), Handler: toOwner},
		{Informer: owned.Core().V1().Services().Informer(), Handler: toOwner},
		{Informer: owned.Batch().V1().Jobs().Informer(), Handler: toOwner},
		{Informer: owned.Policy().V1().PodDisruptionBudgets().Informer(), Handler: toOwner},
		{Informer: owned.Autoscaling().V2().HorizontalPodAutoscalers().Informer(), Handler: toOwner},
		{Informer: owned.Networking().V1().NetworkPolicies().Informer(), Handler: toOwner},
		{Informer: ctl.c.IstioInformers.Networking().V1().DestinationRules().Informer(), Handler: toOwner},
	}
	if ctl.c.MonitoringInformers != nil {
		regs = append(regs, controller.Registration{Informer: ctl.c.MonitoringInformers.Monitoring().V1().ServiceMonitors().Informer(), Handler: toOwner})
	}
	return controller.AddHandlers(regs)
}

// enqueueOwner queues the version controlling a changed child.
func (ctl *Controller) enqueueOwner(obj metav1.Object) {
	gk := v1alpha1.Kind(Kind)
	key, ok := controller.ControllerOwner(obj, gk, func(ns, name string) (metav1.Object, error) {
		return ctl.cavs.CAPApplicationVersions(ns).Get(name)
	})
	if ok {
		controller.EnqueueImmediately(ctl.queue, key)
	}
}

// enqueueApplicationVersions queues every version of an application.
func (ctl *Controller) enqueueApplicationVersions(namespace, app string) {
	cavs := controller.ByIndexForEvent[*v1alpha1.CAPApplicationVersion](ctl.cavIndexer, controller.IndexByApplication, controller.ApplicationKey(namespace, app))
	for _, cav := range cavs {
		controller.EnqueueBatched(ctl.queue, cache.MetaObjectToName(cav))
	}
}

// tenantChanged queues the versions being deleted of the tenant's application: they wait
// until no tenant uses them.
func (ctl *Controller) tenantChanged(obj metav1.Object) {
	cat, ok := obj.(*v1alpha1.CAPTenant)
	if !ok {
		return
	}
	cavs := controller.ByIndexForEvent[*v1alpha1.CAPApplicationVersion](ctl.cavIndexer, controller.IndexByApplication, controller.ApplicationKey(cat.Namespace, cat.Spec.CAPApplicationInstance))
	for _, cav := range cavs {
		if cav.DeletionTimestamp != nil {
			controller.EnqueueBatched(ctl.queue, cache.MetaObjectToName(cav))
		}
	}
}

// domainChanged queues the versions with service exposures of the applications that
// reference a domain: they wait for their domains to be Ready.
func (ctl *Controller) domainChanged(obj metav1.Object) {
	for _, ca := range controller.ApplicationsOfDomain(ctl.caIndexer, obj) {
		ctl.enqueueApplicationVersions(ca.Namespace, ca.Name)
	}
}

// secretChanged queues the versions of applications bound to a created or deleted Secret,
// and the version owning a deleted VCAP_SERVICES Secret.
func (ctl *Controller) secretChanged(obj metav1.Object) {
	cas := controller.ApplicationsOfSecret(ctl.caIndexer, obj)
	for _, ca := range cas {
		ctl.enqueueApplicationVersions(ca.Namespace, ca.Name)
	}
	ctl.enqueueOwner(obj)
}
