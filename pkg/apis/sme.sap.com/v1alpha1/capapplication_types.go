package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ca,categories=cap
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="State",type="string",JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].reason",priority=1
// +kubebuilder:printcolumn:name="Rollout",type="string",JSONPath=".status.rollout.phase"
// +kubebuilder:printcolumn:name="Target",type="string",JSONPath=".status.rollout.targetVersion"
// +kubebuilder:printcolumn:name="Progress",type="string",JSONPath=".status.rollout.summary"

// CAPApplication describes a SAP CAP application: the BTP service instances it is bound to,
// the domains it is served on and, for a multi-tenant application, its provider tenant. Its
// CAPApplicationVersions describe the workloads that run it, and its CAPTenants the
// subscribed tenants.
type CAPApplication struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +required
	metav1.ObjectMeta `json:"metadata"`
	// Spec is the desired state of the application.
	Spec CAPApplicationSpec `json:"spec"`
	// Status is the state of the application observed by the controller.
	// +optional
	Status CAPApplicationStatus `json:"status,omitempty"`
}

// CAPApplicationSpec is the desired state of a CAPApplication.
type CAPApplicationSpec struct {
	// DomainRefs lists the Domain (same namespace) and ClusterDomain objects the application is
	// served on. Tenant routes get one host per domain.
	// +optional
	DomainRefs []DomainRef `json:"domainRefs,omitempty"`
	// Domains is the legacy way to declare domains.
	//
	// Deprecated: use domainRefs. The mutating webhook migrates this field into Domain and
	// ClusterDomain objects referenced from domainRefs; the controller ignores it.
	// +optional
	Domains *ApplicationDomains `json:"domains,omitempty"`
	// GlobalAccountId is the SAP BTP global account the application belongs to. It identifies
	// the application when providerSubaccountId is not set.
	//
	// Deprecated: prefer providerSubaccountId.
	// +optional
	GlobalAccountId string `json:"globalAccountId,omitempty"`
	// ProviderSubaccountId is the SAP BTP subaccount that provides the application. Together
	// with btpAppName it identifies the application for subscription callbacks. When empty,
	// globalAccountId is used instead.
	// +optional
	ProviderSubaccountId string `json:"providerSubaccountId,omitempty"`
	// BTPAppName is the short application name (the XSAPPNAME on SAP BTP).
	BTPAppName string `json:"btpAppName"`
	// Provider identifies the provider tenant. When set, a provider CAPTenant is created
	// automatically.
	//
	// Deprecated: subscribe the provider subaccount like any other tenant.
	// +optional
	Provider *BTPTenantIdentification `json:"provider,omitempty"`
	// BTP lists the SAP BTP service instances the application consumes.
	BTP BTP `json:"btp"`
	// RolloutOnCredentialUpdate rolls the Deployments of the application's versions when the
	// binding Secret of a service they consume changes: after the operator's rollout delay
	// (ROLLOUT_DELAY, default 1h; changes within the delay form one batch per namespace), each
	// Deployment whose VCAP_SERVICES content changed gets a new VCAP_SERVICES Secret and new
	// pods; Deployments that do not consume a changed service are not touched. When false (the
	// default) running workloads keep the credentials they started with until a new version
	// is deployed; tenant operation Jobs always start with the current credentials.
	// +optional
	RolloutOnCredentialUpdate bool `json:"rolloutOnCredentialUpdate,omitempty"`
	// RolloutStrategy moves tenants to a new Ready version in waves, bounded in parallelism
	// and failures (docs/rollouts.md). Without it every tenant is moved at once.
	// +optional
	RolloutStrategy *RolloutStrategy `json:"rolloutStrategy,omitempty"`
}

// DomainRefKind is the kind of object a DomainRef points at.
// +kubebuilder:validation:Enum=Domain;ClusterDomain
type DomainRefKind string

// Kinds a DomainRef may reference.
const (
	DomainRefKindDomain        DomainRefKind = "Domain"
	DomainRefKindClusterDomain DomainRefKind = "ClusterDomain"
)

// DomainRef references a Domain in the application's namespace or a ClusterDomain.
type DomainRef struct {
	// Kind of the referenced object: Domain or ClusterDomain.
	Kind DomainRefKind `json:"kind"`
	// Name of the referenced object.
	Name string `json:"name"`
}

