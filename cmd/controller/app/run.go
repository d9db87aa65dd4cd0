package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/cli"
	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/kube"
)

// LeaderElectionTiming is the timing of leader election. A standby takes over between
// LeaseDuration and about LeaseDuration + 4.4 RetryPeriod after the leader died (it
// counts from the last renewal it observed, and it polls every 1 to 2.2 RetryPeriods),
// immediately when the leader shut down and released the Lease.
type LeaderElectionTiming struct {
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// defaultLeaderElectionTiming is the previous implementation's: 15 s, 10 s, 5 s.
var defaultLeaderElectionTiming = LeaderElectionTiming{
	LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 5 * time.Second,
}

// validate applies the rules of client-go's leader elector, with flag names.
func (l LeaderElectionTiming) validate() error {
	switch {
	case l.RetryPeriod <= 0:
		return fmt.Errorf("--leader-elect-retry-period must be positive")
	case float64(l.RenewDeadline) <= leaderelection.JitterFactor*float64(l.RetryPeriod):
		return fmt.Errorf("--leader-elect-renew-deadline must exceed %v times --leader-elect-retry-period", leaderelection.JitterFactor)
	case l.LeaseDuration <= l.RenewDeadline:
		return fmt.Errorf("--leader-elect-lease-duration must exceed --leader-elect-renew-deadline")
	}
	return nil
}

// NewCommand returns the controller binary's command for cli.Main.
func NewCommand() cli.Command {
	opts := NewOptions()
	return cli.Command{
		Name: "controller",
		Description: "Runs the CAP Operator's controllers (CAPApplication, CAPApplicationVersion, CAPTenant,\n" +
			"CAPTenantOperation, Domain, ClusterDomain) with leader election, and serves metrics and health.",
		AddFlags: opts.AddFlags,
		Validate: opts.Validate,
		Run:      func(ctx context.Context) error { return Run(ctx, opts) },
	}
}

// runner holds what one run of the binary shares: options, client configuration, metrics,
// readiness and the controllers to run.
type runner struct {
	opts        *Options
	cfg         *rest.Config
	controllers []Registration
	metrics     *controller.Metrics
	ops         *cli.OpsServer
	// ready is /readyz: false until the controllers run, and again once they stopped.
	ready *cli.Flag
	// leader is /healthz: it fails when this instance holds the Lease but stopped renewing.
	leader *leaderelection.HealthzAdaptor
}

// Run serves metrics and health, waits for leadership when enabled and runs the controllers
// until ctx is cancelled or leadership is lost. Losing leadership returns nil (a standby takes
// over); a failure to build or run the controllers releases the Lease and returns the error.
func Run(ctx context.Context, opts *Options) error {
	cfg, err := kube.Config(opts.Kubeconfig, opts.QPS, opts.Burst)
	if err != nil {
		return err
	}
	r, err := newRunner(opts, cfg, Registry)
	if err != nil {
		return err
	}
	return r.run(ctx)
}

// newRunner creates the runner and its metrics and health server (not yet listening).
func newRunner(opts *Options, cfg *rest.Config, controllers []Registration) (*runner, error) {
	r := &runner{
		opts: opts, cfg: cfg, controllers: controllers,
		metrics: controller.NewMetrics(opts.DetailedMetrics),
		ready:   cli.NewFlag("controllers not running"),
		leader:  leaderelection.NewLeaderHealthzAdaptor(20 * time.Second),
	}
	var err error
	if r.ops, err = cli.NewOpsServer(opts.MetricsAddress, r.metrics.Registry); err != nil {
		return nil, err
	}
	if opts.Profiling {
		r.ops.EnableProfiling()
	}
	r.ops.AddHealthCheck("leader-election", r.leader.Check)
	r.ops.AddReadyCheck("controllers", r.ready.Check)
	return r, nil
}

// run serves metrics and health while running the controllers, elected or not.
func (r *runner) run(ctx context.Context) error {
	return cli.RunWithOps(ctx, r.ops, func(ctx context.Context) error {
		klog.FromContext(ctx).Info("Serving metrics and health", "address", r.ops.Addr())
		if !r.opts.LeaderElect {
			return r.runControllers(ctx)
		}
		return r.runElected(ctx)
	})
}

// runElected runs the controllers while this instance holds the Lease. When the Lease is
// lost the controllers' context is cancelled and runElected waits for their workers to stop
// before it returns, so an instance that is no longer leader does not touch the cluster. When
// the controllers fail (e.g. discovery fails while building them), it stops renewing and
// releases the Lease, so that a standby takes over, and returns the error.
func (r *runner) runElected(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(r.cfg), "cap-operator-leader-election"))
	if err != nil {
		return err
	}
	stopped := make(chan struct{})
	lock := &releaseAfterStop{stopped: stopped, Interface: &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: r.opts.LeaseName, Namespace: r.opts.Controller.OperatorNamespace},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: uuid.NewString()},
	}}
	electCtx, stopElection := context.WithCancel(ctx)
	defer stopElection()
	// The elector calls OnStartedLeading in a goroutine of its own, which may start after
	// elector.Run returned: mu and closed keep such a late call from running controllers.
	var (
		mu     sync.Mutex
		closed bool
		led    bool
		wg     sync.WaitGroup
		runErr error
	)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, Name: r.opts.LeaseName, ReleaseOnCancel: true,
		LeaseDuration: r.opts.LeaderElection.LeaseDuration, RenewDeadline: r.opts.LeaderElection.RenewDeadline,
		RetryPeriod: r.opts.LeaderElection.RetryPeriod,
		WatchDog:    r.leader,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) {
				mu.Lock()
				if closed {
					mu.Unlock()
					return
				}
				led = true
				wg.Add(1)
				mu.Unlock()
				defer wg.Done()
				r.ready.Unset("starting controllers")
				runErr = r.runControllers(leading)
				close(stopped)
				// However the controllers ended, this instance stops leading: cancelling the
				// election releases the Lease.
				stopElection()
			},
			OnStoppedLeading: func() { klog.FromContext(ctx).Info("Stopped leading") },
		},
	})
	if err != nil {
		return err
	}
	// A standby is ready: it serves metrics and can take over.
	r.ready.Set()
	klog.FromContext(ctx).Info("Waiting for leadership", "lease", r.opts.LeaseName, "namespace", r.opts.Controller.OperatorNamespace, "identity", lock.Identity())
	elector.Run(electCtx)
	mu.Lock()
	closed = true
	mu.Unlock()
	wg.Wait()
	r.ready.Unset("not leading")
	switch {
	case runErr != nil:
		return fmt.Errorf("controllers failed, Lease released: %w", runErr)
	case ctx.Err() != nil:
		return nil
	case led:
		klog.FromContext(ctx).Info("Exiting after losing leadership")
		return nil
	}
	return errors.New("leader election ended without leading")
}

// releaseAfterStop holds back the release of the Lease (the update that clears the holder,
// sent when the election ends) until the controllers' workers have stopped. client-go
// releases the Lease as soon as the election's context is cancelled (SIGTERM), concurrently
// with the workers finishing their last items, so a standby could otherwise start while they
// still write. If the workers take longer than the release's deadline (the renew deadline),
// the Lease is not released and the standby waits for it to expire instead.
type releaseAfterStop struct {
	resourcelock.Interface
	// stopped is closed when the controllers have returned.
	stopped <-chan struct{}
}

// Update implements resourcelock.Interface.
func (l *releaseAfterStop) Update(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	if rec.HolderIdentity == "" {
		select {
		case <-l.stopped:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return l.Interface.Update(ctx, rec)
}
