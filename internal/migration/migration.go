// Package migration takes over the objects the previous implementation (SAP's CAP Operator)
// left in a cluster. It runs each time the controller becomes leader, before any controller
// starts (spec section 2.1, "One-off migration"):
//
//   - CAPApplications with neither providerSubaccountId nor globalAccountId are skipped; the
//     CAPApplication controller gives them the Error state (reason MissingProviderSubaccountId).
//   - Every other CAPApplication, and its CAPApplicationVersions, CAPTenants (selected by the
//     application's owner hash) and the CAPTenantOperations of those tenants (selected by the
//     tenant's owner hash), get the app-identifier label and annotation; the legacy keys
//     sme.sap.com/btp-app-identifier-hash and sme.sap.com/btp-app-identifier are removed.
//   - The finalizer sme.sap.com/capapplication is removed from every Secret in those
//     applications' namespaces.
//   - Every CAPTenant's subscription-guid label is copied into the annotation of that key.
//
// The migration is idempotent: an object already in shape is not written, so a start with
// nothing left to migrate costs four list calls plus one paged metadata list of Secrets per
// application namespace.
package migration

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// Run migrates the previous implementation's objects and returns the errors of the writes
// that failed (every other object is still migrated). It is safe to run on every start.
func Run(ctx context.Context, clients *kube.Clients) error {
	m := &migrator{sme: clients.SME, meta: clients.Metadata}
	return m.run(ctx)
}

// migrator holds the clients of one run.
type migrator struct {
	sme  smeclient.Interface
	meta metadata.Interface
}

// write is one pending metadata change of an sme.sap.com object.
type write struct {
	kind, namespace, name string
	change                change
}

// run lists the operator's objects, computes every change and applies them.
func (m *migrator) run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithName("migration")
	objs, err := m.list(ctx)
	if err != nil {
		return err
	}
	writes, namespaces := plan(ctx, objs)
	var errs []error
	for _, w := range writes {
		if err := m.patch(ctx, w); err != nil {
			errs = append(errs, err)
		}
	}
	released := 0
	for _, ns := range namespaces {
		n, err := m.releaseSecrets(ctx, ns)
		released += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	logger.Info("Migration of the previous implementation's objects done", "objectsUpdated", len(writes), "secretsReleased", released, "errors", len(errs))
	return utilerrors.NewAggregate(errs)
}

// objects are the operator's objects in the cluster.
type objects struct {
	cas   []v1alpha1.CAPApplication
	cavs  []v1alpha1.CAPApplicationVersion
	cats  []v1alpha1.CAPTenant
	ctops []v1alpha1.CAPTenantOperation
}

// list reads every object of the four kinds the migration touches.
func (m *migrator) list(ctx context.Context) (objects, error) {
	var o objects
	api := m.sme.SmeV1alpha1()
	cas, err := api.CAPApplications(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return o, fmt.Errorf("listing CAPApplications: %w", err)
	}
	cavs, err := api.CAPApplicationVersions(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return o, fmt.Errorf("listing CAPApplicationVersions: %w", err)
	}
	cats, err := api.CAPTenants(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return o, fmt.Errorf("listing CAPTenants: %w", err)
	}
	ctops, err := api.CAPTenantOperations(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return o, fmt.Errorf("listing CAPTenantOperations: %w", err)
	}
	return objects{cas: cas.Items, cavs: cavs.Items, cats: cats.Items, ctops: ctops.Items}, nil
}

// ownerKey groups objects by namespace and owner hash. The namespace is part of the key
// because the owner hash concatenates namespace and name without a separator.
type ownerKey struct{ namespace, hash string }

// byOwner groups objects by their owner-identifier-hash label.
func byOwner[T any, P interface {
	*T
	metav1.Object
}](items []T) map[ownerKey][]P {
	out := map[ownerKey][]P{}
	for i := range items {
		obj := P(&items[i])
		if h := obj.GetLabels()[v1alpha1.LabelOwnerIdentifierHash]; h != "" {
			k := ownerKey{obj.GetNamespace(), h}
			out[k] = append(out[k], obj)
		}
	}
	return out
}

