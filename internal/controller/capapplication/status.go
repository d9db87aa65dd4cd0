package capapplication

import (
	"context"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/rollout"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Condition reasons of a CAPApplication.
const (
	ReasonMissingAccount           = "MissingProviderSubaccountId"
	ReasonProcessing               = "ApplicationProcessing"
	ReasonProcessingSecrets        = "ProcessingSecrets"
	ReasonProcessingDomainRefs     = "ProcessingDomainReferences"
	ReasonDomainRefError           = "DomainReferenceError"
	ReasonWaitingForReadyCAV       = "WaitingForReadyCAPApplicationVersion"
	ReasonServicesOnlyChanged      = "ServicesOnlyChanged"
	ReasonProviderTenantProcessing = "ProviderTenantProcessing"
	ReasonProviderTenantError      = "ProviderTenantError"
	ReasonVersionExists            = "VersionExists"
	ReasonLatestVersionReady       = "LatestVersionReady"
	ReasonLatestVersionNotReady    = "LatestVersionNotReady"
	ReasonAllTenantsReady          = "AllTenantsReady"
	ReasonNotAllTenantsReady       = "NotAllTenantsReady"
	ReasonTenantUpgrade            = "NewCAVTriggeredTenantUpgrade"
	ReasonDeleteTriggered          = "DeleteTriggered"
	ReasonTenantsExist             = "TenantsExist"
	ReasonServiceExposureError     = "ServiceExposureError"
)

// outcome is the result of one reconciliation, from which the status is computed.
type outcome struct {
	// state of the application.
	state v1alpha1.CAPApplicationState
	// conditions to set (Ready, and where known LatestVersionReady and AllTenantsReady).
	conditions []metav1.Condition
	// removeConditions are the condition types to remove (AllTenantsReady of a
	// services-only application).
	removeConditions []string
	// servicesOnly is recorded once decided.
	servicesOnly *bool
	// domainSpecHash is the JSON map of referenced domains, when the domains were read.
	domainSpecHash *string
	// rollout is the rollout status, when the application has a rollout strategy.
	rollout *v1alpha1.RolloutStatus
	// rolloutEvents are recorded once a changed rollout status is written.
	rolloutEvents []rollout.Event
	// consumeRolloutAction removes the rollout-action annotation after the status is written.
	consumeRolloutAction bool
	// requeueAfter, when positive, syncs the application again after a health gate.
	requeueAfter time.Duration
}

// cond builds a condition of the given type.
func cond(typ string, ok bool, reason, message string) metav1.Condition {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message}
}

// notReady is an outcome with the Ready condition false; state "" keeps the current state
// (or Processing for a new application).
func notReady(state v1alpha1.CAPApplicationState, reason, message string) outcome {
	return outcome{state: state, conditions: []metav1.Condition{cond(v1alpha1.ConditionTypeReady, false, reason, message)}}
}

// computeStatus returns the status an application should have after a reconciliation.
func computeStatus(ca *v1alpha1.CAPApplication, o outcome, subdomains []string) v1alpha1.CAPApplicationStatus {
	status := *ca.Status.DeepCopy()
	status.ObservedGeneration = ca.Generation
	switch {
	case o.state != "":
		status.State = o.state
	case status.State == "" || status.State == v1alpha1.CAPApplicationStateConsistent:
		status.State = v1alpha1.CAPApplicationStateProcessing
	}
	for _, c := range o.conditions {
		c.ObservedGeneration = ca.Generation
		meta.SetStatusCondition(&status.Conditions, c)
	}
	for _, typ := range o.removeConditions {
		meta.RemoveStatusCondition(&status.Conditions, typ)
	}
	if o.servicesOnly != nil {
		status.ServicesOnly = o.servicesOnly
	}
	if o.domainSpecHash != nil {
		status.DomainSpecHash = *o.domainSpecHash
	}
	if subdomains != nil {
		status.ObservedSubdomains = subdomains
	}
	if o.rollout != nil {
		status.Rollout = o.rollout
	}
	if ca.Spec.RolloutStrategy == nil {
		status.Rollout = nil
	}
	return status
}

// writeStatus writes the computed status when it differs from the stored one.
func (ctl *Controller) writeStatus(ctx context.Context, ca *v1alpha1.CAPApplication, o outcome, subdomains []string) error {
	status := computeStatus(ca, o, subdomains)
	if apiequality.Semantic.DeepEqual(status, ca.Status) {
		return nil
	}
	updated := ca.DeepCopy()
	updated.Status = status
	_, err := ctl.c.Clients.SME.SmeV1alpha1().CAPApplications(ca.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	return err
}
