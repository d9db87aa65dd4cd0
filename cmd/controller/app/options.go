// Package app implements the controller binary: options from flags and environment
// variables, leader election, the metrics and health server and the controller registry.
package app

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/capstan-io/capstan/internal/cli"
	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/credentialrollout"
	"github.com/capstan-io/capstan/internal/kube"
)

// Options are the controller binary's settings. Flags fall back to the environment variables
// of the previous implementation, so existing deployments keep working.
type Options struct {
	Kubeconfig     string
	QPS            float32
	Burst          int
	MetricsAddress string
	LeaderElect    bool
	LeaseName      string
	// LeaderElection is the timing of leader election.
	LeaderElection  LeaderElectionTiming
	DetailedMetrics bool
	// Workers are the worker counts by controller name.
	Workers     map[string]*int
	Controller  controller.Options
	Controllers []string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	o := &Options{
		QPS:            200,
		Burst:          400,
		MetricsAddress: ":9090",
		LeaderElect:    true,
		LeaseName:      "capoperator-lease-lock",
		LeaderElection: defaultLeaderElectionTiming,
		Workers:        map[string]*int{},
		Controllers:    []string{"*"},
		Controller: controller.Options{
			OperatorNamespace:       kube.OperatorNamespace(),
			MaxTenantVersionHistory: 10,
			TenantOperationHistory:  5,
			RetryInitialDelay:       30 * time.Second,
			RetryMaxDelay:           30 * time.Minute,
			RetryMaxAttempts:        5,
			RolloutDelay:            credentialrollout.DefaultDelay,
			VersionCleanup: controller.VersionCleanupOptions{
				EvaluationInterval: 10 * time.Minute,
				ClientRetryDelay:   time.Hour,
				QueryTimeout:       30 * time.Second,
			},
		},
	}
	for _, reg := range Registry {
		n := reg.DefaultWorkers
		o.Workers[reg.Name] = &n
	}
	return o
}

// AddFlags registers the command-line flags and their environment variables.
func (o *Options) AddFlags(fs *cli.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig; default: KUBECONFIG, ~/.kube/config, then the in-cluster configuration.")
	fs.Float32Var(&o.QPS, "client-qps", o.QPS, "Queries per second to the API server.")
	fs.Env("client-qps", "CLIENT_QPS")
	fs.IntVar(&o.Burst, "client-burst", o.Burst, "Burst of queries to the API server.")
	fs.Env("client-burst", "CLIENT_BURST")
	cli.AddMetricsAddressFlag(fs, &o.MetricsAddress)
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect a leader through a Lease before reconciling, so that replicas can run as standbys.")
	fs.StringVar(&o.LeaseName, "leader-election-lease", o.LeaseName, "Name of the leader-election Lease in the operator namespace.")
	fs.DurationVar(&o.LeaderElection.LeaseDuration, "leader-elect-lease-duration", o.LeaderElection.LeaseDuration, "How long a standby waits after the last renewal it saw before it takes the Lease.")
	fs.DurationVar(&o.LeaderElection.RenewDeadline, "leader-elect-renew-deadline", o.LeaderElection.RenewDeadline, "How long the leader tries to renew before it gives up leadership.")
	fs.DurationVar(&o.LeaderElection.RetryPeriod, "leader-elect-retry-period", o.LeaderElection.RetryPeriod, "Interval of renewals and of a standby's attempts (jittered up to 2.2 times).")
	fs.StringVar(&o.Controller.OperatorNamespace, "operator-namespace", o.Controller.OperatorNamespace, "Namespace of the operator; default: POD_NAMESPACE, then the service account's namespace.")
	fs.StringVar(&o.Controller.CertManager, "cert-manager", o.Controller.CertManager, `Certificate API: "gardener" or "cert-manager.io"; empty detects it.`)
	fs.Env("cert-manager", "CERT_MANAGER")
	fs.StringVar(&o.Controller.DNSManager, "dns-manager", o.Controller.DNSManager, `DNS API: "gardener" or "kubernetes"; empty detects it.`)
	fs.Env("dns-manager", "DNS_MANAGER")
	fs.StringVar(&o.Controller.DNSTarget, "dns-target", o.Controller.DNSTarget, "Default DNS target of domains.")
	fs.Env("dns-target", "DNS_TARGET")
	fs.IntVar(&o.Controller.MaxTenantVersionHistory, "max-tenant-version-history", o.Controller.MaxTenantVersionHistory, "Length of a tenant's version history.")
	fs.Env("max-tenant-version-history", "MAX_TENANT_VERSION_HISTORY")
	fs.IntVar(&o.Controller.TenantOperationHistory, "tenant-operation-history", o.Controller.TenantOperationHistory, "Finished CAPTenantOperations kept per tenant.")
	fs.Env("tenant-operation-history", "TENANT_OPERATION_HISTORY")
	fs.DurationVar(&o.Controller.RetryInitialDelay, "retry-initial-delay", o.Controller.RetryInitialDelay, "Delay before retrying a failed tenant operation; doubles per attempt.")
	fs.Env("retry-initial-delay", "TENANT_OPERATION_RETRY_INITIAL_DELAY")
	fs.DurationVar(&o.Controller.RetryMaxDelay, "retry-max-delay", o.Controller.RetryMaxDelay, "Upper bound of the retry delay.")
	fs.Env("retry-max-delay", "TENANT_OPERATION_RETRY_MAX_DELAY")
	fs.IntVar(&o.Controller.RetryMaxAttempts, "retry-attempts", o.Controller.RetryMaxAttempts, "Automatic retries of a failed tenant operation (0 disables them).")
	fs.Env("retry-attempts", "TENANT_OPERATION_RETRY_ATTEMPTS")
	fs.DurationVar(&o.Controller.RolloutDelay, "rollout-delay", o.Controller.RolloutDelay, "Wait after a binding Secret of an application with rolloutOnCredentialUpdate changed before its consumers roll; changes meanwhile join the batch; at least 1s.")
	fs.Env("rollout-delay", "ROLLOUT_DELAY")
	vc := &o.Controller.VersionCleanup
	fs.StringVar(&vc.PrometheusAddress, "prometheus-address", vc.PrometheusAddress, "URL of the Prometheus server that version-cleanup deletion rules query; empty: versions with deletion rules are kept.")
	fs.Env("prometheus-address", "PROMETHEUS_ADDRESS")
	fs.DurationVar(&vc.EvaluationInterval, "metrics-eval-interval", vc.EvaluationInterval, "Time between two version-cleanup evaluations.")
	fs.Env("metrics-eval-interval", "METRICS_EVAL_INTERVAL")
	fs.DurationVar(&vc.ClientRetryDelay, "prom-acquire-client-retry-delay", vc.ClientRetryDelay, "Wait after a failed connection to Prometheus before the next attempt.")
	fs.Env("prom-acquire-client-retry-delay", "PROM_ACQUIRE_CLIENT_RETRY_DELAY")
	fs.DurationVar(&vc.QueryTimeout, "prometheus-query-timeout", vc.QueryTimeout, "Timeout of each Prometheus query of version cleanup.")
	fs.Env("prometheus-query-timeout", "PROMETHEUS_QUERY_TIMEOUT")
	fs.BoolVar(&o.DetailedMetrics, "detailed-metrics", o.DetailedMetrics, "Export per-tenant metric families.")
	fs.Env("detailed-metrics", "DETAILED_OPERATIONAL_METRICS")
	for _, reg := range Registry {
		fs.IntVar(o.Workers[reg.Name], reg.Name+"-workers", *o.Workers[reg.Name], fmt.Sprintf("Workers of the %s controller, at least 1.", reg.Name))
		fs.Env(reg.Name+"-workers", reg.WorkersEnv)
	}
	fs.StringSliceVar(&o.Controllers, "controllers", o.Controllers, "Controllers to run: '*' for all, or a list of names ("+strings.Join(names(Registry), ", ")+").")
}

