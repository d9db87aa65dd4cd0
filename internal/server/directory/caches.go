// Package directory is the subscription server's view of the cluster: informer caches of
// the CAPApplications, CAPApplicationVersions, CAPTenants and domains that the request
// handlers and the callback workers read, the lookups on them, and the binding credentials
// of an application's services (read from its Secrets when needed, never cached). No
// request lists objects from the API server, so an unauthenticated request costs no API call
// beyond reading the binding Secrets of the application it names.
package directory

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller/versioncleanup"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/server/payload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	smeinformers "github.com/capstan-io/capstan/pkg/client/informers/externalversions"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// Indexes of the server's caches. Every key is computed from spec fields or from labels the
// server itself writes, and every lookup re-checks the spec, so a label that a namespace
// editor sets cannot steer a request to their object.
const (
	// indexAppIdentity keys CAPApplications by identity.AppHash of each of their accounts
	// (provider subaccount and global account) with spec.btpAppName.
	indexAppIdentity = "appIdentity"
	// indexTenantID keys CAPTenants by "<namespace>/<spec.tenantId>".
	indexTenantID = "tenantID"
	// indexSubscriptionGUID keys CAPTenants by their subscription-guid label.
	indexSubscriptionGUID = "subscriptionGUID"
)

// Directory holds the caches and the clients to read binding Secrets and tenant outputs.
type Directory struct {
	kube          kubernetes.Interface
	sme           smeclient.Interface
	factory       smeinformers.SharedInformerFactory
	apps          cache.SharedIndexInformer
	appLister     smelisters.CAPApplicationLister
	versions      smelisters.CAPApplicationVersionLister
	domains       smelisters.DomainLister
	clusterDomain smelisters.ClusterDomainLister
	synced        []cache.InformerSynced
	tenants       *tenantWatch
}

// New sets up the informers; Start runs them.
func New(kube kubernetes.Interface, sme smeclient.Interface) (*Directory, error) {
	factory := smeinformers.NewSharedInformerFactory(sme, 0)
	v1 := factory.Sme().V1alpha1()
	c := &Directory{
		kube:          kube,
		sme:           sme,
		factory:       factory,
		apps:          v1.CAPApplications().Informer(),
		appLister:     v1.CAPApplications().Lister(),
		versions:      v1.CAPApplicationVersions().Lister(),
		domains:       v1.Domains().Lister(),
		clusterDomain: v1.ClusterDomains().Lister(),
		tenants:       newTenantWatch(v1.CAPTenants()),
	}
	if err := c.apps.AddIndexers(cache.Indexers{indexAppIdentity: appIdentityKeys}); err != nil {
		return nil, err
	}
	err := c.tenants.informer.AddIndexers(cache.Indexers{indexTenantID: tenantIDKeys, indexSubscriptionGUID: subscriptionGUIDKeys})
	if err != nil {
		return nil, err
	}
	c.synced = []cache.InformerSynced{
		c.apps.HasSynced, c.tenants.informer.HasSynced,
		v1.Domains().Informer().HasSynced, v1.ClusterDomains().Informer().HasSynced,
		v1.CAPApplicationVersions().Informer().HasSynced,
	}
	return c, nil
}

