// Package app implements the controller binary: options from flags and environment
// variables, leader election, the metrics and health server and the controller registry.
package app

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/credentialrollout"
	"github.com/capstan-io/capstan/internal/kube"
)

// Options are the controller binary's settings. Every flag has an environment variable of
// the previous implementation as its default, so existing deployments keep working.
type Options struct {
	Kubeconfig        string
	QPS               float32
	Burst             int
	MetricsAddress    string
	LeaderElect       bool
	LeaseName         string
	DetailedMetrics   bool
	Workers           map[string]*int
	Controller        controller.Options
	Logging           *logsapi.LoggingConfiguration
	Controllers       []string
	ShutdownGraceTime time.Duration
}

// workerEnv maps controller names to the environment variables of their worker counts, and
// defaultWorkers gives their defaults.
var (
	workerEnv = map[string]string{
		"capapplication":        "MAX_CONCURRENT_RECONCILES_CAP_APPLICATION",
		"capapplicationversion": "MAX_CONCURRENT_RECONCILES_CAP_APPLICATION_VERSION",
		"captenant":             "MAX_CONCURRENT_RECONCILES_CAP_TENANT",
		"captenantoperation":    "MAX_CONCURRENT_RECONCILES_CAP_TENANT_OPERATION",
		"domain":                "MAX_CONCURRENT_RECONCILES_DOMAIN",
		"clusterdomain":         "MAX_CONCURRENT_RECONCILES_CLUSTER_DOMAIN",
		"versioncleanup":        "MAX_CONCURRENT_RECONCILES_VERSION_CLEANUP",
		// As in the previous implementation, the credential rollout runs as many workers as
		// the version controller.
		"credentialrollout": "MAX_CONCURRENT_RECONCILES_CAP_APPLICATION_VERSION",
	}
	defaultWorkers = map[string]int{
		"capapplication": 1, "capapplicationversion": 3, "captenant": 10,
		"captenantoperation": 10, "domain": 1, "clusterdomain": 1, "credentialrollout": 3,
		"versioncleanup": 1,
	}
)

// NewOptions returns the options with defaults taken from the environment.
func NewOptions() *Options {
	o := &Options{
		QPS:               float32(envFloat("CLIENT_QPS", 100)),
		Burst:             envInt("CLIENT_BURST", 200),
		MetricsAddress:    ":" + envString("METRICS_PORT", "9090"),
		LeaderElect:       true,
		LeaseName:         "capoperator-lease-lock",
		DetailedMetrics:   envBool("DETAILED_OPERATIONAL_METRICS"),
		Workers:           map[string]*int{},
		Logging:           logsapi.NewLoggingConfiguration(),
		Controllers:       []string{"*"},
		ShutdownGraceTime: 30 * time.Second,
		Controller: controller.Options{
			OperatorNamespace:       kube.OperatorNamespace(),
			CertManager:             envString("CERT_MANAGER", ""),
			DNSManager:              envString("DNS_MANAGER", ""),
			DNSTarget:               strings.ToLower(envString("DNS_TARGET", "")),
			MaxTenantVersionHistory: envInt("MAX_TENANT_VERSION_HISTORY", 10),
			TenantOperationHistory:  envInt("TENANT_OPERATION_HISTORY", 5),
			RetryInitialDelay:       envDuration("TENANT_OPERATION_RETRY_INITIAL_DELAY", 30*time.Second),
			RetryMaxDelay:           envDuration("TENANT_OPERATION_RETRY_MAX_DELAY", 30*time.Minute),
			RetryMaxAttempts:        envInt("TENANT_OPERATION_RETRY_ATTEMPTS", 5),
			RolloutDelay:            envDuration("ROLLOUT_DELAY", credentialrollout.DefaultDelay),
			VersionCleanup: controller.VersionCleanupOptions{
				PrometheusAddress:  envString("PROMETHEUS_ADDRESS", ""),
				EvaluationInterval: envDuration("METRICS_EVAL_INTERVAL", 10*time.Minute),
				ClientRetryDelay:   envDuration("PROM_ACQUIRE_CLIENT_RETRY_DELAY", time.Hour),
				QueryTimeout:       envDuration("PROMETHEUS_QUERY_TIMEOUT", 30*time.Second),
			},
		},
	}
	for name, env := range workerEnv {
		n := max(1, envInt(env, defaultWorkers[name]))
		o.Workers[name] = &n
	}
	return o
}

