package captenantoperation

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// vcapCache keeps the VCAP_SERVICES content built for each (version, workload), keyed by the
// resourceVersions of the binding Secrets it was built from. A thousand tenants subscribing
// at once then read the binding Secrets once, not a thousand times; a changed binding Secret
// (new resourceVersion in the metadata cache) makes the next Job read them again.
type vcapCache struct {
	mu      sync.Mutex
	entries map[string]*vcapEntry
}

// vcapEntry is the cached content of one (version, workload), or (keyed by the Secret's
// namespace and name) the creation time of one shared Secret. Its own lock makes concurrent
// workers wait for the one building or creating it instead of all doing it.
type vcapEntry struct {
	mu       sync.Mutex
	versions string
	vcap     string
	// createdAt is when this controller created the Secret of a Secret entry.
	createdAt time.Time
}

// entry returns the cache entry of a key, creating it.
func (c *vcapCache) entry(key string) *vcapEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		e = &vcapEntry{}
		c.entries[key] = e
	}
	return e
}

// vcapContent returns the VCAP_SERVICES JSON of a workload of a version.
func (ctl *Controller) vcapContent(ctx context.Context, ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion, w *v1alpha1.WorkloadDetails) (string, error) {
	versions := ctl.bindingVersions(ca, w.ConsumedBTPServices)
	e := ctl.vcap.entry(cav.Namespace + "/" + cav.Name + "/" + w.Name)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.vcap != "" && e.versions == versions {
		return e.vcap, nil
	}
	read := func(name string) (map[string][]byte, error) {
		s, err := ctl.c.Clients.Kube.CoreV1().Secrets(cav.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return s.Data, nil
	}
	vcap, _, err := workload.VCAPServices(ca.Spec.BTP.Services, w.ConsumedBTPServices, read)
	if err != nil {
		return "", err
	}
	e.versions, e.vcap = versions, vcap
	return vcap, nil
}

// bindingVersions returns "name=resourceVersion" of the consumed binding Secrets, from the
// metadata cache; a missing Secret contributes an empty version.
func (ctl *Controller) bindingVersions(ca *v1alpha1.CAPApplication, consumed []string) string {
	var parts []string
	for _, svc := range ca.Spec.BTP.Services {
		if !slices.Contains(consumed, svc.Name) {
			continue
		}
		rv := ""
		if obj, err := ctl.secrets.ByNamespace(ca.Namespace).Get(svc.Secret); err == nil {
			if m, ok := controller.MetaOf(obj); ok {
				rv = m.GetResourceVersion()
			}
		}
		parts = append(parts, svc.Secret+"="+rv)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// createdTrust is how long a VCAP_SERVICES Secret this controller created counts as existing
// without the metadata cache showing it: long enough for the watch event to arrive, short
// enough that a Secret deleted by hand meanwhile is created again.
const createdTrust = 30 * time.Second

// tenantVCAPPrefix is the workload-object prefix of the VCAP_SERVICES Secrets that a
// version's tenant Jobs of one workload share. The suffix keeps them apart from the Secrets
// of a Deployment of the same workload (the CAP workload standing in for a missing
// TenantOperation workload), whose clean-up would otherwise delete them.
func tenantVCAPPrefix(cav *v1alpha1.CAPApplicationVersion, w *v1alpha1.WorkloadDetails) string {
	return workload.Name(cav.Name, w.Name) + ".tenant"
}

// ensureVCAPSecret returns the VCAP_SERVICES Secret of a step's Job, "" when the workload
// consumes no services. All tenant Jobs of one (version, workload) share one Secret, named by
// its content (workload.VCAPSecret) and owned by the version: a thousand tenants subscribing
// at once create it once. It is created when neither the metadata cache nor a recent create
// of this controller shows it; AlreadyExists means a concurrent worker or an earlier run
// created the same content.
func (ctl *Controller) ensureVCAPSecret(ctx context.Context, in jobInput) (string, error) {
	w := in.step.Workload
	if len(w.ConsumedBTPServices) == 0 {
		return "", nil
	}
	vcap, err := ctl.vcapContent(ctx, in.ca, in.cav, w)
	if err != nil {
		return "", fmt.Errorf("building VCAP_SERVICES of %s: %w", in.name, err)
	}
	secret := workload.VCAPSecret(in.cav, tenantVCAPPrefix(in.cav, w), vcap)
	e := ctl.vcap.entry(in.cav.Namespace + "/" + secret.Name)
	e.mu.Lock()
	defer e.mu.Unlock()
	if ctl.secretCached(in.cav.Namespace, secret.Name) || (!e.createdAt.IsZero() && ctl.c.Clock.Since(e.createdAt) < createdTrust) {
		return secret.Name, nil
	}
	_, err = ctl.c.Clients.Kube.CoreV1().Secrets(in.cav.Namespace).Create(ctx, secret, metav1.CreateOptions{FieldManager: controller.FieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("creating VCAP_SERVICES secret %s: %w", secret.Name, err)
	}
	e.createdAt = ctl.c.Clock.Now()
	return secret.Name, nil
}

// secretCached reports whether the metadata cache shows the Secret, not being deleted.
func (ctl *Controller) secretCached(namespace, name string) bool {
	obj, err := ctl.secrets.ByNamespace(namespace).Get(name)
	if err != nil {
		return false
	}
	m, ok := controller.MetaOf(obj)
	return ok && m.GetDeletionTimestamp() == nil
}
