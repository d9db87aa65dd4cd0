package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ctop,categories=cap
// +kubebuilder:printcolumn:name="Operation",type="string",JSONPath=".spec.operation"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="State",type="string",JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Step",type="integer",JSONPath=".status.currentStep"
// +kubebuilder:printcolumn:name="Job",type="string",JSONPath=".status.activeJob"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].reason",priority=1

// CAPTenantOperation provisions, upgrades or deprovisions one tenant by running its steps as
// Jobs, one at a time. The operator creates them for CAPTenants.
type CAPTenantOperation struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +required
	metav1.ObjectMeta `json:"metadata"`
	// Spec is the operation to run.
	Spec CAPTenantOperationSpec `json:"spec"`
	// Status is the progress of the operation.
	// +optional
	Status CAPTenantOperationStatus `json:"status,omitempty"`
}

// CAPTenantOperationType is the kind of tenant operation.
// +kubebuilder:validation:Enum=provisioning;deprovisioning;upgrade
type CAPTenantOperationType string

// Tenant operation types.
const (
	CAPTenantOperationTypeProvisioning   CAPTenantOperationType = "provisioning"
	CAPTenantOperationTypeDeprovisioning CAPTenantOperationType = "deprovisioning"
	CAPTenantOperationTypeUpgrade        CAPTenantOperationType = "upgrade"
)

// CAPTenantOperationSpec is the operation to run for a tenant.
type CAPTenantOperationSpec struct {
	// Operation is provisioning, upgrade or deprovisioning.
	Operation               CAPTenantOperationType `json:"operation"`
	BTPTenantIdentification `json:",inline"`
	// CAPApplicationVersionInstance is the CAPApplicationVersion whose workloads run the steps.
	CAPApplicationVersionInstance string `json:"capApplicationVersionInstance"`
	// Steps run in order, each as one Job.
	Steps []CAPTenantOperationStep `json:"steps"`
}

// CAPTenantOperationStep is one step of a tenant operation.
type CAPTenantOperationStep struct {
	// Name of the job workload that runs the step.
	Name string `json:"name"`
	// Type of the workload: TenantOperation or CustomTenantOperation.
	Type StepType `json:"type"`
	// ContinueOnFailure lets the operation go on when this custom step fails.
	// +optional
	ContinueOnFailure bool `json:"continueOnFailure,omitempty"`
}

// StepType is the workload type of a tenant-operation step: the job types that may run as
// steps.
// +kubebuilder:validation:Enum=CustomTenantOperation;TenantOperation
type StepType string

// Step types; they equal the corresponding JobType values.
const (
	StepTenantOperation       = StepType(JobTenantOperation)
	StepCustomTenantOperation = StepType(JobCustomTenantOperation)
)

// CAPTenantOperationState is the coarse state of a CAPTenantOperation.
// +kubebuilder:validation:Enum="";Processing;Completed;Failed;Deleting
type CAPTenantOperationState string

// States of a CAPTenantOperation.
const (
	CAPTenantOperationStateProcessing CAPTenantOperationState = "Processing"
	CAPTenantOperationStateCompleted  CAPTenantOperationState = "Completed"
	CAPTenantOperationStateFailed     CAPTenantOperationState = "Failed"
	CAPTenantOperationStateDeleting   CAPTenantOperationState = "Deleting"
)

// CAPTenantOperationStatus is the progress of a CAPTenantOperation. Its Ready condition is
// True once the operation has finished; the reason StepCompleted means it succeeded.
type CAPTenantOperationStatus struct {
	GenericStatus `json:",inline"`
	// State is the coarse state of the operation.
	State CAPTenantOperationState `json:"state"`
	// CurrentStep is the 1-based index of the running step.
	// +optional
	CurrentStep *uint32 `json:"currentStep,omitempty"`
	// ActiveJob is the name of the Job running the current step.
	// +optional
	ActiveJob *string `json:"activeJob,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// CAPTenantOperationList is a list of CAPTenantOperations.
type CAPTenantOperationList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the listed CAPTenantOperations.
	Items []CAPTenantOperation `json:"items"`
}
