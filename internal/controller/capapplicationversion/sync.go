package capapplicationversion

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// sync reconciles one CAPApplicationVersion.
func (ctl *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	cached, ok, err := controller.Cached(ctl.cavs.CAPApplicationVersions(key.Namespace).Get, key.Name)
	if !ok {
		return err
	}
	cav := cached.DeepCopy()
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("capapplicationversion", klog.KObj(cav)))
	if cav.DeletionTimestamp != nil {
		return ctl.finalize(ctx, cav)
	}
	ca, err := ctl.cas.CAPApplications(cav.Namespace).Get(cav.Spec.CAPApplicationInstance)
	if apierrors.IsNotFound(err) {
		// The application's creation event queues this version again.
		msg := fmt.Sprintf("CAPApplication %s/%s not found", cav.Namespace, cav.Spec.CAPApplicationInstance)
		return ctl.writeStatus(ctx, cached, outcome{state: v1alpha1.CAPApplicationVersionStateError, reason: "WaitingForCAPApplication", message: msg})
	}
	if err != nil {
		return err
	}
	if cav, err = ctl.prepare(ctx, cav, ca); err != nil {
		return err
	}
	result := ctl.reconcile(ctx, versionrender.Input{CA: ca, CAV: cav})
	if result.err != nil && result.state != v1alpha1.CAPApplicationVersionStateError {
		return result.err // transient: retried with backoff, status left as it is
	}
	if err := ctl.writeStatus(ctx, cav, result); err != nil {
		return err
	}
	var conflict *controller.ChildConflictError
	if errors.As(result.err, &conflict) {
		// No event announces the removal of an object the operator does not own (its cache
		// may not even show it), so the version looks again.
		return controller.RequeueAfter(conflictRecheck, conflict.Error())
	}
	return nil
}

// conflictRecheck is how often a version whose child name is taken looks again.
const conflictRecheck = 30 * time.Second

// prepare makes sure the version is owned by its application and carries the identity
// labels, annotations and the finalizer. It returns the (possibly updated) version.
func (ctl *Controller) prepare(ctx context.Context, cav *v1alpha1.CAPApplicationVersion, ca *v1alpha1.CAPApplication) (*v1alpha1.CAPApplicationVersion, error) {
	want := cav.DeepCopy()
	account := identity.AppAccount(ca.Spec.ProviderSubaccountId, ca.Spec.GlobalAccountId)
	controller.SetIfMissing(&want.Labels, v1alpha1.LabelAppIdentifierHash, identity.AppHash(account, ca.Spec.BTPAppName))
	controller.SetIfMissing(&want.Labels, v1alpha1.LabelOwnerIdentifierHash, identity.OwnerHash(ca.Namespace, ca.Name))
	controller.SetIfMissing(&want.Labels, v1alpha1.LabelOwnerGeneration, strconv.FormatInt(ca.Generation, 10))
	controller.SetIfMissing(&want.Annotations, v1alpha1.AnnotationAppIdentifier, identity.AppID(account, ca.Spec.BTPAppName))
	controller.SetIfMissing(&want.Annotations, v1alpha1.AnnotationOwnerIdentifier, identity.OwnerID(ca.Namespace, ca.Name))
	if metav1.GetControllerOfNoCopy(want) == nil {
		want.OwnerReferences = append(want.OwnerReferences, *metav1.NewControllerRef(ca, v1alpha1.SchemeGroupVersion.WithKind("CAPApplication")))
	}
	controller.AddFinalizer(want, v1alpha1.FinalizerCAPApplicationVersion)
	if !controller.MetadataChanged(cav, want) {
		return cav, nil
	}
	updated, err := ctl.c.Clients.SME.SmeV1alpha1().CAPApplicationVersions(cav.Namespace).Update(ctx, want, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	if err != nil {
		return nil, fmt.Errorf("preparing: %w", err)
	}
	return updated, nil
}