// ApplicationDomains is the legacy domain declaration of a CAPApplication.
type ApplicationDomains struct {
	// Primary is the primary domain of the application.
	// +kubebuilder:validation:Pattern=`^[a-z0-9-.]+$`
	// +kubebuilder:validation:MaxLength=62
	// +optional
	Primary string `json:"primary,omitempty"`
	// Secondary lists further domains the application is served on.
	// +optional
	Secondary []Hostname `json:"secondary,omitempty"`
	// DnsTarget is the public host name the DNS entries point at.
	// +kubebuilder:validation:Pattern=`^[a-z0-9-.]*$`
	// +optional
	DnsTarget string `json:"dnsTarget,omitempty"`
	// IstioIngressGatewayLabels select the Istio ingress gateway pods.
	// +kubebuilder:validation:MinItems=1
	// +optional
	IstioIngressGatewayLabels []NameValue `json:"istioIngressGatewayLabels,omitempty"`
}

// Hostname is a lower-case DNS name.
// +kubebuilder:validation:Pattern=`^[a-z0-9-.]+$`
type Hostname string

// BTPTenantIdentification identifies a tenant on SAP BTP.
type BTPTenantIdentification struct {
	// SubDomain of the tenant's subaccount.
	SubDomain string `json:"subDomain"`
	// TenantId is the tenant's identifier.
	TenantId string `json:"tenantId"`
}

// BTP lists the SAP BTP services an application consumes.
type BTP struct {
	// Services are the consumed service instances.
	Services []ServiceInfo `json:"services"`
}

// SubscriptionDependency controls whether a service is reported as a subscription dependency.
// +kubebuilder:validation:Enum=Auto;Always;Never
type SubscriptionDependency string

// Values of ServiceInfo.SubscriptionDependency.
const (
	SubscriptionDependencyAuto   SubscriptionDependency = "Auto"
	SubscriptionDependencyAlways SubscriptionDependency = "Always"
	SubscriptionDependencyNever  SubscriptionDependency = "Never"
)

// ServiceInfo describes one consumed SAP BTP service instance and the Secret holding its
// binding credentials.
type ServiceInfo struct {
	// Name of the service instance. Workloads refer to it in consumedBTPServices.
	Name string `json:"name"`
	// Secret is the name of the Secret, in the application's namespace, with the binding
	// credentials: either a `credentials` key with JSON, or one key per property plus a
	// `.metadata` key describing them.
	Secret string `json:"secret"`
	// Class is the technical name of the service offering (for example xsuaa, saas-registry,
	// destination). It becomes the key of the entry in VCAP_SERVICES.
	Class string `json:"class"`
	// SubscriptionDependency controls whether the service is reported to the SaaS registry as
	// a dependency: Always, Never, or Auto (the default), which reports well-known dependency
	// services.
	// +optional
	SubscriptionDependency *SubscriptionDependency `json:"subscriptionDependency,omitempty"`
}

// CAPApplicationState is the coarse state of a CAPApplication.
// +kubebuilder:validation:Enum="";Consistent;Processing;Error;Deleting
type CAPApplicationState string

// States of a CAPApplication.
const (
	CAPApplicationStateConsistent CAPApplicationState = "Consistent"
	CAPApplicationStateProcessing CAPApplicationState = "Processing"
	CAPApplicationStateError      CAPApplicationState = "Error"
	CAPApplicationStateDeleting   CAPApplicationState = "Deleting"
)

// CAPApplicationStatus is the observed state of a CAPApplication.
type CAPApplicationStatus struct {
	GenericStatus `json:",inline"`
	// State is the coarse state of the application.
	State CAPApplicationState `json:"state"`
	// ServicesOnly is true for an application that runs services only, without tenants. It is
	// decided from the first Ready version and cannot change afterwards.
	// +optional
	ServicesOnly *bool `json:"servicesOnly,omitempty"`
	// DomainSpecHash records the domains last seen on the referenced Domain and
	// ClusterDomain objects, as a JSON object mapping each owner to its domain.
	// +optional
	DomainSpecHash string `json:"domainSpecHash,omitempty"`
	// LastFullReconciliationTime is reserved.
	// +optional
	LastFullReconciliationTime *metav1.Time `json:"lastFullReconciliationTime,omitempty"`
	// ObservedSubdomains is the sorted list of subdomains in use by the application's tenants
	// and service exposures.
	// +optional
	ObservedSubdomains []string `json:"observedSubdomains,omitempty"`
	// Rollout is the progress of the rollout of the latest Ready version, when the
	// application has a rollout strategy.
	// +optional
	Rollout *RolloutStatus `json:"rollout,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// CAPApplicationList is a list of CAPApplications.
type CAPApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the listed CAPApplications.
	Items []CAPApplication `json:"items"`
}
