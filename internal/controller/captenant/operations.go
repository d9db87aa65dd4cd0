package captenant

import (
	"context"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// startOperation creates the operation a decision asks for, after deleting the tenant's
// outputs of earlier operations. The operation's name follows from the tenant and the next
// sequence number: when the cache does not show an operation created moments ago, the
// create fails with AlreadyExists instead of starting the operation twice.
func (ctl *Controller) startOperation(ctx context.Context, cat *v1alpha1.CAPTenant, d tenant.Decision) error {
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

// newOperation builds a CAPTenantOperation complete with owner reference, labels,
// annotations and finalizer, so the operation controller needs no update to prepare it.
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
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cat, v1alpha1.SchemeGroupVersion.WithKind(Kind))},
			Finalizers:      []string{v1alpha1.FinalizerCAPTenantOperation},
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