// AddFlags registers the command-line flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig; default: KUBECONFIG, ~/.kube/config, then the in-cluster configuration.")
	fs.Float32Var(&o.QPS, "client-qps", o.QPS, "Queries per second to the API server (env CLIENT_QPS).")
	fs.IntVar(&o.Burst, "client-burst", o.Burst, "Burst of queries to the API server (env CLIENT_BURST).")
	fs.StringVar(&o.MetricsAddress, "metrics-bind-address", o.MetricsAddress, "Address of /metrics, /healthz and /readyz (env METRICS_PORT sets the port).")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect a leader through a Lease before reconciling, so that replicas can run as standbys.")
	fs.StringVar(&o.LeaseName, "leader-election-lease", o.LeaseName, "Name of the leader-election Lease in the operator namespace.")
	fs.StringVar(&o.Controller.OperatorNamespace, "operator-namespace", o.Controller.OperatorNamespace, "Namespace of the operator (env POD_NAMESPACE).")
	fs.StringVar(&o.Controller.CertManager, "cert-manager", o.Controller.CertManager, `Certificate API: "gardener" or "cert-manager.io"; empty detects it (env CERT_MANAGER).`)
	fs.StringVar(&o.Controller.DNSManager, "dns-manager", o.Controller.DNSManager, `DNS API: "gardener" or "kubernetes"; empty detects it (env DNS_MANAGER).`)
	fs.StringVar(&o.Controller.DNSTarget, "dns-target", o.Controller.DNSTarget, "Default DNS target of domains (env DNS_TARGET).")
	fs.IntVar(&o.Controller.MaxTenantVersionHistory, "max-tenant-version-history", o.Controller.MaxTenantVersionHistory, "Length of a tenant's version history (env MAX_TENANT_VERSION_HISTORY).")
	fs.IntVar(&o.Controller.TenantOperationHistory, "tenant-operation-history", o.Controller.TenantOperationHistory, "Finished CAPTenantOperations kept per tenant (env TENANT_OPERATION_HISTORY).")
	fs.DurationVar(&o.Controller.RetryInitialDelay, "retry-initial-delay", o.Controller.RetryInitialDelay, "Delay before retrying a failed tenant operation; doubles per attempt.")
	fs.DurationVar(&o.Controller.RetryMaxDelay, "retry-max-delay", o.Controller.RetryMaxDelay, "Upper bound of the retry delay.")
	fs.IntVar(&o.Controller.RetryMaxAttempts, "retry-attempts", o.Controller.RetryMaxAttempts, "Automatic retries of a failed tenant operation (0 disables them).")
	fs.DurationVar(&o.Controller.RolloutDelay, "rollout-delay", o.Controller.RolloutDelay, "Wait after a binding Secret of an application with rolloutOnCredentialUpdate changed before its consumers roll; changes meanwhile join the batch (env ROLLOUT_DELAY, at least 1s).")
	vc := &o.Controller.VersionCleanup
	fs.StringVar(&vc.PrometheusAddress, "prometheus-address", vc.PrometheusAddress, "URL of the Prometheus server that version-cleanup deletion rules query; empty: versions with deletion rules are kept (env PROMETHEUS_ADDRESS).")
	fs.DurationVar(&vc.EvaluationInterval, "metrics-eval-interval", vc.EvaluationInterval, "Time between two version-cleanup evaluations (env METRICS_EVAL_INTERVAL).")
	fs.DurationVar(&vc.ClientRetryDelay, "prom-acquire-client-retry-delay", vc.ClientRetryDelay, "Wait after a failed connection to Prometheus before the next attempt (env PROM_ACQUIRE_CLIENT_RETRY_DELAY).")
	fs.DurationVar(&vc.QueryTimeout, "prometheus-query-timeout", vc.QueryTimeout, "Timeout of each Prometheus query of version cleanup (env PROMETHEUS_QUERY_TIMEOUT).")
	fs.BoolVar(&o.DetailedMetrics, "detailed-metrics", o.DetailedMetrics, "Export per-tenant metric families (env DETAILED_OPERATIONAL_METRICS).")
	fs.DurationVar(&o.ShutdownGraceTime, "shutdown-grace-period", o.ShutdownGraceTime, "Time given to workers to finish on SIGTERM.")
	for name := range workerEnv {
		fs.IntVar(o.Workers[name], name+"-workers", *o.Workers[name], fmt.Sprintf("Workers of the %s controller (env %s).", name, workerEnv[name]))
	}
	fs.StringSliceVar(&o.Controllers, "controllers", o.Controllers, "Controllers to run: '*' for all, or a list of names ("+strings.Join(controllerNames(), ", ")+").")
	logsapi.AddFlags(o.Logging, fs)
}

// enabled reports whether the named controller should run.
func (o *Options) enabled(name string) bool {
	for _, c := range o.Controllers {
		if c == "*" || c == name {
			return true
		}
	}
	return false
}

// Validate checks the options and applies the logging configuration.
func (o *Options) Validate() error {
	for name, n := range o.Workers {
		if *n < 1 {
			return fmt.Errorf("--%s-workers must be at least 1", name)
		}
	}
	known := controllerNames()
	for _, c := range o.Controllers {
		if c != "*" && !slices.Contains(known, c) {
			return fmt.Errorf("--controllers: unknown controller %q (known: %s)", c, strings.Join(known, ", "))
		}
	}
	switch o.Controller.CertManager {
	case "", "gardener", "cert-manager.io":
	default:
		return fmt.Errorf(`--cert-manager must be "gardener" or "cert-manager.io", not %q`, o.Controller.CertManager)
	}
	switch o.Controller.DNSManager {
	case "", "gardener", "kubernetes":
	default:
		return fmt.Errorf(`--dns-manager must be "gardener" or "kubernetes", not %q`, o.Controller.DNSManager)
	}
	if vc := o.Controller.VersionCleanup; vc.EvaluationInterval <= 0 || vc.ClientRetryDelay < 0 || vc.QueryTimeout <= 0 {
		return fmt.Errorf("--metrics-eval-interval and --prometheus-query-timeout must be positive and --prom-acquire-client-retry-delay must not be negative")
	}
	return logsapi.ValidateAndApply(o.Logging, nil)
}

// envString returns the variable's value or def.
func envString(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// envInt returns the variable as an integer, or def when unset or invalid.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// envFloat returns the variable as a number, or def when unset or invalid.
func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

// envBool reports whether the variable is "true".
func envBool(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
}

// envDuration returns the variable as a Go duration, or def when unset or invalid.
func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
