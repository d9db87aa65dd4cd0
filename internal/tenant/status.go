package tenant

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Phase is where an operation stands from the tenant's point of view.
type Phase int

// Phases of an operation.
const (
	PhaseProcessing Phase = iota
	PhaseCompleted
	PhaseFailed
)

// Condition reasons of a CAPTenant's Ready condition besides the table of Row.
const (
	ReasonProcessingStarted  = "ProcessingStarted"
	ReasonWaitingForVersion  = "WaitingForCAPApplicationVersion"
	ReasonInvalidReference   = "InvalidReference"
	ReasonInvalidSteps       = "InvalidTenantOperationSteps"
	ReasonUpgradeCancelled   = "UpgradeCancelled"
	ReasonDeprovisioningDone = "DeprovisioningCompleted"
)

// Row is one cell of the tenant state table: the state, the Ready status and its reason.
type Row struct {
	State  v1alpha1.CAPTenantState
	Ready  metav1.ConditionStatus
	Reason string
}

// rows is the state table of section 2.4: per operation, the row while it runs, after it
// completed and after it failed. An upgrade keeps Ready True: the tenant is served by its
// current version meanwhile. A completed deprovisioning removes the finalizer instead.
var rows = map[v1alpha1.CAPTenantOperationType][3]Row{
	v1alpha1.CAPTenantOperationTypeProvisioning: {
		{v1alpha1.CAPTenantStateProvisioning, metav1.ConditionFalse, "ProvisioningOperationCreated"},
		{v1alpha1.CAPTenantStateReady, metav1.ConditionTrue, "ProvisioningCompleted"},
		{v1alpha1.CAPTenantStateProvisioningError, metav1.ConditionFalse, "ProvisioningFailed"},
	},
	v1alpha1.CAPTenantOperationTypeUpgrade: {
		{v1alpha1.CAPTenantStateUpgrading, metav1.ConditionTrue, "UpgradeOperationCreated"},
		{v1alpha1.CAPTenantStateReady, metav1.ConditionTrue, "UpgradeCompleted"},
		{v1alpha1.CAPTenantStateUpgradeError, metav1.ConditionTrue, "UpgradeFailed"},
	},
	v1alpha1.CAPTenantOperationTypeDeprovisioning: {
		{v1alpha1.CAPTenantStateDeleting, metav1.ConditionFalse, "DeprovisioningOperationCreated"},
		{v1alpha1.CAPTenantStateDeleting, metav1.ConditionFalse, ReasonDeprovisioningDone},
		{v1alpha1.CAPTenantStateDeleting, metav1.ConditionFalse, "DeprovisioningFailed"},
	},
}

// RowFor returns the state table row of an operation type in a phase.
func RowFor(op v1alpha1.CAPTenantOperationType, phase Phase) Row {
	return rows[op][phase]
}

// Condition returns the Ready condition of a row with a message.
func (r Row) Condition(message string) metav1.Condition {
	return metav1.Condition{Type: v1alpha1.ConditionTypeReady, Status: r.Ready, Reason: r.Reason, Message: message}
}
