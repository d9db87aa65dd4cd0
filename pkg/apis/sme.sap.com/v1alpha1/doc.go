// Package v1alpha1 holds the sme.sap.com/v1alpha1 API: the custom resources that describe a
// multi-tenant SAP CAP application (CAPApplication, CAPApplicationVersion, CAPTenant,
// CAPTenantOperation, CAPTenantOutput) and the domains it is served on (Domain, ClusterDomain).
//
// The field names and JSON keys match SAP's CAP Operator so that manifests written for it apply
// unchanged.
//
// +k8s:deepcopy-gen=package
// +groupName=sme.sap.com
package v1alpha1
