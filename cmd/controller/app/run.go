package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register" // registers --logging-format=json
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/kube"
)

// Leader-election timing, as in the previous implementation.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 5 * time.Second
)

// errLeadershipLost is returned when the Lease is lost while the process should go on.
var errLeadershipLost = errors.New("leader election lost")

// Main runs the controller binary and returns its exit code.
func Main(args []string) int {
	opts := NewOptions()
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	opts.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := opts.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		return 2
	}
	defer logs.FlushLogs()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, opts)
	switch {
	case errors.Is(err, errLeadershipLost):
		// A standby takes over; this process stopped all work before returning.
		klog.InfoS("Exiting after losing leadership")
		return 0
	case err != nil:
		klog.ErrorS(err, "Controller failed")
		return 1
	}
	return 0
}

// Run serves metrics and health, waits for leadership when enabled and runs the controllers
// until ctx is cancelled or leadership is lost.
func Run(ctx context.Context, opts *Options) error {
	cfg, err := kube.Config(opts.Kubeconfig, opts.QPS, opts.Burst)
	if err != nil {
		return err
	}
	metrics := controller.NewMetrics(opts.DetailedMetrics)
	health := newHealth()
	srv := serveMetrics(ctx, opts.MetricsAddress, metrics, health)
	defer shutdownServer(srv)
	if !opts.LeaderElect {
		return runControllers(ctx, cfg, opts, metrics, health)
	}
	return runElected(ctx, cfg, opts, metrics, health)
}

// runElected runs the controllers while this instance holds the Lease. When the Lease is
// lost the controllers' context is cancelled and runElected waits for their workers to stop
// before it returns, so an instance that is no longer leader does not touch the cluster.
func runElected(ctx context.Context, cfg *rest.Config, opts *Options, metrics *controller.Metrics, health *health) error {
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(cfg), "cap-operator-leader-election"))
	if err != nil {
		return err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaFor(opts.LeaseName, opts.Controller.OperatorNamespace),
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: uuid.NewString()},
	}
	var (
		wg     sync.WaitGroup
		runErr error
	)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, Name: opts.LeaseName, ReleaseOnCancel: true,
		LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
		WatchDog: health.leader,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) {
				wg.Go(func() { runErr = runControllers(leading, cfg, opts, metrics, health) })
			},
			OnStoppedLeading: func() { klog.FromContext(ctx).Info("Stopped leading") },
		},
	})
	if err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Waiting for leadership", "lease", opts.LeaseName, "namespace", opts.Controller.OperatorNamespace, "identity", lock.Identity())
	elector.Run(ctx)
	wg.Wait()
	if runErr != nil {
		return runErr
	}
	if ctx.Err() == nil {
		return errLeadershipLost
	}
	return nil
}
