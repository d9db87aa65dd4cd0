package capapplication

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/controller/serviceexposure"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// sync reconciles one CAPApplication.
func (ctl *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	cached, ok, err := controller.Cached(ctl.cas.CAPApplications(key.Namespace).Get, key.Name)
	if !ok {
		return err
	}
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("capapplication", klog.KObj(cached)))
	account := identity.AppAccount(cached.Spec.ProviderSubaccountId, cached.Spec.GlobalAccountId)
	if account == "" {
		o := notReady(v1alpha1.CAPApplicationStateError, ReasonMissingAccount, "set spec.providerSubaccountId or spec.globalAccountId: one of them identifies the application")
		return ctl.writeStatus(ctx, cached, o, nil)
	}
	ca, err := ctl.prepare(ctx, cached.DeepCopy(), account)
	if err != nil {
		return err
	}
	if ca.DeletionTimestamp != nil {
		return ctl.finalize(ctx, ca)
	}
	if len(domainref.LegacyDomains(ca)) > 0 {
		return ctl.migrateDomains(ctx, ca)
	}
	o, err := ctl.evaluate(ctx, ca)
	if err != nil {
		return err
	}
	subdomains, err := ctl.observedSubdomains(ca)
	if err != nil {
		return err
	}
	if err := ctl.writeStatus(ctx, ca, o, subdomains); err != nil {
		return err
	}
	return ctl.finishRollout(ctx, ca, o)
}

// prepare adds the finalizer and the identity label and annotation (never overwriting them)
// and returns the possibly updated application.
func (ctl *Controller) prepare(ctx context.Context, ca *v1alpha1.CAPApplication, account string) (*v1alpha1.CAPApplication, error) {
	want := ca.DeepCopy()
	controller.SetIfMissing(&want.Labels, v1alpha1.LabelAppIdentifierHash, identity.AppHash(account, ca.Spec.BTPAppName))
	controller.SetIfMissing(&want.Annotations, v1alpha1.AnnotationAppIdentifier, identity.AppID(account, ca.Spec.BTPAppName))
	if ca.DeletionTimestamp == nil {
		controller.AddFinalizer(want, v1alpha1.FinalizerCAPApplication)
	}
	if !controller.MetadataChanged(ca, want) {
		return ca, nil
	}
	updated, err := ctl.c.Clients.SME.SmeV1alpha1().CAPApplications(ca.Namespace).Update(ctx, want, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	if err != nil {
		return nil, fmt.Errorf("preparing: %w", err)
	}
	return updated, nil
}

// evaluate checks the application's dependencies in order and drives its tenants; it
// returns the outcome for the status, or an error for a retry with backoff.
func (ctl *Controller) evaluate(ctx context.Context, ca *v1alpha1.CAPApplication) (outcome, error) {
	if missing := controller.MissingBindingSecrets(ctl.secrets, ca); len(missing) > 0 {
		ctl.eventOnChange(ca, corev1.EventTypeWarning, ReasonProcessingSecrets, "MissingSecrets", fmt.Sprintf("waiting for the binding secrets %v", missing))
		return notReady("", ReasonProcessingSecrets, fmt.Sprintf("waiting for the binding secrets %v", missing)), nil
	}
	domains, o, ok := ctl.checkDomains(ca)
	if !ok {
		return o, nil
	}
	latest, newest, err := ctl.latestVersions(ca)
	if err != nil {
		return outcome{}, err
	}
	if latest == nil {
		o.state = v1alpha1.CAPApplicationStateProcessing
		o.conditions = append(o.conditions,
			cond(v1alpha1.ConditionTypeReady, false, ReasonWaitingForReadyCAV, "waiting for a Ready CAPApplicationVersion"),
			cond(v1alpha1.ConditionTypeLatestVersionReady, false, ReasonWaitingForReadyCAV, "waiting for a Ready CAPApplicationVersion"))
		return o, nil
	}
	servicesOnly := workload.ServicesOnly(ca, latest)
	if ca.Status.ServicesOnly != nil && *ca.Status.ServicesOnly != servicesOnly {
		msg := fmt.Sprintf("version %s changes the application between services-only and multi-tenant, which is not allowed; create a version with the same kind of workloads", latest.Name)
		o.state = v1alpha1.CAPApplicationStateError
		o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeLatestVersionReady, false, ReasonServicesOnlyChanged, msg), cond(v1alpha1.ConditionTypeReady, false, ReasonServicesOnlyChanged, msg))
		return o, nil
	}
	o.servicesOnly = &servicesOnly
	if !servicesOnly {
		if blocked, err := ctl.providerTenant(ctx, ca, latest, &o); blocked || err != nil {
			return o, err
		}
	}
	if err := ctl.exposures.Reconcile(ctx, ca, latest, domains); err != nil {
		if !serviceexposure.IsSpecError(err) {
			return o, err
		}
		o.state = v1alpha1.CAPApplicationStateError
		o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeReady, false, ReasonServiceExposureError, err.Error()))
		return o, nil
	}
	return ctl.consistent(ctx, ca, latest, newest, servicesOnly, o)
}

// consistent completes the outcome of an application whose dependencies are in place:
// Ready, the latest-version condition and, unless services-only, the tenant upgrade.
func (ctl *Controller) consistent(ctx context.Context, ca *v1alpha1.CAPApplication, latest, newest *v1alpha1.CAPApplicationVersion, servicesOnly bool, o outcome) (outcome, error) {
	o.state = v1alpha1.CAPApplicationStateConsistent
	o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeReady, true, ReasonVersionExists, fmt.Sprintf("version %s is Ready", latest.Spec.Version)))
	if newest != latest {
		o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeLatestVersionReady, false, ReasonLatestVersionNotReady,
			fmt.Sprintf("version %s is not Ready yet; tenants target version %s", newest.Spec.Version, latest.Spec.Version)))
	} else {
		o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeLatestVersionReady, true, ReasonLatestVersionReady, fmt.Sprintf("version %s is Ready", latest.Spec.Version)))
	}
	if servicesOnly {
		o.removeConditions = append(o.removeConditions, v1alpha1.ConditionTypeAllTenantsReady)
		return o, nil
	}
	if ca.Spec.RolloutStrategy != nil {
		return ctl.rolloutTenants(ctx, ca, latest, o)
	}
	return ctl.upgradeTenants(ctx, ca, latest, o)
}

// eventOnChange records an event unless the Ready condition already carries the reason, so a
// waiting application does not record the same event on every sync.
func (ctl *Controller) eventOnChange(ca *v1alpha1.CAPApplication, eventType, conditionReason, eventReason, message string) {
	if c := meta.FindStatusCondition(ca.Status.Conditions, v1alpha1.ConditionTypeReady); c != nil && c.Reason == conditionReason {
		return
	}
	ctl.c.Recorder.Eventf(ca, nil, eventType, eventReason, "Reconcile", "%s", message)
}
