package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cav,categories=cap
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="State",type="string",JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].reason",priority=1

// CAPApplicationVersion describes one version of a CAPApplication: the Deployments, content
// Jobs and tenant-operation Jobs that run it. Its spec is immutable; a new version is rolled
// out by creating a new CAPApplicationVersion.
type CAPApplicationVersion struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +required
	metav1.ObjectMeta `json:"metadata"`
	// Spec is the desired state of the version.
	Spec CAPApplicationVersionSpec `json:"spec"`
	// Status is the state of the version observed by the controller.
	// +optional
	Status CAPApplicationVersionStatus `json:"status,omitempty"`
}

// CAPApplicationVersionSpec is the desired state of a CAPApplicationVersion.
type CAPApplicationVersionSpec struct {
	// CAPApplicationInstance is the name of the CAPApplication, in the same namespace, this
	// version belongs to.
	CAPApplicationInstance string `json:"capApplicationInstance"`
	// Version is a semantic version (minor and patch may be omitted; pre-release and build
	// suffixes are allowed). Tenants select a version by this value.
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?(\.(0|[1-9][0-9]*))?(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`
	Version string `json:"version"`
	// RegistrySecrets are the names of image pull Secrets for every workload.
	// +optional
	RegistrySecrets []string `json:"registrySecrets,omitempty"`
	// Workloads are the Deployments and Jobs of this version.
	// +kubebuilder:validation:MaxItems=100
	Workloads []WorkloadDetails `json:"workloads"`
	// ContentJobs lists the Content job workloads in the order they run. Required when there
	// is more than one Content job.
	// +optional
	ContentJobs []string `json:"contentJobs,omitempty"`
	// TenantOperations lists, per operation, the job workloads that run as its steps. Without
	// it, each operation runs the single TenantOperation workload.
	// +optional
	TenantOperations *TenantOperations `json:"tenantOperations,omitempty"`
	// ServiceExposures expose workloads on subdomains of the application's domains,
	// independently of tenants.
	// +optional
	ServiceExposures []ServiceExposure `json:"serviceExposures,omitempty"`
}

// TenantOperations lists the steps of each tenant operation.
type TenantOperations struct {
	// Provisioning steps, run when a tenant subscribes.
	// +optional
	Provisioning []TenantOperationWorkloadReference `json:"provisioning,omitempty"`
	// Upgrade steps, run when a tenant moves to this version.
	// +optional
	Upgrade []TenantOperationWorkloadReference `json:"upgrade,omitempty"`
	// Deprovisioning steps, run when a tenant unsubscribes.
	// +optional
	Deprovisioning []TenantOperationWorkloadReference `json:"deprovisioning,omitempty"`
}

// TenantOperationWorkloadReference names a job workload that runs as one step of a tenant
// operation.
type TenantOperationWorkloadReference struct {
	// WorkloadName is the name of a TenantOperation or CustomTenantOperation workload.
	WorkloadName string `json:"workloadName"`
	// ContinueOnFailure lets the operation go on when this step fails. It applies to
	// CustomTenantOperation steps only.
	// +optional
	ContinueOnFailure bool `json:"continueOnFailure,omitempty"`
}

// ServiceExposure exposes workloads on one subdomain of every domain of the application.
type ServiceExposure struct {
	// SubDomain is the first label of the exposed host names.
	SubDomain string `json:"subDomain"`
	// Routes map URL paths to workload ports, matched in order.
	Routes []Route `json:"routes"`
}

// Route sends requests under a path to a port of a workload.
type Route struct {
	// WorkloadName is the name of a deployment workload of this version.
	WorkloadName string `json:"workloadName"`
	// Port is one of the workload's ports.
	Port int32 `json:"port"`
	// Path is the URL prefix routed to the workload; "/" when empty.
	// +optional
	Path string `json:"path,omitempty"`
}

// CAPApplicationVersionState is the coarse state of a CAPApplicationVersion.
// +kubebuilder:validation:Enum="";Ready;Error;Processing;Deleting
type CAPApplicationVersionState string

// States of a CAPApplicationVersion.
const (
	CAPApplicationVersionStateReady      CAPApplicationVersionState = "Ready"
	CAPApplicationVersionStateError      CAPApplicationVersionState = "Error"
	CAPApplicationVersionStateProcessing CAPApplicationVersionState = "Processing"
	CAPApplicationVersionStateDeleting   CAPApplicationVersionState = "Deleting"
)

// CAPApplicationVersionStatus is the observed state of a CAPApplicationVersion.
type CAPApplicationVersionStatus struct {
	GenericStatus `json:",inline"`
	// State is the coarse state of the version.
	State CAPApplicationVersionState `json:"state"`
	// FinishedJobs lists the content Jobs that have completed or failed.
	// +optional
	FinishedJobs []string `json:"finishedJobs,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// CAPApplicationVersionList is a list of CAPApplicationVersions.
type CAPApplicationVersionList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the listed CAPApplicationVersions.
	Items []CAPApplicationVersion `json:"items"`
}
