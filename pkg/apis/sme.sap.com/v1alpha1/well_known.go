package v1alpha1

// Label keys the operator sets on the objects it owns and reads back to find them.
const (
	LabelOwnerIdentifierHash  = "sme.sap.com/owner-identifier-hash"
	LabelOwnerGeneration      = "sme.sap.com/owner-generation"
	LabelWorkloadName         = "sme.sap.com/workload-name"
	LabelWorkloadType         = "sme.sap.com/workload-type"
	LabelResourceCategory     = "sme.sap.com/category"
	LabelAppIdentifierHash    = "sme.sap.com/app-identifier-hash"
	LabelTenantType           = "sme.sap.com/tenant-type"
	LabelBTPTenantIdentifier  = "sme.sap.com/btp-tenant-id"
	LabelTenantOperationType  = "sme.sap.com/tenant-operation-type"
	LabelTenantOperationStep  = "sme.sap.com/tenant-operation-step"
	LabelCAVVersion           = "sme.sap.com/cav-version"
	LabelExposedWorkload      = "sme.sap.com/exposed-workload"
	LabelDNSNameHash          = "sme.sap.com/dns-name-hash"
	LabelSecretOwnerHash      = "sme.sap.com/secret-owner-hash"
	LabelDomainHostHash       = "sme.sap.com/domain-host-hash"
	LabelSubscriptionGUID     = "sme.sap.com/subscription-guid"
	LabelApp                  = "app"
	LabelDisableKarydiaInject = "x4.sap.com/disable-karydia"
)

// Annotation keys read or written by the operator.
const (
	AnnotationOwnerIdentifier           = "sme.sap.com/owner-identifier"
	AnnotationAppIdentifier             = "sme.sap.com/app-identifier"
	AnnotationResourceHash              = "sme.sap.com/resource-hash"
	AnnotationSubscriptionContextSecret = "sme.sap.com/subscription-context-secret"
	AnnotationGlobalAccountId           = "sme.sap.com/global-account-id"
	AnnotationEnableCleanupMonitoring   = "sme.sap.com/enable-cleanup-monitoring"
	AnnotationEnableVersionAffinity     = "sme.sap.com/enable-version-affinity"
	AnnotationLogoutEndpoint            = "sme.sap.com/logout-endpoint"
	AnnotationVSRouteRequestHeaderSet   = "sme.sap.com/vs-route-request-header-set"
	AnnotationVSRouteResponseHeaderSet  = "sme.sap.com/vs-route-response-header-set"
	AnnotationCertManagerCommonName     = "sme.sap.com/cert-manager-common-name"
	AnnotationPrimaryXSUAA              = "sme.sap.com/primary-xsuaa"
	AnnotationSaaSAdditionalOutput      = "sme.sap.com/saas-additional-output"
	AnnotationSubscriptionDomain        = "sme.sap.com/subscription-domain"
	AnnotationMigratedToDomainRefs      = "sme.sap.com/migrated-to-domain-refs-from-ca"
	AnnotationSubscriptionGUID          = LabelSubscriptionGUID
	// AnnotationRetryOperation on a CAPTenant asks for a failed operation to be retried now
	// instead of after its backoff delay.
	AnnotationRetryOperation = "sme.sap.com/retry-operation"
)

// Annotations of other projects the operator reads or writes.
const (
	AnnotationGardenerDNSNames = "dns.gardener.cloud/dnsnames"
	AnnotationExternalDNSHost  = "external-dns.alpha.kubernetes.io/hostname"
	AnnotationGardenerDNSClass = "dns.gardener.cloud/class"
	GardenerDNSClassGarden     = "garden"
)

// Finalizers the operator puts on its objects.
const (
	FinalizerCAPApplication        = "sme.sap.com/capapplication"
	FinalizerCAPApplicationVersion = "sme.sap.com/capapplicationversion"
	FinalizerCAPTenant             = "sme.sap.com/captenant"
	// FinalizerCAPTenantOperation is only on operations of earlier versions and of the
	// previous implementation; the controller removes it when they are deleted.
	FinalizerCAPTenantOperation = "sme.sap.com/captenantoperation"
	FinalizerDomain             = "sme.sap.com/domain"
)

// Values of LabelTenantType.
const (
	TenantTypeProvider = "provider"
	TenantTypeConsumer = "consumer"
)

// Values of LabelResourceCategory.
const (
	CategoryWorkload       = "Workload"
	CategoryService        = "Service"
	CategoryServiceMonitor = "ServiceMonitor"
)

// SubscriptionContextKey is the key of the subscription payload in a tenant's
// subscription-context Secret.
const SubscriptionContextKey = "subscriptionContext"
