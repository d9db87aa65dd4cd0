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
	// Profiling serves Go's pprof profiles on the metrics address.
	Profiling bool
	// Workers are the worker counts by controller name.
	Workers     map[string]*int
	Controller  controller.Options
	Controllers []string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	o := &Options{
		// Client rate limit: see docs/benchmarks.md ("Client rate limit and
		// workers") for why, and for smaller and larger clusters.
		QPS:            500,
		Burst:          1000,
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

// AddFlags registers the command-line flags and their environment variables: one cli.Var per
// setting, as in the other two binaries (the lists look alike by design).
func (o *Options) AddFlags(fs *cli.FlagSet) {
	cli.Var(fs, &o.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig; default: KUBECONFIG, ~/.kube/config, then the in-cluster configuration.")
	cli.Var(fs, &o.QPS, "client-qps", "CLIENT_QPS", "Queries per second to the API server, per API group family (built-in kinds, sme.sap.com, Istio each have this budget); API Priority and Fairness protects the server beyond it.")
	cli.Var(fs, &o.Burst, "client-burst", "CLIENT_BURST", "Burst of queries to the API server.")
	cli.AddMetricsAddressFlag(fs, &o.MetricsAddress)
	cli.Var(fs, &o.LeaderElect, "leader-elect", "", "Elect a leader through a Lease before reconciling, so that replicas can run as standbys.")
	cli.Var(fs, &o.LeaseName, "leader-election-lease", "", "Name of the leader-election Lease in the operator namespace.")
	cli.Var(fs, &o.LeaderElection.LeaseDuration, "leader-elect-lease-duration", "", "How long a standby waits after the last renewal it saw before it takes the Lease.")
	cli.Var(fs, &o.LeaderElection.RenewDeadline, "leader-elect-renew-deadline", "", "How long the leader tries to renew before it gives up leadership.")
	cli.Var(fs, &o.LeaderElection.RetryPeriod, "leader-elect-retry-period", "", "Interval of renewals and of a standby's attempts (jittered up to 2.2 times).")
	cli.Var(fs, &o.Controller.OperatorNamespace, "operator-namespace", "", "Namespace of the operator; default: POD_NAMESPACE, then the service account's namespace.")
	cli.Var(fs, &o.Controller.CertManager, "cert-manager", "CERT_MANAGER", `Certificate API: "gardener" or "cert-manager.io"; empty detects it.`)
	cli.Var(fs, &o.Controller.DNSManager, "dns-manager", "DNS_MANAGER", `DNS API: "gardener" or "kubernetes"; empty detects it.`)
	cli.Var(fs, &o.Controller.DNSTarget, "dns-target", "DNS_TARGET", "Default DNS target of domains.")
	cli.Var(fs, &o.Controller.MaxTenantVersionHistory, "max-tenant-version-history", "MAX_TENANT_VERSION_HISTORY", "Length of a tenant's version history.")
	cli.Var(fs, &o.Controller.TenantOperationHistory, "tenant-operation-history", "TENANT_OPERATION_HISTORY", "Finished CAPTenantOperations kept per tenant.")
	cli.Var(fs, &o.Controller.RetryInitialDelay, "retry-initial-delay", "TENANT_OPERATION_RETRY_INITIAL_DELAY", "Delay before retrying a failed tenant operation; doubles per attempt.")
	cli.Var(fs, &o.Controller.RetryMaxDelay, "retry-max-delay", "TENANT_OPERATION_RETRY_MAX_DELAY", "Upper bound of the retry delay.")
	cli.Var(fs, &o.Controller.RetryMaxAttempts, "retry-attempts", "TENANT_OPERATION_RETRY_ATTEMPTS", "Automatic retries of a failed tenant operation (0 disables them).")
	cli.Var(fs, &o.Controller.RolloutDelay, "rollout-delay", "ROLLOUT_DELAY", "Wait after a binding Secret of an application with rolloutOnCredentialUpdate changed before its consumers roll; changes meanwhile join the batch; at least 1s.")
	vc := &o.Controller.VersionCleanup
	cli.Var(fs, &vc.PrometheusAddress, "prometheus-address", "PROMETHEUS_ADDRESS", "URL of the Prometheus server that version-cleanup deletion rules query; empty: versions with deletion rules are kept.")
	cli.Var(fs, &vc.EvaluationInterval, "metrics-eval-interval", "METRICS_EVAL_INTERVAL", "Time between two version-cleanup evaluations.")
	cli.Var(fs, &vc.ClientRetryDelay, "prom-acquire-client-retry-delay", "PROM_ACQUIRE_CLIENT_RETRY_DELAY", "Wait after a failed connection to Prometheus before the next attempt.")
	cli.Var(fs, &vc.QueryTimeout, "prometheus-query-timeout", "PROMETHEUS_QUERY_TIMEOUT", "Timeout of each Prometheus query of version cleanup.")
	cli.Var(fs, &o.DetailedMetrics, "detailed-metrics", "DETAILED_OPERATIONAL_METRICS", "Export per-tenant metric families.")
	cli.Var(fs, &o.Profiling, "profiling", "", "Serve Go's pprof profiles under /debug/pprof/ on the metrics address, as Kubernetes components do; off by default (profiles reveal internals and a CPU profile costs CPU while taken).")
	for _, reg := range Registry {
		cli.Var(fs, o.Workers[reg.Name], reg.Name+"-workers", reg.WorkersEnv, fmt.Sprintf("Workers of the %s controller, at least 1.", reg.Name))
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
	if err := cli.ValidateMetricsAddress(fs, o.MetricsAddress); err != nil {
		return err
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
