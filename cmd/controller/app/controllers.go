package app

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/capapplication"
	"github.com/capstan-io/capstan/internal/controller/capapplicationversion"
	"github.com/capstan-io/capstan/internal/controller/captenant"
	"github.com/capstan-io/capstan/internal/controller/captenantoperation"
	"github.com/capstan-io/capstan/internal/controller/credentialrollout"
	"github.com/capstan-io/capstan/internal/controller/domain"
	"github.com/capstan-io/capstan/internal/controller/fleetmetrics"
	"github.com/capstan-io/capstan/internal/controller/versioncleanup"
	"github.com/capstan-io/capstan/internal/migration"
)

// Registration describes one controller of the binary.
type Registration struct {
	// Name selects the controller in --controllers and names its --<name>-workers flag.
	Name string
	// New builds the controller from the shared context.
	New func(c *controller.Context) (controller.Runnable, error)
	// WorkersEnv is the environment variable of the worker count (as in the previous
	// implementation) and DefaultWorkers its default.
	WorkersEnv     string
	DefaultWorkers int
}

// Registry lists every controller the binary runs, in start order.
var Registry = []Registration{
	{Name: "capapplication", WorkersEnv: "MAX_CONCURRENT_RECONCILES_CAP_APPLICATION", DefaultWorkers: 1,
		New: func(c *controller.Context) (controller.Runnable, error) { return capapplication.NewController(c) }},
	{Name: "capapplicationversion", WorkersEnv: "MAX_CONCURRENT_RECONCILES_CAP_APPLICATION_VERSION", DefaultWorkers: 3,
		New: func(c *controller.Context) (controller.Runnable, error) {
			return capapplicationversion.NewController(c)
		}},
	{Name: "captenant", WorkersEnv: "MAX_CONCURRENT_RECONCILES_CAP_TENANT", DefaultWorkers: 20,
		New: func(c *controller.Context) (controller.Runnable, error) { return captenant.NewController(c) }},
	{Name: "captenantoperation", WorkersEnv: "MAX_CONCURRENT_RECONCILES_CAP_TENANT_OPERATION", DefaultWorkers: 20,
		New: func(c *controller.Context) (controller.Runnable, error) { return captenantoperation.NewController(c) }},
	{Name: "domain", WorkersEnv: "MAX_CONCURRENT_RECONCILES_DOMAIN", DefaultWorkers: 1,
		New: func(c *controller.Context) (controller.Runnable, error) { return domain.NewController(c) }},
	{Name: "clusterdomain", WorkersEnv: "MAX_CONCURRENT_RECONCILES_CLUSTER_DOMAIN", DefaultWorkers: 1,
		New: func(c *controller.Context) (controller.Runnable, error) { return domain.NewClusterController(c) }},
	// As in the previous implementation, the credential rollout runs as many workers as the
	// version controller.
	{Name: "credentialrollout", WorkersEnv: "MAX_CONCURRENT_RECONCILES_CAP_APPLICATION_VERSION", DefaultWorkers: 3,
		New: func(c *controller.Context) (controller.Runnable, error) { return credentialrollout.NewController(c) }},
	{Name: "versioncleanup", WorkersEnv: "MAX_CONCURRENT_RECONCILES_VERSION_CLEANUP", DefaultWorkers: 1,
		New: func(c *controller.Context) (controller.Runnable, error) { return versioncleanup.NewController(c) }},
}

// names lists the registered controllers.
func names(regs []Registration) []string {
	out := make([]string, len(regs))
	for i, r := range regs {
		out[i] = r.Name
	}
	return out
}

// runControllers builds the controller context, constructs every enabled controller, starts
// the informers and runs the controllers until ctx is cancelled; ready is set once they run.
// It returns after every worker has stopped, with the first error of a constructor or a
// controller.
func (r *runner) runControllers(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	cctx, broadcaster, err := controller.NewContext(r.cfg, r.opts.Controller, r.metrics)
	if err != nil {
		return fmt.Errorf("building the controller context: %w", err)
	}
	resolveManagers(&cctx.Options, cctx.APIs)
	// Take over the previous implementation's objects before any controller runs (spec 2.1).
	if err := migration.Run(ctx, cctx.Clients); err != nil {
		logger.Error(err, "Migration of the previous implementation's objects is incomplete; it runs again on the next start")
	}
	logger.Info("Starting controllers", "certManager", cctx.Options.CertManager, "dnsManager", cctx.Options.DNSManager, "apis", cctx.APIs)
	type running struct {
		reg Registration
		r   controller.Runnable
	}
	var runnables []running
	for _, reg := range r.controllers {
		if !r.opts.enabled(reg.Name) {
			continue
		}
		built, err := reg.New(cctx)
		if err != nil {
			return fmt.Errorf("%s controller: %w", reg.Name, err)
		}
		runnables = append(runnables, running{reg, built})
	}
	defer fleetmetrics.Register(cctx)()
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		return err
	}
	defer broadcaster.Shutdown()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cctx.Start(runCtx)
	defer cctx.Shutdown()
	errs := make(chan error, len(runnables))
	var wg sync.WaitGroup
	for _, run := range runnables {
		wg.Go(func() {
			// An error after ctx ended (e.g. caches not synced at shutdown) is no failure.
			if err := run.r.Run(runCtx, r.opts.workers(run.reg)); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("%s controller: %w", run.reg.Name, err)
				cancel() // one failed controller stops the others: the process exits
			}
		})
	}
	r.ready.Set()
	wg.Wait()
	r.ready.Unset("controllers stopped")
	close(errs)
	return <-errs
}

// resolveManagers fills in the certificate and DNS managers left empty from the APIs the
// cluster serves: Gardener's when present, else cert-manager and no DNS entries.
func resolveManagers(o *controller.Options, apis controller.APIs) {
	if o.CertManager == "" {
		o.CertManager = "cert-manager.io"
		if apis.GardenerCertificates {
			o.CertManager = "gardener"
		}
	}
	if o.DNSManager == "" {
		o.DNSManager = "kubernetes"
		if apis.GardenerDNS {
			o.DNSManager = "gardener"
		}
	}
}