// plan computes the writes of a run and the namespaces whose Secrets are released. It reads
// nothing from the cluster.
func plan(ctx context.Context, o objects) ([]write, []string) {
	logger := klog.FromContext(ctx).WithName("migration")
	cavs, cats, ctops := byOwner(o.cavs), byOwner(o.cats), byOwner(o.ctops)
	catChanges := map[types.NamespacedName]change{}
	var writes []write
	var namespaces []string
	seen := map[string]bool{}
	for i := range o.cas {
		ca := &o.cas[i]
		account := identity.AppAccount(ca.Spec.ProviderSubaccountId, ca.Spec.GlobalAccountId)
		if account == "" {
			logger.Info("Skipping CAPApplication without providerSubaccountId and globalAccountId", "capapplication", klog.KObj(ca))
			continue
		}
		app := ca.Spec.BTPAppName
		add := func(kind string, obj metav1.Object) {
			if c := identityChange(obj, account, app); !c.empty() {
				writes = append(writes, write{kind, obj.GetNamespace(), obj.GetName(), c})
			}
		}
		add("CAPApplication", ca)
		key := ownerKey{ca.Namespace, identity.OwnerHash(ca.Namespace, ca.Name)}
		for _, cav := range cavs[key] {
			add("CAPApplicationVersion", cav)
		}
		for _, cat := range cats[key] {
			catChanges[types.NamespacedName{Namespace: cat.Namespace, Name: cat.Name}] = identityChange(cat, account, app)
			for _, op := range ctops[ownerKey{cat.Namespace, identity.OwnerHash(cat.Namespace, cat.Name)}] {
				add("CAPTenantOperation", op)
			}
		}
		if !seen[ca.Namespace] {
			seen[ca.Namespace] = true
			namespaces = append(namespaces, ca.Namespace)
		}
	}
	for i := range o.cats {
		cat := &o.cats[i]
		key := types.NamespacedName{Namespace: cat.Namespace, Name: cat.Name}
		if c := catChanges[key].merge(subscriptionGUIDChange(cat)); !c.empty() {
			writes = append(writes, write{"CAPTenant", cat.Namespace, cat.Name, c})
		}
	}
	return writes, namespaces
}

// patch applies one write. An object deleted in the meantime needs no migration.
func (m *migrator) patch(ctx context.Context, w write) error {
	data, err := w.change.mergePatch()
	if err != nil {
		return err
	}
	api := m.sme.SmeV1alpha1()
	opts := metav1.PatchOptions{FieldManager: controller.FieldManager}
	err = retry.OnError(retry.DefaultBackoff, retriable, func() error {
		var err error
		switch w.kind {
		case "CAPApplication":
			_, err = api.CAPApplications(w.namespace).Patch(ctx, w.name, types.MergePatchType, data, opts)
		case "CAPApplicationVersion":
			_, err = api.CAPApplicationVersions(w.namespace).Patch(ctx, w.name, types.MergePatchType, data, opts)
		case "CAPTenant":
			_, err = api.CAPTenants(w.namespace).Patch(ctx, w.name, types.MergePatchType, data, opts)
		case "CAPTenantOperation":
			_, err = api.CAPTenantOperations(w.namespace).Patch(ctx, w.name, types.MergePatchType, data, opts)
		default:
			err = fmt.Errorf("unknown kind %s", w.kind)
		}
		return err
	})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("migrating %s %s/%s: %w", w.kind, w.namespace, w.name, err)
	}
	klog.FromContext(ctx).V(2).Info("Migrated labels and annotations", "kind", w.kind, "object", klog.KRef(w.namespace, w.name))
	return nil
}

// retriable reports whether a failed write is worth repeating: the server was busy or
// timed out, or an optimistic-lock conflict occurred.
func retriable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err)
}
