package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=dom,categories=cap
// +kubebuilder:printcolumn:name="Domain",type="string",JSONPath=".spec.domain"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="State",type="string",JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].reason",priority=1

// Domain is a DNS domain that applications in its namespace are served on. The operator
// creates its Istio Gateway, TLS Certificate and DNS entries.
type Domain struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +required
	metav1.ObjectMeta `json:"metadata"`
	// Spec is the desired state of the domain.
	Spec DomainSpec `json:"spec"`
	// Status is the state of the domain observed by the controller.
	// +optional
	Status DomainStatus `json:"status,omitempty"`
}

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cdom,categories=cap
// +kubebuilder:printcolumn:name="Domain",type="string",JSONPath=".spec.domain"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="State",type="string",JSONPath=".status.state"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].reason",priority=1

// ClusterDomain is a DNS domain that applications in every namespace may be served on. Its
// Gateway lives in the operator's namespace.
type ClusterDomain struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +required
	metav1.ObjectMeta `json:"metadata"`
	// Spec is the desired state of the domain.
	Spec DomainSpec `json:"spec"`
	// Status is the state of the domain observed by the controller.
	// +optional
	Status DomainStatus `json:"status,omitempty"`
}

// TLSMode is the TLS mode of a domain's Gateway.
// +kubebuilder:validation:Enum=Simple;Mutual;OptionalMutual
type TLSMode string

// TLS modes.
const (
	TLSModeSimple         TLSMode = "Simple"
	TLSModeMutual         TLSMode = "Mutual"
	TLSModeOptionalMutual TLSMode = "OptionalMutual"
)

// DNSMode says which DNS entries are created for a domain.
// +kubebuilder:validation:Enum=None;Wildcard;Subdomain;Custom
type DNSMode string

// DNS modes.
const (
	// DNSModeNone creates no DNS entries.
	DNSModeNone DNSMode = "None"
	// DNSModeWildcard creates one entry `*.<domain>`.
	DNSModeWildcard DNSMode = "Wildcard"
	// DNSModeSubdomain creates one entry per subdomain in use.
	DNSModeSubdomain DNSMode = "Subdomain"
	// DNSModeCustom creates the entries of dnsTemplates.
	DNSModeCustom DNSMode = "Custom"
)

// DomainSpec is the desired state of a Domain or ClusterDomain.
type DomainSpec struct {
	// Domain is the DNS domain; tenants and service exposures get hosts below it.
	// +kubebuilder:validation:Pattern=`^[a-z0-9-.]+$`
	Domain string `json:"domain"`
	// IngressSelector selects the Istio ingress gateway pods that serve the domain.
	IngressSelector map[string]string `json:"ingressSelector"`
	// TLSMode of the Gateway: Simple, Mutual or OptionalMutual.
	// +kubebuilder:default=Simple
	// +kubebuilder:validation:Required
	TLSMode TLSMode `json:"tlsMode,omitempty"`
	// DNSMode says which DNS entries are created: None, Wildcard, Subdomain or Custom.
	// +kubebuilder:default=None
	// +kubebuilder:validation:Required
	DNSMode DNSMode `json:"dnsMode,omitempty"`
	// DNSTemplates are Go templates (with sprig functions and the variables .domain,
	// .dnsTarget and .subDomain) for the DNS entries of dnsMode Custom.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	DNSTemplates []DNSTemplate `json:"dnsTemplates,omitempty"`
	// DNSTarget is the host name DNS entries point at. When empty it is taken from the
	// ingress gateway's load balancer Service.
	// +kubebuilder:validation:Pattern=`^[a-z0-9-.]+$`
	// +optional
	DNSTarget string `json:"dnsTarget,omitempty"`
	// CertConfig configures the TLS certificate.
	// +optional
	CertConfig *CertConfig `json:"certConfig,omitempty"`
}

// DNSTemplate is a template for one DNS entry.
type DNSTemplate struct {
	// Name is the template of the DNS name.
	Name string `json:"name"`
	// Target is the template of the entry's target.
	Target string `json:"target"`
}

// CertConfig configures the TLS certificate of a domain.
type CertConfig struct {
	// AdditionalCACertificate is a PEM CA certificate trusted for client certificates in the
	// Mutual and OptionalMutual TLS modes.
	// +optional
	AdditionalCACertificate string `json:"additionalCACertificate,omitempty"`
	// CertManager configures certificates issued by cert-manager.
	// +optional
	CertManager *CertManager `json:"certManager,omitempty"`
}

// CertManager configures certificates issued by cert-manager.
type CertManager struct {
	// IssuerRef is the cert-manager issuer; the ClusterIssuer cluster-ca by default.
	IssuerRef *CertManagerIssuer `json:"issuerRef"`
}

// CertManagerIssuer references a cert-manager Issuer or ClusterIssuer.
type CertManagerIssuer struct {
	// Name of the issuer.
	Name string `json:"name"`
	// Kind of the issuer, for example Issuer or ClusterIssuer.
	// +optional
	Kind string `json:"kind,omitempty"`
	// Group of the issuer, cert-manager.io by default.
	// +optional
	Group string `json:"group,omitempty"`
}

// DomainState is the coarse state of a Domain or ClusterDomain.
// +kubebuilder:validation:Enum="";Ready;Error;Processing;Deleting
type DomainState string

// States of a Domain or ClusterDomain.
const (
	DomainStateReady      DomainState = "Ready"
	DomainStateError      DomainState = "Error"
	DomainStateProcessing DomainState = "Processing"
	DomainStateDeleting   DomainState = "Deleting"
)

// DomainStatus is the observed state of a Domain or ClusterDomain.
type DomainStatus struct {
	GenericStatus `json:",inline"`
	// State is the coarse state of the domain.
	State DomainState `json:"state"`
	// DNSTarget is the resolved DNS target.
	// +optional
	DNSTarget string `json:"dnsTarget,omitempty"`
	// GatewayName is the name of the Istio Gateway serving the domain.
	// +optional
	GatewayName string `json:"gatewayName,omitempty"`
	// ObservedDomain is the domain the child objects were last built for.
	// +optional
	ObservedDomain string `json:"observedDomain,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// DomainList is a list of Domains.
type DomainList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the listed Domains.
	Items []Domain `json:"items"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// ClusterDomainList is a list of ClusterDomains.
type ClusterDomainList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the listed ClusterDomains.
	Items []ClusterDomain `json:"items"`
}
