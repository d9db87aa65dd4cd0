package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cat,categories=cap
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="State",type="string",JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Subdomain",type="string",JSONPath=".spec.subDomain"
// +kubebuilder:printcolumn:name="Current Version",type="string",JSONPath=".status.currentCAPApplicationVersionInstance"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].reason",priority=1

// CAPTenant is a tenant subscribed to a multi-tenant CAPApplication. The operator provisions,
// upgrades and deprovisions it through CAPTenantOperations and routes its traffic with an
// Istio VirtualService.
type CAPTenant struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +required
	metav1.ObjectMeta `json:"metadata"`
	// Spec is the desired state of the tenant.
	Spec CAPTenantSpec `json:"spec"`
	// Status is the state of the tenant observed by the controller.
	// +optional
	Status CAPTenantStatus `json:"status,omitempty"`
}

// CAPTenantSpec is the desired state of a CAPTenant.
type CAPTenantSpec struct {
	// CAPApplicationInstance is the name of the CAPApplication, in the same namespace.
	CAPApplicationInstance  string `json:"capApplicationInstance"`
	BTPTenantIdentification `json:",inline"`
	// Version is the CAPApplicationVersion version the tenant should run. The operator sets it
	// to the latest Ready version unless versionUpgradeStrategy is never.
	// +optional
	Version string `json:"version,omitempty"`
	// VersionUpgradeStrategy is always (the default) or never; never keeps the tenant on its
	// version when a new one becomes Ready.
	// +optional
	VersionUpgradeStrategy VersionUpgradeStrategy `json:"versionUpgradeStrategy,omitempty"`
}

// VersionUpgradeStrategy controls automatic tenant upgrades.
// +kubebuilder:validation:Enum=always;never
type VersionUpgradeStrategy string

// Tenant upgrade strategies.
const (
	VersionUpgradeStrategyAlways VersionUpgradeStrategy = "always"
	VersionUpgradeStrategyNever  VersionUpgradeStrategy = "never"
)

// CAPTenantState is the coarse state of a CAPTenant.
// +kubebuilder:validation:Enum="";Ready;Provisioning;Upgrading;Deleting;ProvisioningError;UpgradeError
type CAPTenantState string

// States of a CAPTenant.
const (
	CAPTenantStateReady             CAPTenantState = "Ready"
	CAPTenantStateProvisioning      CAPTenantState = "Provisioning"
	CAPTenantStateUpgrading         CAPTenantState = "Upgrading"
	CAPTenantStateDeleting          CAPTenantState = "Deleting"
	CAPTenantStateProvisioningError CAPTenantState = "ProvisioningError"
	CAPTenantStateUpgradeError      CAPTenantState = "UpgradeError"
)

// CAPTenantStatus is the observed state of a CAPTenant.
type CAPTenantStatus struct {
	GenericStatus `json:",inline"`
	// State is the coarse state of the tenant.
	State CAPTenantState `json:"state"`
	// CurrentCAPApplicationVersionInstance is the CAPApplicationVersion the tenant was last
	// provisioned or upgraded to.
	// +optional
	CurrentCAPApplicationVersionInstance string `json:"currentCAPApplicationVersionInstance,omitempty"`
	// LastFullReconciliationTime is reserved.
	// +optional
	LastFullReconciliationTime *metav1.Time `json:"lastFullReconciliationTime,omitempty"`
	// PreviousCAPApplicationVersions are the versions the tenant ran before, oldest first.
	// +optional
	PreviousCAPApplicationVersions []string `json:"previousCAPApplicationVersions,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// CAPTenantList is a list of CAPTenants.
type CAPTenantList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the listed CAPTenants.
	Items []CAPTenant `json:"items"`
}
