package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// JobType is the role of a job workload.
// +kubebuilder:validation:Enum=Content;TenantOperation;CustomTenantOperation
type JobType string

// Job workload types.
const (
	// JobContent deploys content (for example UI resources) once per version.
	JobContent JobType = "Content"
	// JobTenantOperation runs tenant provisioning, upgrade and deprovisioning.
	JobTenantOperation JobType = "TenantOperation"
	// JobCustomTenantOperation is an extra step of a tenant operation.
	JobCustomTenantOperation JobType = "CustomTenantOperation"
)

// JobDetails describe a job workload.
type JobDetails struct {
	CommonDetails `json:",inline"`
	// Type is the role of the job: Content, TenantOperation or CustomTenantOperation.
	Type JobType `json:"type"`
	// BackoffLimit of the Job.
	// +optional
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`
	// TTLSecondsAfterFinished of the Job.
	// +optional
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
	// ActiveDeadlineSeconds of the Job.
	// +optional
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
}

// Stickiness configures session affinity for a deployment workload.
type Stickiness struct {
	// Hash selects the consistent-hash key.
	Hash *StickinessHash `json:"hash,omitempty"`
}

// StickinessHash sets at most one consistent-hash key of an Istio DestinationRule.
// +kubebuilder:validation:XValidation:rule="[has(self.httpHeaderName), has(self.httpCookie), has(self.useSourceIp) && self.useSourceIp, has(self.httpQueryParameterName)].filter(x, x).size() <= 1",message="at most one of httpHeaderName, httpCookie, useSourceIp and httpQueryParameterName may be set"
type StickinessHash struct {
	// HttpHeaderName hashes on the value of this request header.
	// +optional
	HttpHeaderName string `json:"httpHeaderName,omitempty"`
	// HttpCookie hashes on this cookie, which is generated when missing.
	// +optional
	HttpCookie *HTTPCookie `json:"httpCookie,omitempty"`
	// UseSourceIp hashes on the client's IP address.
	// +optional
	UseSourceIp bool `json:"useSourceIp,omitempty"`
	// HttpQueryParameterName hashes on the value of this query parameter.
	// +optional
	HttpQueryParameterName string `json:"httpQueryParameterName,omitempty"`
}

// HTTPCookie describes the cookie used for session affinity.
type HTTPCookie struct {
	// Name of the cookie.
	Name string `json:"name"`
	// Path of the cookie.
	// +optional
	Path string `json:"path,omitempty"`
	// TTL of the cookie, for example 0s for a session cookie.
	// +optional
	TTL *metav1.Duration `json:"ttl,omitempty"`
	// Attributes of the cookie.
	// +optional
	Attributes []CookieAttribute `json:"attributes,omitempty"`
}

// CookieAttribute is one attribute of a session-affinity cookie.
type CookieAttribute struct {
	// Name of the attribute.
	Name string `json:"name"`
	// Value of the attribute.
	// +optional
	Value string `json:"value,omitempty"`
}

// WorkloadMonitoring configures monitoring of a deployment workload.
type WorkloadMonitoring struct {
	// DeletionRules decide when this workload of an outdated version is no longer used. When
	// the CAPApplication has the annotation sme.sap.com/enable-cleanup-monitoring ("true" or
	// "dry-run"), a version older than the latest Ready one that no tenant runs or targets is
	// deleted ("true") or only reported ("dry-run") once the rules of all its workloads pass;
	// a workload without rules passes. Rules are evaluated against the Prometheus server of the
	// controller's PROMETHEUS_ADDRESS; a rule that cannot be evaluated keeps the version.
	// +optional
	DeletionRules *DeletionRules `json:"deletionRules,omitempty"`
	// ScrapeConfig creates a ServiceMonitor for the workload's Service, so that Prometheus
	// collects the metrics the deletion rules query.
	// +optional
	ScrapeConfig *MonitoringConfig `json:"scrapeConfig,omitempty"`
}

// DeletionRules are either metric rules or a PromQL expression.
// +kubebuilder:validation:XValidation:rule="has(self.metrics) != has(self.expression)",message="exactly one of metrics or expression must be set"
type DeletionRules struct {
	// Metrics are rules on metrics of this workload, which must all pass. Each is queried with
	// the labels job="<version name>-<lower-case workload name>-svc" (the workload's Service,
	// as its ServiceMonitor labels the series) and namespace="<version namespace>".
	// +optional
	Metrics []MetricRule `json:"metrics,omitempty"`
	// Expression is a PromQL expression that must evaluate to a scalar; 1 (true) allows
	// deletion, any other value keeps the version, and a vector, NaN or an error keeps it with
	// a DeletionRuleFailed event. Example:
	// scalar(sum(avg_over_time(current_sessions{job="cav-app-1-backend-svc",namespace="demo"}[2h]))) <= bool 5
	// +optional
	Expression string `json:"expression,omitempty"`
}

// MetricType is the Prometheus type of a metric.
// +kubebuilder:validation:Enum=Gauge;Counter
type MetricType string

// Metric types.
const (
	MetricTypeGauge   MetricType = "Gauge"
	MetricTypeCounter MetricType = "Counter"
)

// MetricRule compares a metric of the workload with a threshold.
type MetricRule struct {
	// Name of the metric, a plain Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
	Name string `json:"name"`
	// Type of the metric. Gauge: the rule queries sum(avg_over_time(<name>{...}[<period>])),
	// the average over the period summed over the workload's series. Counter: it queries
	// sum(rate(<name>{...}[<period>])), the per-second rate over the period.
	Type MetricType `json:"type"`
	// CalculationPeriod is the range the metric is evaluated over, a Prometheus duration such
	// as 90m or 2h.
	// +kubebuilder:validation:Pattern=`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`
	CalculationPeriod string `json:"calculationPeriod"`
	// ThresholdValue is a decimal number; the rule passes when the queried value is at or
	// below it. A query without data (no series in the period) does not pass.
	// +kubebuilder:validation:Pattern=`^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`
	ThresholdValue string `json:"thresholdValue"`
}

// MonitoringConfig describes how to scrape a workload's metrics.
type MonitoringConfig struct {
	// Port is the name of the workload port that serves metrics.
	Port string `json:"port"`
	// Interval between scrapes, for example 15s.
	// +kubebuilder:validation:Pattern=`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`
	// +optional
	Interval string `json:"interval,omitempty"`
	// Path of the metrics endpoint; /metrics when empty.
	// +optional
	Path string `json:"path,omitempty"`
	// ScrapeTimeout of a scrape.
	// +kubebuilder:validation:Pattern=`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`
	// +optional
	ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
}
