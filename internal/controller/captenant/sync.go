package captenant

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// sync reconciles one CAPTenant.
func (ctl *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	cached, ok, err := controller.Cached(ctl.cats.CAPTenants(key.Namespace).Get, key.Name)
	if !ok {
		if err == nil {
			return ctl.retryRelease(ctx, key)
		}
		return err
	}
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("captenant", klog.KObj(cached)))
	ca, err := ctl.cas.CAPApplications(cached.Namespace).Get(cached.Spec.CAPApplicationInstance)
	if apierrors.IsNotFound(err) {
		return ctl.missingApplication(ctx, cached)
	}
	if err != nil {
		return err
	}
	cat, err := ctl.prepare(ctx, cached, ca)
	if err != nil {
		return err
	}
	if cat.DeletionTimestamp != nil && !controller.HasFinalizer(cat, v1alpha1.FinalizerCAPTenant) {
		// Released, and still there for another finalizer (a foreground deletion waiting for
		// the garbage collector).
		return ctl.retryRelease(ctx, key)
	}
	_, retry := cat.Annotations[v1alpha1.AnnotationRetryOperation]
	if retry {
		if cat, err = ctl.consumeRetry(ctx, cat); err != nil {
			return err
		}
	}
	ops, err := controller.ByIndex[*v1alpha1.CAPTenantOperation](ctl.opIndexer, indexByTenant, identity.OwnerHash(cat.Namespace, cat.Name))
	if err != nil {
		return err
	}
	cavs, err := controller.ByIndex[*v1alpha1.CAPApplicationVersion](ctl.cavIndexer, controller.IndexByApplication, controller.ApplicationKey(ca.Namespace, ca.Name))
	if err != nil {
		return err
	}
	domains, domainErr := domainref.Resolve(ca, ctl.domains, ctl.clusterDoms, ctl.c.Options.OperatorNamespace)
	o := ctl.c.Options
	d := tenant.Decide(tenant.Input{
		Tenant: cat, Operations: ops, Versions: cavs,
		DomainsReady: domainErr == nil, RetryRequested: retry,
		Retry:             tenant.RetryPolicy{InitialDelay: o.RetryInitialDelay, MaxDelay: o.RetryMaxDelay, MaxAttempts: o.RetryMaxAttempts},
		MaxVersionHistory: o.MaxTenantVersionHistory,
		Now:               ctl.c.Clock.Now(),
	})
	klog.FromContext(ctx).V(4).Info("Decided", "action", d.Action, "why", d.Why)
	return ctl.apply(ctx, cat, ca, ops, d, domains, domainErr)
}

// apply carries a decision out: it starts an operation or removes the finalizer, writes the
// status, records the event of a finished operation, prunes the operation history and keeps
// the VirtualService in sync.
func (ctl *Controller) apply(ctx context.Context, cat *v1alpha1.CAPTenant, ca *v1alpha1.CAPApplication, ops []*v1alpha1.CAPTenantOperation,
	d tenant.Decision, domains []domainref.DomainInfo, domainErr error) error {
	switch d.Action {
	case tenant.ActionRemoveFinalizer:
		return ctl.release(ctx, cat, ops)
	case tenant.ActionStart:
		if err := ctl.startOperation(ctx, cat, ops, d); err != nil {
			return err
		}
		ctl.countRetry(cat, d, retried(ops, d))
	}
	wrote, err := ctl.writeStatus(ctx, cat, d)
	if err != nil {
		return err
	}
	if wrote && d.Event != nil {
		ctl.recordEvent(cat, ca, d)
	}
	if err := ctl.prune(ctx, ops); err != nil {
		return err
	}
	if cat.DeletionTimestamp == nil && d.Current != "" && domainErr == nil {
		err := ctl.ensureVirtualService(ctx, cat, ca, domains, d)
		if err := ctl.reportNetworking(ctx, cat, d, err); err != nil {
			return err
		}
	}
	if d.Action == tenant.ActionRetryLater {
		return controller.RequeueAfter(d.After, d.Why)
	}
	return nil
}

// retried returns the trigger of a started operation that repeats the newest one after it
// failed (controller.RetryAutomatic or RetryRequested), or "" for a first attempt.
func retried(ops []*v1alpha1.CAPTenantOperation, d tenant.Decision) string {
	if d.Attempt > 1 {
		return controller.RetryAutomatic
	}
	sorted := tenant.SortOperations(ops)
	if len(sorted) == 0 {
		return ""
	}
	last := sorted[len(sorted)-1]
	if last.Spec.Operation == d.Operation && last.Spec.CAPApplicationVersionInstance == d.Version.Name && !tenant.Succeeded(last) {
		return controller.RetryRequested
	}
	return ""
}

