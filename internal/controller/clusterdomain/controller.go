// Package clusterdomain is the controller of ClusterDomains: cluster-wide DNS domains whose
// Istio Gateway, Certificate and DNS entries live in the operator's namespace and serve the
// applications of every namespace. The reconciliation itself is shared with the Domain
// controller in package domainsync.
package clusterdomain

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
const Kind = "ClusterDomain"

// Controller reconciles ClusterDomains.
type Controller struct {
	*controller.Worker
	lister     smelisters.ClusterDomainLister
	reconciler *domainsync.Reconciler
}

var _ controller.Runnable = (*Controller)(nil)

// NewController registers the informers and event handlers of the ClusterDomain controller
// on the context's factories. The factories must be started after all controllers are
// built.
func NewController(c *controller.Context) (*Controller, error) {
	r, err := domainsync.New(c)
	if err != nil {
		return nil, err
	}
	informer := c.SMEInformers.Sme().V1alpha1().ClusterDomains()
	ctrl := &Controller{lister: informer.Lister(), reconciler: r}
	q := controller.NewQueue(Kind, nil)
	ctrl.Worker = &controller.Worker{Kind: Kind, Queue: q, Sync: ctrl.sync, Synced: r.Synced, Metrics: c.Metrics}
	if _, err := informer.Informer().AddEventHandler(controller.PrimaryHandler(q)); err != nil {
		return nil, err
	}
	// ClusterDomains are cluster-scoped: the namespace of a child's owner key is empty.
	get := func(_, name string) (metav1.Object, error) { return ctrl.lister.Get(name) }
	if err := r.RegisterHandlers(v1alpha1.DomainRefKindClusterDomain, q, get); err != nil {
		return nil, err
	}
	return ctrl, nil
}

// sync reconciles the ClusterDomain of one key; one that no longer exists needs nothing.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	d, err := c.lister.Get(key.Name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("clusterDomain", klog.KObj(d)))
	return c.reconciler.Sync(ctx, render.FromClusterDomain(d.DeepCopy()))
}
