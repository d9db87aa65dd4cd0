// Package versioncleanup deletes CAPApplicationVersions that are no longer used. Every
// evaluation interval it looks at the applications annotated with
// sme.sap.com/enable-cleanup-monitoring ("true" or "dry-run"), queues their older versions
// that no tenant uses, and evaluates each one's deletion rules against Prometheus. A version
// whose rules all pass gets a ReadyForDeletion event and, in "true" mode, is deleted. A rule
// that cannot be evaluated keeps the version, says why in a DeletionRuleFailed event and is
// tried again on the next interval.
//
// The decisions are pure functions (Exclusion, RulesOf, Decide) so they can be tested
// without a server; the controller only reads caches, queries Prometheus and deletes.
package versioncleanup

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// Kind names the controller's queue (and so its workqueue metrics).
const Kind = "VersionCleanup"

// Defaults of the options left zero.
const (
	DefaultEvaluationInterval = 10 * time.Minute
	DefaultClientRetryDelay   = time.Hour
	DefaultQueryTimeout       = 30 * time.Second
)

// Event reasons and the action of the events this controller records.
const (
	// ReasonReadyForDeletion: every deletion rule of the version passed.
	ReasonReadyForDeletion = "ReadyForDeletion"
	// ReasonDeletionRuleFailed: a rule could not be evaluated; the version is kept.
	ReasonDeletionRuleFailed = "DeletionRuleFailed"
	// ReasonInvalidCleanupMonitoring: the application's annotation has an unknown value.
	ReasonInvalidCleanupMonitoring = "InvalidCleanupMonitoring"
	// eventAction is the action of every event.
	eventAction = "EvaluateMetrics"
)

// Controller periodically queues candidate versions and evaluates them.
type Controller struct {
	c        *controller.Context
	queue    controller.Queue
	worker   *controller.Worker
	synced   []cache.InformerSynced
	interval time.Duration
	timeout  time.Duration
	prom     *clientSource
	metrics  *metrics

	cas         smelisters.CAPApplicationLister
	cavs        smelisters.CAPApplicationVersionLister
	cavIndexer  cache.Indexer
	tenantIndex cache.Indexer
}

// NewController registers the informers the controller reads. Zero durations in
// c.Options.VersionCleanup take their defaults; an invalid Prometheus address is an error.
func NewController(c *controller.Context) (*Controller, error) {
	o := c.Options.VersionCleanup
	if o.EvaluationInterval <= 0 {
		o.EvaluationInterval = DefaultEvaluationInterval
	}
	if o.ClientRetryDelay < 0 {
		return nil, fmt.Errorf("version cleanup: the Prometheus client retry delay must not be negative, got %s", o.ClientRetryDelay)
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	prom, err := newClientSource(o.PrometheusAddress, o.ClientRetryDelay, o.QueryTimeout, c.Clock)
	if err != nil {
		return nil, fmt.Errorf("version cleanup: %w", err)
	}
	var reg prometheus.Registerer
	if c.Metrics != nil {
		reg = c.Metrics.Registry
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("version cleanup metrics: %w", err)
	}
	sme := c.SMEInformers.Sme().V1alpha1()
	ctl := &Controller{
		c: c, queue: controller.NewQueue(Kind, nil), interval: o.EvaluationInterval, timeout: o.QueryTimeout,
		prom: prom, metrics: m,
		cas:         sme.CAPApplications().Lister(),
		cavs:        sme.CAPApplicationVersions().Lister(),
		cavIndexer:  sme.CAPApplicationVersions().Informer().GetIndexer(),
		tenantIndex: sme.CAPTenants().Informer().GetIndexer(),
		synced: []cache.InformerSynced{
			sme.CAPApplications().Informer().HasSynced,
			sme.CAPApplicationVersions().Informer().HasSynced,
			sme.CAPTenants().Informer().HasSynced,
		},
	}
	for _, inf := range []cache.SharedIndexInformer{sme.CAPApplicationVersions().Informer(), sme.CAPTenants().Informer()} {
		if err := controller.EnsureIndex(inf, controller.IndexByApplication); err != nil {
			return nil, err
		}
	}
	ctl.worker = &controller.Worker{Kind: Kind, Queue: ctl.queue, Sync: ctl.sync, Synced: ctl.synced, Metrics: c.Metrics}
	return ctl, nil
}

// Run implements controller.Runnable: it evaluates once the caches have synced and then
// every interval, until ctx is cancelled.
func (ctl *Controller) Run(ctx context.Context, workers int) error {
	done := make(chan error, 1)
	go func() { done <- ctl.worker.Run(ctx, workers) }()
	// Tenants must be in the cache before the first pass: a version a tenant uses that is
	// missing from the cache would look unused.
	if cache.WaitForNamedCacheSyncWithContext(ctx, ctl.synced...) {
		ticker := ctl.c.Clock.NewTicker(ctl.interval)
		defer ticker.Stop()
		for {
			ctl.enqueueCandidates(ctx)
			select {
			case <-ctx.Done():
				return <-done
			case <-ticker.C():
			}
		}
	}
	return <-done
}

// enqueueCandidates queues the candidate versions of every monitored application. A panic is
// recovered and counted, so the next interval runs again.
func (ctl *Controller) enqueueCandidates(ctx context.Context) {
	logger := klog.FromContext(ctx).WithValues("controller", Kind)
	defer func() {
		if r := recover(); r != nil {
			logger.Error(fmt.Errorf("%v", r), "Recovered panic while queueing candidate versions")
			if ctl.c.Metrics != nil {
				ctl.c.Metrics.Panics.WithLabelValues(Kind, "", "").Inc()
			}
		}
	}()
	cas, err := ctl.cas.List(labels.Everything())
	if err != nil {
		logger.Error(err, "Listing applications")
		return
	}
	queued := 0
	for _, ca := range cas {
		mode, err := ModeOf(ca)
		if err != nil {
			ctl.c.Recorder.Eventf(ca, nil, "Warning", ReasonInvalidCleanupMonitoring, eventAction, "%s", err.Error())
			continue
		}
		if mode == ModeOff || ca.DeletionTimestamp != nil {
			continue
		}
		versions, tenants, err := ctl.appObjects(ca)
		if err != nil {
			logger.Error(err, "Reading the versions and tenants of an application", "application", klog.KObj(ca))
			continue
		}
		for _, cav := range Candidates(versions, tenants) {
			controller.EnqueueImmediately(ctl.queue, controller.KeyOf(cav))
			queued++
		}
	}
	ctl.metrics.lastRun.SetToCurrentTime()
	logger.V(2).Info("Queued candidate versions", "count", queued, "next", ctl.interval)
}

// appObjects returns the application's versions and tenants from the caches.
func (ctl *Controller) appObjects(ca *v1alpha1.CAPApplication) ([]*v1alpha1.CAPApplicationVersion, []*v1alpha1.CAPTenant, error) {
	key := controller.ApplicationKey(ca.Namespace, ca.Name)
	versions, err := controller.ByIndex[*v1alpha1.CAPApplicationVersion](ctl.cavIndexer, controller.IndexByApplication, key)
	if err != nil {
		return nil, nil, err
	}
	tenants, err := controller.ByIndex[*v1alpha1.CAPTenant](ctl.tenantIndex, controller.IndexByApplication, key)
	return versions, tenants, err
}