// countRetry counts a retried operation.
func (ctl *Controller) countRetry(cat *v1alpha1.CAPTenant, d tenant.Decision, trigger string) {
	if trigger == "" || ctl.c.Metrics == nil {
		return
	}
	ctl.c.Metrics.TenantOperationRetries.WithLabelValues(cat.Namespace, cat.Spec.CAPApplicationInstance, string(d.Operation), trigger).Inc()
}

// missingApplication handles a tenant whose application does not exist: a deleted tenant
// goes with its operations (there is nothing to deprovision with, and an operation cannot
// run without its application); otherwise the status says so and the application's creation
// requeues the tenant.
func (ctl *Controller) missingApplication(ctx context.Context, cat *v1alpha1.CAPTenant) error {
	if cat.DeletionTimestamp != nil {
		ops, err := controller.ByIndex[*v1alpha1.CAPTenantOperation](ctl.opIndexer, indexByTenant, identity.OwnerHash(cat.Namespace, cat.Name))
		if err != nil {
			return err
		}
		return ctl.release(ctx, cat, ops)
	}
	msg := fmt.Sprintf("CAPApplication %s/%s not found", cat.Namespace, cat.Spec.CAPApplicationInstance)
	d := tenant.Decision{Current: cat.Status.CurrentCAPApplicationVersionInstance, Previous: cat.Status.PreviousCAPApplicationVersions}
	d.Condition = &metav1.Condition{Type: v1alpha1.ConditionTypeReady, Status: metav1.ConditionFalse, Reason: tenant.ReasonInvalidReference, Message: msg}
	wrote, err := ctl.writeStatus(ctx, cat, d)
	if wrote {
		ctl.c.Recorder.Eventf(cat, nil, corev1.EventTypeWarning, tenant.ReasonInvalidReference, "Prepare", "%s", msg)
	}
	return err
}

// prepare makes sure the tenant carries the identity labels, annotations and the finalizer
// (never overwriting them), and no owner reference to its application (see
// tenant.WithoutApplicationOwner). Tenants the application controller creates already
// comply.
func (ctl *Controller) prepare(ctx context.Context, cat *v1alpha1.CAPTenant, ca *v1alpha1.CAPApplication) (*v1alpha1.CAPTenant, error) {
	want := cat.DeepCopy()
	id := tenant.TenantIdentity(ca, cat.Spec.TenantId, "", "")
	for k, v := range id.Labels {
		controller.SetIfMissing(&want.Labels, k, v)
	}
	for k, v := range id.Annotations {
		controller.SetIfMissing(&want.Annotations, k, v)
	}
	if refs, dropped := tenant.WithoutApplicationOwner(want.OwnerReferences); dropped {
		want.OwnerReferences = refs
	}
	if cat.DeletionTimestamp == nil {
		controller.AddFinalizer(want, v1alpha1.FinalizerCAPTenant)
	}
	if !controller.MetadataChanged(cat, want) {
		return cat, nil
	}
	updated, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(cat.Namespace).Update(ctx, want, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	if err != nil {
		return nil, fmt.Errorf("preparing: %w", err)
	}
	return updated, nil
}

// consumeRetry removes the retry-operation annotation before the retry it asks for starts,
// so the request is honoured once.
func (ctl *Controller) consumeRetry(ctx context.Context, cat *v1alpha1.CAPTenant) (*v1alpha1.CAPTenant, error) {
	want := cat.DeepCopy()
	delete(want.Annotations, v1alpha1.AnnotationRetryOperation)
	updated, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(cat.Namespace).Update(ctx, want, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	if err != nil {
		return nil, fmt.Errorf("consuming the %s annotation: %w", v1alpha1.AnnotationRetryOperation, err)
	}
	return updated, nil
}

// removeFinalizer lets a deleted tenant go. It patches the finalizer away (testing its
// position) rather than updating the cached tenant, so that a status written a moment ago,
// which the cache may not show yet, does not refuse it. It reports false when the tenant was
// already gone (the cache showed an earlier state).
func (ctl *Controller) removeFinalizer(ctx context.Context, cat *v1alpha1.CAPTenant) (bool, error) {
	i := slices.Index(cat.Finalizers, v1alpha1.FinalizerCAPTenant)
	if i < 0 {
		return true, nil
	}
	patch, err := controller.FinalizerRemovalPatch(i, v1alpha1.FinalizerCAPTenant)
	if err != nil {
		return false, err
	}
	_, err = ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(cat.Namespace).Patch(ctx, cat.Name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: controller.FieldManager})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case apierrors.IsInvalid(err) || controller.IsFailedPatchTest(err):
		// The finalizers changed since the cache's copy: the next sync sees them.
		return false, controller.RequeueAfter(retryDelayFloor, "the tenant's finalizers changed")
	}
	return err == nil, err
}

// retryDelayFloor keeps a requeue for a cache that is behind from spinning.
const retryDelayFloor = time.Second
