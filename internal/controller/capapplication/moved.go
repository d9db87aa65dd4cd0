package capapplication

import (
	"sync"

	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// movedTenants remembers the tenants this controller moved to a version until the informer
// cache shows the move, so that a sync on a stale cache does not count them as pending and
// move more tenants than maxParallel allows.
type movedTenants struct {
	mu sync.Mutex
	m  map[cache.ObjectName]string
}

// add records tenants moved to version.
func (e *movedTenants) add(tenants []*v1alpha1.CAPTenant, version string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[cache.ObjectName]string{}
	}
	for _, t := range tenants {
		e.m[cache.MetaObjectToName(t)] = version
	}
}

// unseen returns, by tenant name, the versions of the given tenants' moves the cache does not
// show yet, and forgets the moves it shows (or of tenants that are gone).
func (e *movedTenants) unseen(namespace string, tenants []*v1alpha1.CAPTenant) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]string{}
	present := map[cache.ObjectName]bool{}
	for _, t := range tenants {
		key := cache.MetaObjectToName(t)
		present[key] = true
		v, ok := e.m[key]
		switch {
		case !ok:
		case t.Spec.Version == v:
			delete(e.m, key)
		default:
			out[t.Name] = v
		}
	}
	for key := range e.m {
		if key.Namespace == namespace && !present[key] {
			delete(e.m, key)
		}
	}
	return out
}