// enabled reports whether the named controller should run.
func (o *Options) enabled(name string) bool {
	return slices.Contains(o.Controllers, "*") || slices.Contains(o.Controllers, name)
}

// workers is the worker count of a controller: its option, else its default.
func (o *Options) workers(reg Registration) int {
	if n, ok := o.Workers[reg.Name]; ok {
		return *n
	}
	return max(1, reg.DefaultWorkers)
}

// Validate checks the options; errors name the flag or environment variable that set the
// value.
func (o *Options) Validate(fs *cli.FlagSet) error {
	if err := cli.ValidateAddress(o.MetricsAddress); err != nil {
		return fmt.Errorf("%s: %w", fs.Source(cli.MetricsAddressFlag), err)
	}
	if o.QPS <= 0 || o.Burst <= 0 {
		return fmt.Errorf("%s and %s must be positive", fs.Source("client-qps"), fs.Source("client-burst"))
	}
	for _, reg := range Registry {
		if *o.Workers[reg.Name] < 1 {
			return fmt.Errorf("%s must be at least 1", fs.Source(reg.Name+"-workers"))
		}
	}
	if err := o.LeaderElection.validate(); err != nil {
		return err
	}
	known := names(Registry)
	for _, c := range o.Controllers {
		if c != "*" && !slices.Contains(known, c) {
			return fmt.Errorf("--controllers: unknown controller %q (known: %s)", c, strings.Join(known, ", "))
		}
	}
	switch o.Controller.CertManager {
	case "", "gardener", "cert-manager.io":
	default:
		return fmt.Errorf(`%s must be "gardener" or "cert-manager.io", not %q`, fs.Source("cert-manager"), o.Controller.CertManager)
	}
	switch o.Controller.DNSManager {
	case "", "gardener", "kubernetes":
	default:
		return fmt.Errorf(`%s must be "gardener" or "kubernetes", not %q`, fs.Source("dns-manager"), o.Controller.DNSManager)
	}
	for _, f := range []struct {
		flag string
		n    int
	}{{"max-tenant-version-history", o.Controller.MaxTenantVersionHistory}, {"tenant-operation-history", o.Controller.TenantOperationHistory}, {"retry-attempts", o.Controller.RetryMaxAttempts}} {
		if f.n < 0 {
			return fmt.Errorf("%s must not be negative", fs.Source(f.flag))
		}
	}
	if o.Controller.RetryInitialDelay <= 0 || o.Controller.RetryMaxDelay < o.Controller.RetryInitialDelay {
		return fmt.Errorf("%s must be positive and at most %s", fs.Source("retry-initial-delay"), fs.Source("retry-max-delay"))
	}
	if vc := o.Controller.VersionCleanup; vc.EvaluationInterval <= 0 || vc.ClientRetryDelay < 0 || vc.QueryTimeout <= 0 {
		return fmt.Errorf("%s and %s must be positive and %s must not be negative",
			fs.Source("metrics-eval-interval"), fs.Source("prometheus-query-timeout"), fs.Source("prom-acquire-client-retry-delay"))
	}
	o.Controller.DNSTarget = strings.ToLower(o.Controller.DNSTarget)
	return nil
}
