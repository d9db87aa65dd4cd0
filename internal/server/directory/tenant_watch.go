package directory

import (
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smev1alpha1informers "github.com/capstan-io/capstan/pkg/client/informers/externalversions/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// cacheSyncTimeout bounds the initial sync of the caches.
const cacheSyncTimeout = 2 * time.Minute

// tenantWatch keeps a cache of all CAPTenants and wakes the callback workers waiting for a
// tenant whenever it changes, instead of each worker polling the API.
type tenantWatch struct {
	informer cache.SharedIndexInformer
	lister   smelisters.CAPTenantLister

	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
}

func newTenantWatch(tenants smev1alpha1informers.CAPTenantInformer) *tenantWatch {
	return &tenantWatch{
		informer: tenants.Informer(),
		lister:   tenants.Lister(),
		waiters:  map[string]map[chan struct{}]struct{}{},
	}
}

// addHandler makes every change of a tenant wake its waiters.
func (tw *tenantWatch) addHandler() error {
	_, err := tw.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    tw.notify,
		UpdateFunc: func(_, obj any) { tw.notify(obj) },
		DeleteFunc: tw.notify,
	})
	return err
}

// notify wakes the waiters of the changed tenant.
func (tw *tenantWatch) notify(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	cat, ok := obj.(*v1alpha1.CAPTenant)
	if !ok {
		return
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	for ch := range tw.waiters[cat.Namespace+"/"+cat.Name] {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// subscribe returns a channel that receives a value whenever the tenant changes, and a function
// that ends the subscription.
func (tw *tenantWatch) subscribe(namespace, name string) (<-chan struct{}, func()) {
	key := namespace + "/" + name
	ch := make(chan struct{}, 1)
	tw.mu.Lock()
	if tw.waiters[key] == nil {
		tw.waiters[key] = map[chan struct{}]struct{}{}
	}
	tw.waiters[key][ch] = struct{}{}
	tw.mu.Unlock()
	return ch, func() {
		tw.mu.Lock()
		defer tw.mu.Unlock()
		delete(tw.waiters[key], ch)
		if len(tw.waiters[key]) == 0 {
			delete(tw.waiters, key)
		}
	}
}

// get reads a tenant from the cache.
func (tw *tenantWatch) get(namespace, name string) (*v1alpha1.CAPTenant, error) {
	return tw.lister.CAPTenants(namespace).Get(name)
}

// Tenant reads a tenant from the cache.
func (c *Directory) Tenant(namespace, name string) (*v1alpha1.CAPTenant, error) {
	return c.tenants.get(namespace, name)
}

// WatchTenant returns a channel that receives a value whenever the tenant changes, and a
// function that ends the watch.
func (c *Directory) WatchTenant(namespace, name string) (<-chan struct{}, func()) {
	return c.tenants.subscribe(namespace, name)
}
