package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ctout,categories=cap
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// CAPTenantOutput carries data a tenant operation wants returned to the SaaS registry in the
// subscription callback. It is linked to its tenant by the label sme.sap.com/btp-tenant-id.
// +genclient:noStatus
type CAPTenantOutput struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +required
	metav1.ObjectMeta `json:"metadata"`
	// Spec holds the output data.
	Spec CAPTenantOutputSpec `json:"spec"`
}

// CAPTenantOutputSpec holds the output data of a tenant operation.
type CAPTenantOutputSpec struct {
	// SubscriptionCallbackData is a JSON object merged into the additionalOutput of the
	// subscription callback.
	// +optional
	// +nullable
	SubscriptionCallbackData *string `json:"subscriptionCallbackData,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// CAPTenantOutputList is a list of CAPTenantOutputs.
type CAPTenantOutputList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the listed CAPTenantOutputs.
	Items []CAPTenantOutput `json:"items"`
}
