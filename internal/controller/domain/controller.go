// Package domain holds the controllers of Domains (namespaced DNS domains serving the
// applications of their namespace) and ClusterDomains (cluster-wide DNS domains whose Istio
// Gateway, Certificate and DNS entries live in the operator's namespace and serve the
// applications of every namespace). Both are one controller over two kinds: the
// reconciliation itself is shared in package domainsync.
package domain

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/internal/controller/domainsync"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Primary kinds, which also name the queues and the metrics.
const (
	Kind        = "Domain"
	ClusterKind = "ClusterDomain"
)

// Controller reconciles Domains or ClusterDomains.
type Controller struct {
	*controller.Worker
	// object reads the domain of a key from the cache, as domainsync sees it.
	object     func(key cache.ObjectName) (*domainrender.Object, error)
	reconciler *domainsync.Reconciler
}

var _ controller.Runnable = (*Controller)(nil)

// NewController registers the informers and event handlers of the Domain controller on the
// context's factories. The factories must be started after all controllers are built.
func NewController(c *controller.Context) (*Controller, error) {
	informer := c.SMEInformers.Sme().V1alpha1().Domains()
	lister := informer.Lister()
	get := func(namespace, name string) (metav1.Object, error) { return lister.Domains(namespace).Get(name) }
	object := func(key cache.ObjectName) (*domainrender.Object, error) {
		d, err := lister.Domains(key.Namespace).Get(key.Name)
		if err != nil {
			return nil, err
		}
		return domainrender.FromDomain(d.DeepCopy()), nil
	}
	return newController(c, Kind, v1alpha1.DomainRefKindDomain, informer.Informer(), get, object)
}

// NewClusterController registers the informers and event handlers of the ClusterDomain
// controller on the context's factories.
func NewClusterController(c *controller.Context) (*Controller, error) {
	informer := c.SMEInformers.Sme().V1alpha1().ClusterDomains()
	lister := informer.Lister()
	// ClusterDomains are cluster-scoped: the namespace of a child's owner key is empty.
	get := func(_, name string) (metav1.Object, error) { return lister.Get(name) }
	object := func(key cache.ObjectName) (*domainrender.Object, error) {
		d, err := lister.Get(key.Name)
		if err != nil {
			return nil, err
		}
		return domainrender.FromClusterDomain(d.DeepCopy()), nil
	}
	return newController(c, ClusterKind, v1alpha1.DomainRefKindClusterDomain, informer.Informer(), get, object)
}

// newController builds the controller of one domain kind.
func newController(c *controller.Context, kind string, refKind v1alpha1.DomainRefKind, informer cache.SharedIndexInformer,
	get controller.OwnerGetter, object func(cache.ObjectName) (*domainrender.Object, error)) (*Controller, error) {
	r, err := domainsync.New(c)
	if err != nil {
		return nil, err
	}
	ctrl := &Controller{object: object, reconciler: r}
	q := controller.NewQueue(kind, nil)
	ctrl.Worker = &controller.Worker{Kind: kind, Queue: q, Sync: ctrl.sync, Synced: r.Synced, Metrics: c.Metrics}
	if _, err := informer.AddEventHandler(controller.PrimaryHandler(q)); err != nil {
		return nil, err
	}
	if err := r.RegisterHandlers(refKind, q, get); err != nil {
		return nil, err
	}
	return ctrl, nil
}

// sync reconciles the domain of one key; one that no longer exists needs nothing.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	obj, err := c.object(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues(strings.ToLower(c.Kind[:1])+c.Kind[1:], klog.KRef(key.Namespace, key.Name)))
	return c.reconciler.Sync(ctx, obj)
}
