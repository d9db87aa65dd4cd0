package captenant

import (
	"context"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// startOperation creates the operation a decision asks for, after deleting the tenant's
// outputs of earlier operations. The operation's name follows from the tenant and the next
// sequence number: when the cache does not show an operation created moments ago, the
// create fails with AlreadyExists instead of starting the operation twice.
func (ctl *Controller) startOperation(ctx context.Context, cat *v1alpha1.CAPTenant, ops []*v1alpha1.CAPTenantOperation, d tenant.Decision) error {
	if d.Operation == v1alpha1.CAPTenantOperationTypeDeprovisioning && len(ops) == 0 {
		if err := ctl.stillHeld(ctx, cat); err != nil {
			return err
		}
	}
	if err := ctl.deleteOutputs(ctx, cat); err != nil {
		return err
	}
	op := newOperation(cat, d)
	_, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenantOperations(cat.Namespace).Create(ctx, op, metav1.CreateOptions{FieldManager: controller.FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return controller.RequeueAfter(retryDelayFloor, "waiting for the cache to show operation "+op.Name)
	}
	if err != nil {
		return fmt.Errorf("creating %s operation: %w", d.Operation, err)
	}
	return nil
}

// stillHeld reads a deleted tenant without any operation in the cache from the API before
// its deprovisioning starts. A provisioned tenant keeps its newest operations as history, so
// this is rare, except for a tenant released a moment ago whose operations' deletion the
// cache already shows and its own not yet: deprovisioning it again must not start.
func (ctl *Controller) stillHeld(ctx context.Context, cat *v1alpha1.CAPTenant) error {
	live, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(cat.Namespace).Get(ctx, cat.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && (live.UID != cat.UID || !controller.HasFinalizer(live, v1alpha1.FinalizerCAPTenant))) {
		return controller.RequeueAfter(retryDelayFloor, "the tenant was released; waiting for the cache")
	}
	return err
}

// newOperation builds a CAPTenantOperation complete with labels and annotations, so the
// operation controller needs no update to prepare it. It has no owner reference: a
// foreground deletion of the tenant must not reach a running operation's Jobs (see
// tenant.WithoutTenantOwner; release deletes the operations once the tenant is
// deprovisioned). It has no finalizer either: a finished operation then costs no write when
// it goes, and a running one is deleted only by hand, which cancels it (the tenant starts
// the operation again).
func newOperation(cat *v1alpha1.CAPTenant, d tenant.Decision) *v1alpha1.CAPTenantOperation {
	id := tenant.OperationIdentity(cat, d.Operation)
	lbls := id.Labels
	lbls[v1alpha1.LabelCAVVersion] = workload.VersionLabel(d.Version.Spec.Version)
	annotations := id.Annotations
	annotations[tenant.AnnotationSequence] = strconv.FormatInt(d.Sequence, 10)
	annotations[tenant.AnnotationAttempt] = strconv.Itoa(d.Attempt)
	return &v1alpha1.CAPTenantOperation{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.OperationName, Namespace: cat.Namespace, Labels: lbls, Annotations: annotations,
		},
		Spec: v1alpha1.CAPTenantOperationSpec{
			Operation:                     d.Operation,
			BTPTenantIdentification:       cat.Spec.BTPTenantIdentification,
			CAPApplicationVersionInstance: d.Version.Name,
			Steps:                         d.Steps,
		},
	}
}

// deleteOutputs deletes the tenant's CAPTenantOutputs, which belong to the previous
// operation. The cache tells whether there are any, so a tenant without outputs costs no
// API call.
func (ctl *Controller) deleteOutputs(ctx context.Context, cat *v1alpha1.CAPTenant) error {
	outputs, err := ctl.outputs.CAPTenantOutputs(cat.Namespace).List(labels.SelectorFromSet(labels.Set{v1alpha1.LabelBTPTenantIdentifier: cat.Spec.TenantId}))
	if err != nil {
		return err
	}
	client := ctl.c.Clients.SME.SmeV1alpha1().CAPTenantOutputs(cat.Namespace)
	for _, o := range outputs {
		if err := client.Delete(ctx, o.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting CAPTenantOutput %s: %w", o.Name, err)
		}
	}
	return nil
}

// release lets a deleted tenant go: it removes the tenant's finalizer and then deletes the
// tenant's operations, which are not its dependants and carry no finalizer, with one call.
// In this order a failure leaves finished operations behind (see retryRelease), never a
// tenant without its history that would be deprovisioned again. ops is what the cache holds
// of them. A tenant the API no longer holds was released before (the cache showed an earlier
// state): its operations' deletion is not repeated.
func (ctl *Controller) release(ctx context.Context, cat *v1alpha1.CAPTenant, ops []*v1alpha1.CAPTenantOperation) error {
	key := cache.MetaObjectToName(cat)
	held, err := ctl.removeFinalizer(ctx, cat)
	if err != nil || !held {
		return err
	}
	if err := ctl.deleteOperations(ctx, key, ops); err != nil {
		ctl.unreleased.Store(key, true)
		return err
	}
	return nil
}

// retryRelease repeats the deletion of the operations of a released tenant (gone, or still
// there for another finalizer) when it failed, and does nothing otherwise: the cache may
// still show operations deleted a moment ago. Only finished operations are deleted.
func (ctl *Controller) retryRelease(ctx context.Context, key cache.ObjectName) error {
	if _, failed := ctl.unreleased.Load(key); !failed {
		return nil
	}
	ops, err := controller.ByIndex[*v1alpha1.CAPTenantOperation](ctl.opIndexer, indexByTenant, identity.OwnerHash(key.Namespace, key.Name))
	if err != nil {
		return err
	}
	for _, op := range ops {
		if !tenant.Finished(op) {
			return nil
		}
	}
	if err := ctl.deleteOperations(ctx, key, ops); err != nil {
		return err
	}
	ctl.unreleased.Delete(key)
	return nil
}

// deleteOperations deletes the operations of a tenant with one call; without any in the
// cache it makes none.
func (ctl *Controller) deleteOperations(ctx context.Context, key cache.ObjectName, ops []*v1alpha1.CAPTenantOperation) error {
	if len(ops) == 0 {
		return nil
	}
	selector := labels.SelectorFromSet(labels.Set{v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(key.Namespace, key.Name)})
	err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenantOperations(key.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return fmt.Errorf("deleting the operations of tenant %s: %w", key.Name, err)
	}
	return nil
}

// prune deletes the finished operations beyond the newest TenantOperationHistory ones.
func (ctl *Controller) prune(ctx context.Context, ops []*v1alpha1.CAPTenantOperation) error {
	for _, op := range tenant.Prune(ops, ctl.c.Options.TenantOperationHistory) {
		err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenantOperations(op.Namespace).Delete(ctx, op.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &op.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("pruning operation %s: %w", op.Name, err)
		}
	}
	return nil
}
