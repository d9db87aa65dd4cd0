package controller

import (
	"time"

	smeinformers "github.com/capstan-io/capstan/pkg/client/informers/externalversions"
	cminformers "github.com/cert-manager/cert-manager/pkg/client/informers/externalversions"
	gardenercertinformers "github.com/gardener/cert-management/pkg/client/cert/informers/externalversions"
	gardenerdnsinformers "github.com/gardener/external-dns-management/pkg/client/dns/informers/externalversions"
	monitoringinformers "github.com/prometheus-operator/prometheus-operator/pkg/client/informers/externalversions"
	istioinformers "istio.io/client-go/pkg/informers/externalversions"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"

	"github.com/capstan-io/capstan/internal/kube"
)

// FieldManager identifies the operator's writes in managedFields.
const FieldManager = "cap-operator"

// EventReportingController is the controller name on the events the operator records.
const EventReportingController = "cap-controller.sme.sap.com"

// Options are the operator-wide settings, from environment variables and flags.
type Options struct {
	// OperatorNamespace is where ClusterDomain children and the leader-election Lease live.
	OperatorNamespace string
	// CertManager is "gardener" or "cert-manager.io": which Certificate API to use.
	CertManager string
	// DNSManager is "gardener" (DNSEntries are created) or "kubernetes" (none are).
	DNSManager string
	// DNSTarget is the default DNS target of domains that do not set one.
	DNSTarget string
	// MaxTenantVersionHistory bounds a tenant's previousCAPApplicationVersions.
	MaxTenantVersionHistory int
	// TenantOperationHistory is how many finished CAPTenantOperations are kept per tenant.
	TenantOperationHistory int
	// RetryInitialDelay is the delay before the first automatic retry of a failed tenant
	// operation; it doubles per attempt up to RetryMaxDelay.
	RetryInitialDelay time.Duration
	// RetryMaxDelay caps the retry delay.
	RetryMaxDelay time.Duration
	// RetryMaxAttempts is the number of automatic retries of a failed tenant operation
	// (0 disables them).
	RetryMaxAttempts int
	// RolloutDelay is how long the credential rollout waits after a binding Secret of an
	// application with rolloutOnCredentialUpdate changed before it rolls the namespace's
	// workloads, batching the changes made meanwhile; values below one second count as one second.
	RolloutDelay time.Duration
	// VersionCleanup configures the periodic deletion of unused CAPApplicationVersions.
	VersionCleanup VersionCleanupOptions
}

// VersionCleanupOptions configure the version-cleanup controller.
type VersionCleanupOptions struct {
	// PrometheusAddress is the URL of the Prometheus server that deletion rules are evaluated
	// against. Empty: versions whose workloads have deletion rules are never deleted; versions
	// without rules still are.
	PrometheusAddress string
	// EvaluationInterval is the time between two evaluations of every monitored application.
	EvaluationInterval time.Duration
	// ClientRetryDelay is the time after a failed connection to Prometheus before the next
	// attempt.
	ClientRetryDelay time.Duration
	// QueryTimeout bounds each Prometheus query and connection attempt.
	QueryTimeout time.Duration
}

// APIs tells which optional APIs the cluster serves.
type APIs struct {
	// ServiceMonitors is true when monitoring.coreos.com/v1 ServiceMonitor is served.
	ServiceMonitors bool
	// GardenerCertificates is true when cert.gardener.cloud/v1alpha1 is served.
	GardenerCertificates bool
	// CertManagerCertificates is true when cert-manager.io/v1 is served.
	CertManagerCertificates bool
	// CertManagerCertificateRequests is true when cert-manager.io/v1 CertificateRequest is
	// served (always with cert-manager; a cluster with only its Certificate CRD lacks it).
	CertManagerCertificateRequests bool
	// GardenerDNS is true when dns.gardener.cloud/v1alpha1 is served.
	GardenerDNS bool
}

// Context carries everything a controller needs. cmd/controller builds one, passes it to
// every controller constructor and starts the informer factories after all controllers
// have registered their informers.
type Context struct {
	// Clients are the API clients.
	Clients *kube.Clients
	// SMEInformers is the factory of the operator's own kinds.
	SMEInformers smeinformers.SharedInformerFactory
	// OwnedInformers is the factory of built-in kinds the operator creates, restricted to
	// objects carrying the owner-identifier-hash label so unrelated objects cost no memory.
	OwnedInformers informers.SharedInformerFactory
	// SecretInformers watches Secrets as metadata only; their data is read on demand.
	SecretInformers metadatainformer.SharedInformerFactory
	// IstioInformers is the factory of Istio objects the operator creates (owner label set).
	IstioInformers istioinformers.SharedInformerFactory
	// CertManagerInformers, GardenerCertInformers and GardenerDNSInformers are the factories
	// of the certificate and DNS APIs; nil when the API is not served.
	CertManagerInformers  cminformers.SharedInformerFactory
	GardenerCertInformers gardenercertinformers.SharedInformerFactory
	GardenerDNSInformers  gardenerdnsinformers.SharedInformerFactory
	// MonitoringInformers is the factory of ServiceMonitors (owner label set); nil when the
	// Prometheus Operator API is not served.
	MonitoringInformers monitoringinformers.SharedInformerFactory
	// APIs tells which optional APIs are served.
	APIs APIs
	// Recorder records events.k8s.io/v1 events.
	Recorder events.EventRecorder
	// Clock is the time source; tests inject a fake one.
	Clock clock.WithTicker
	// Options are the operator-wide settings.
	Options Options
	// Metrics are the Prometheus collectors.
	Metrics *Metrics
}

// SecretsGVR is the resource of Secrets, which SecretInformers watches as metadata only.
var SecretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// Secrets returns the shared metadata-only informer of Secrets.
func (c *Context) Secrets() informers.GenericInformer {
	return c.SecretInformers.ForResource(SecretsGVR)
}
