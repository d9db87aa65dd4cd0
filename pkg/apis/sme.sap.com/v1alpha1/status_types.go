package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// GenericStatus holds the status fields shared by every kind that has a status.
type GenericStatus struct {
	// ObservedGeneration is the metadata.generation the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions describe the latest observations of the object's state. Every kind carries a
	// Ready condition; CAPApplication also carries AllTenantsReady and LatestVersionReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Condition types written by the controller.
const (
	// ConditionTypeReady reports whether the object reached its desired state. For a
	// CAPTenantOperation, Ready=True means the operation has finished (successfully when the
	// reason is StepCompleted).
	ConditionTypeReady = "Ready"
	// ConditionTypeAllTenantsReady reports whether every tenant of a CAPApplication is Ready
	// on the expected version.
	ConditionTypeAllTenantsReady = "AllTenantsReady"
	// ConditionTypeLatestVersionReady reports whether the newest CAPApplicationVersion of a
	// CAPApplication is Ready.
	ConditionTypeLatestVersionReady = "LatestVersionReady"
)

// NameValue is a generic name and value pair.
type NameValue struct {
	// Name of the entry.
	Name string `json:"name"`
	// Value of the entry.
	Value string `json:"value"`
}