// Start runs the informers until ctx ends and waits for their first sync; cancelling ctx
// aborts the wait.
func (c *Directory) Start(ctx context.Context) error {
	if err := c.tenants.addHandler(); err != nil {
		return err
	}
	c.factory.Start(ctx.Done())
	sctx, cancel := context.WithTimeout(ctx, cacheSyncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(sctx.Done(), c.synced...) {
		return errors.New("the caches of CAPApplications, CAPApplicationVersions, CAPTenants and domains did not sync")
	}
	return nil
}

// appIdentityKeys indexes an application under each account that identifies it.
func appIdentityKeys(obj any) ([]string, error) {
	ca, ok := obj.(*v1alpha1.CAPApplication)
	if !ok {
		return nil, nil
	}
	var keys []string
	for _, account := range payload.NonEmpty(ca.Spec.ProviderSubaccountId, ca.Spec.GlobalAccountId) {
		keys = append(keys, identity.AppHash(account, ca.Spec.BTPAppName))
	}
	return keys, nil
}

// tenantIDKeys indexes a tenant by namespace and spec tenant id.
func tenantIDKeys(obj any) ([]string, error) {
	cat, ok := obj.(*v1alpha1.CAPTenant)
	if !ok || cat.Spec.TenantId == "" {
		return nil, nil
	}
	return []string{cat.Namespace + "/" + cat.Spec.TenantId}, nil
}

// subscriptionGUIDKeys indexes a tenant by its subscription GUID label.
func subscriptionGUIDKeys(obj any) ([]string, error) {
	cat, ok := obj.(*v1alpha1.CAPTenant)
	if !ok || cat.Labels[v1alpha1.LabelSubscriptionGUID] == "" {
		return nil, nil
	}
	return []string{cat.Labels[v1alpha1.LabelSubscriptionGUID]}, nil
}

// appsFor returns the multi-tenant applications whose spec names account (as provider
// subaccount or global account) and appName, sorted by namespace and name. Services-only
// applications have no tenants and are left out.
func (c *Directory) appsFor(account, appName string) ([]*v1alpha1.CAPApplication, error) {
	objs, err := c.apps.GetIndexer().ByIndex(indexAppIdentity, identity.AppHash(account, appName))
	if err != nil {
		return nil, fmt.Errorf("looking up CAPApplications: %w", err)
	}
	var out []*v1alpha1.CAPApplication
	for _, obj := range objs {
		ca, ok := obj.(*v1alpha1.CAPApplication)
		if !ok || ca.Spec.BTPAppName != appName || (ca.Spec.ProviderSubaccountId != account && ca.Spec.GlobalAccountId != account) {
			continue // a hash collision, or a stale index entry
		}
		if ca.Status.ServicesOnly != nil && *ca.Status.ServicesOnly {
			continue
		}
		out = append(out, ca)
	}
	sort.Slice(out, func(i, j int) bool {
		return ObjectKey(out[i].Namespace, out[i].Name) < ObjectKey(out[j].Namespace, out[j].Name)
	})
	return out, nil
}

// LatestVersion returns the version string of the application's highest Ready
// CAPApplicationVersion, "" when there is none (the application controller sets it later).
func (c *Directory) LatestVersion(ca *v1alpha1.CAPApplication) (string, error) {
	all, err := c.versions.CAPApplicationVersions(ca.Namespace).List(labels.Everything())
	if err != nil {
		return "", fmt.Errorf("listing CAPApplicationVersions: %w", err)
	}
	var mine []*v1alpha1.CAPApplicationVersion
	for _, cav := range all {
		if cav.Spec.CAPApplicationInstance == ca.Name {
			mine = append(mine, cav)
		}
	}
	if latest := versioncleanup.LatestReady(mine); latest != nil {
		return latest.Spec.Version, nil
	}
	return "", nil
}

// TenantsWithID returns the tenants of a namespace whose spec carries the tenant id.
func (c *Directory) TenantsWithID(namespace, tenantID string) ([]*v1alpha1.CAPTenant, error) {
	objs, err := c.tenants.informer.GetIndexer().ByIndex(indexTenantID, namespace+"/"+tenantID)
	if err != nil {
		return nil, fmt.Errorf("looking up CAPTenants: %w", err)
	}
	return tenantsOf(objs, func(cat *v1alpha1.CAPTenant) bool { return cat.Spec.TenantId == tenantID }), nil
}

// TenantsWithGUID returns the tenants in any namespace with the subscription GUID label and the
// tenant id in their spec.
func (c *Directory) TenantsWithGUID(guid, tenantID string) ([]*v1alpha1.CAPTenant, error) {
	objs, err := c.tenants.informer.GetIndexer().ByIndex(indexSubscriptionGUID, guid)
	if err != nil {
		return nil, fmt.Errorf("looking up CAPTenants: %w", err)
	}
	return tenantsOf(objs, func(cat *v1alpha1.CAPTenant) bool {
		return cat.Spec.TenantId == tenantID && cat.Labels[v1alpha1.LabelSubscriptionGUID] == guid
	}), nil
}

// tenantsOf filters cached objects, sorted by namespace and name.
func tenantsOf(objs []any, keep func(*v1alpha1.CAPTenant) bool) []*v1alpha1.CAPTenant {
	var out []*v1alpha1.CAPTenant
	for _, obj := range objs {
		if cat, ok := obj.(*v1alpha1.CAPTenant); ok && keep(cat) {
			out = append(out, cat)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return ObjectKey(out[i].Namespace, out[i].Name) < ObjectKey(out[j].Namespace, out[j].Name)
	})
	return out
}

func ObjectKey(namespace, name string) string { return namespace + "/" + name }
