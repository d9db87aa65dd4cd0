// Package domain is the controller of Domains: namespaced DNS domains whose Istio Gateway,
// Certificate and DNS entries it maintains for the applications of the same namespace. The
// reconciliation itself is shared with the ClusterDomain controller in package domainsync.
package domain

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainsync"
	"github.com/capstan-io/capstan/internal/controller/domainsync/render"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// Kind is the primary kind, which also names the queue and the metrics.
const Kind = "Domain"

// Controller reconciles Domains.
type Controller struct {
	*controller.Worker
	lister     smelisters.DomainLister
	reconciler *domainsync.Reconciler
}

var _ controller.Runnable = (*Controller)(nil)

// NewController registers the informers and event handlers of the Domain controller on the
// context's factories. The factories must be started after all controllers are built.
func NewController(c *controller.Context) (*Controller, error) {
	r, err := domainsync.New(c)
	if err != nil {
		return nil, err
	}
	informer := c.SMEInformers.Sme().V1alpha1().Domains()
	ctrl := &Controller{lister: informer.Lister(), reconciler: r}
	q := controller.NewQueue(Kind, nil)
	ctrl.Worker = &controller.Worker{Kind: Kind, Queue: q, Sync: ctrl.sync, Synced: r.Synced, Metrics: c.Metrics}
	if _, err := informer.Informer().AddEventHandler(controller.PrimaryHandler(q)); err != nil {
		return nil, err
	}
	get := func(namespace, name string) (metav1.Object, error) { return ctrl.lister.Domains(namespace).Get(name) }
	if err := r.RegisterHandlers(v1alpha1.DomainRefKindDomain, q, get); err != nil {
		return nil, err
	}
	return ctrl, nil
}

// sync reconciles the Domain of one key; a Domain that no longer exists needs nothing.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	d, err := c.lister.Domains(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("domain", klog.KObj(d)))
	return c.reconciler.Sync(ctx, render.FromDomain(d.DeepCopy()))
}
