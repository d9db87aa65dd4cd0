// Command bench measures the operator against the local control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok): N tenants subscribed at once until all are
// Ready, a new version rolled out to all of them, all of them unsubscribed, the API writes
// the controller made per tenant, the writes it makes while idle, and its memory with many
// unrelated large Secrets in the cluster. With -server-requests N it measures the
// subscription server instead: N concurrent subscription requests to the server binary.
//
//	go run ./hack/bench -tenants 1000
//	go run ./hack/bench -server-requests 1000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/capstan-io/capstan/internal/testenv"
)

// config holds the command-line settings.
type config struct {
	tenants    int
	secrets    int
	secretSize int
	idle       time.Duration
	timeout    time.Duration
	// controllerQPS and workers override the controller's defaults (the chart's) when > 0.
	controllerQPS int
	workers       int
	// serverRequests, when > 0, runs the subscription server phase instead of the tenant
	// phases.
	serverRequests int
	// serverQPS overrides the server's client rate limit (burst twice that) when > 0.
	serverQPS int
	// cpuProfileDir receives a CPU profile of the controller per phase and a heap profile at
	// the end of each phase when set.
	cpuProfileDir string
	// skip names phases left out (comma-separated).
	skip string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.tenants, "tenants", 1000, "tenants subscribed at once")
	flag.IntVar(&cfg.secrets, "unrelated-secrets", 5000, "unrelated Secrets created before measuring memory (0 skips the memory run)")
	flag.IntVar(&cfg.secretSize, "unrelated-secret-kib", 100, "size of each unrelated Secret in KiB")
	flag.DurationVar(&cfg.idle, "idle", 15*time.Second, "how long to watch for writes while idle")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "upper bound of each phase")
	flag.IntVar(&cfg.controllerQPS, "controller-qps", 0, "client QPS of the controller, burst twice that (0: the controller's and chart's default)")
	flag.IntVar(&cfg.workers, "workers", 0, "CAPTenant and CAPTenantOperation workers of the controller (0: the default)")
	flag.IntVar(&cfg.serverRequests, "server-requests", 0, "run only the subscription server phase: this many concurrent subscription requests to the server binary")
	flag.IntVar(&cfg.serverQPS, "server-qps", 0, "client QPS of the subscription server, burst twice that (0: the server's and chart's default)")
	flag.StringVar(&cfg.cpuProfileDir, "cpuprofile", "", "directory for CPU profiles of the controller and kube-apiserver per phase and the controller's heap profile at its end (<phase>.pprof, <phase>.apiserver.pprof, <phase>.heap.pprof; runs the controller with --profiling)")
	flag.StringVar(&cfg.skip, "skip", "", "comma-separated phases to leave out, e.g. baseline-x2,upgrade,unsubscribe for a subscribe-only run of 10,000 tenants")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// phase is one step of the bench.
type phase struct {
	name string
	fn   func(context.Context, *report) error
}

// run starts the environment and the controller and runs every phase.
func run(cfg config) error {
	if cfg.cpuProfileDir != "" {
		if err := os.MkdirAll(cfg.cpuProfileDir, 0o755); err != nil {
			return err
		}
	}
	env, err := testenv.Start(testenv.Options{E2E: true, StartTimeout: 5 * time.Minute, AuditPolicy: auditPolicy})
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	ctx := context.Background()
	b, err := newBench(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer b.stop()
	rep := &report{Tenants: cfg.tenants, Writes: map[string]map[string]float64{}}
	phases := []phase{
		{"baseline", b.baseline},
		{"baseline-x2", b.baselineTwoSteps},
		{"setup", b.setup},
		{"subscribe", b.subscribe},
		{"idle", b.idle},
		{"upgrade", b.upgrade},
		{"unsubscribe", b.unsubscribe},
		{"memory", b.memory},
	}
	if cfg.serverRequests > 0 {
		phases = []phase{{"fake SAP services", b.startFakeSAP}, {"setup", b.setup}, {"server", b.serverLoad}}
	}
	var skip []string
	if cfg.skip != "" {
		skip = strings.Split(cfg.skip, ",")
	}
	for _, name := range skip {
		if !slices.ContainsFunc(phases, func(p phase) bool { return p.name == name }) {
			return fmt.Errorf("-skip: no phase %q", name)
		}
	}
	for _, p := range phases {
		if slices.Contains(skip, p.name) {
			fmt.Printf("bench: %s skipped\n", p.name)
			continue
		}
		fmt.Printf("bench: %s ...\n", p.name)
		m := b.startCost(p.name)
		err := p.fn(ctx, rep)
		rep.Costs = append(rep.Costs, m.stop())
		if err != nil {
			rep.print()
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	rep.print()
	return nil
}
