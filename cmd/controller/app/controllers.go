package app

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/capapplication"
	"github.com/capstan-io/capstan/internal/controller/capapplicationversion"
	"github.com/capstan-io/capstan/internal/controller/captenant"
	"github.com/capstan-io/capstan/internal/controller/captenantoperation"
	"github.com/capstan-io/capstan/internal/controller/clusterdomain"
	"github.com/capstan-io/capstan/internal/controller/credentialrollout"
	"github.com/capstan-io/capstan/internal/controller/domain"
	"github.com/capstan-io/capstan/internal/controller/versioncleanup"
	"github.com/capstan-io/capstan/internal/migration"
)

// registration names a controller and how to build it.
type registration struct {
	name      string
	construct func(c *controller.Context) (controller.Runnable, error)
}

// registry lists every controller the binary runs, in start order.
var registry = []registration{
	{"capapplication", func(c *controller.Context) (controller.Runnable, error) { return capapplication.NewController(c) }},
	{"capapplicationversion", func(c *controller.Context) (controller.Runnable, error) {
		return capapplicationversion.NewController(c)
	}},
	{"captenant", func(c *controller.Context) (controller.Runnable, error) { return captenant.NewController(c) }},
	{"captenantoperation", func(c *controller.Context) (controller.Runnable, error) {
		return captenantoperation.NewController(c)
	}},
	{"domain", func(c *controller.Context) (controller.Runnable, error) { return domain.NewController(c) }},
	{"clusterdomain", func(c *controller.Context) (controller.Runnable, error) { return clusterdomain.NewController(c) }},
	{"credentialrollout", func(c *controller.Context) (controller.Runnable, error) {
		return credentialrollout.NewController(c)
	}},
	{"versioncleanup", func(c *controller.Context) (controller.Runnable, error) { return versioncleanup.NewController(c) }},
}

// controllerNames lists the registered controllers.
func controllerNames() []string {
	names := make([]string, len(registry))
	for i, r := range registry {
		names[i] = r.name
	}
	return names
}

// runControllers builds the controller context, constructs every registered controller,
// starts the informers and runs the controllers until ctx is cancelled. It returns after
// every worker has stopped.
func runControllers(ctx context.Context, cfg *rest.Config, opts *Options, metrics *controller.Metrics, health *health) error {
	logger := klog.FromContext(ctx)
	cctx, broadcaster, err := controller.NewContext(cfg, opts.Controller, metrics)
	if err != nil {
		return err
	}
	resolveManagers(&cctx.Options, cctx.APIs)
	// Take over the previous implementation's objects before any controller runs (spec 2.1).
	if err := migration.Run(ctx, cctx.Clients); err != nil {
		logger.Error(err, "Migration of the previous implementation's objects is incomplete; it runs again on the next start")
	}
	logger.Info("Starting controllers", "certManager", cctx.Options.CertManager, "dnsManager", cctx.Options.DNSManager, "apis", cctx.APIs)
	type running struct {
		name string
		r    controller.Runnable
	}
	var runnables []running
	for _, r := range registry {
		if !opts.enabled(r.name) {
			continue
		}
		built, err := r.construct(cctx)
		if err != nil {
			return fmt.Errorf("%s controller: %w", r.name, err)
		}
		runnables = append(runnables, running{r.name, built})
	}
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		return err
	}
	defer broadcaster.Shutdown()
	cctx.Start(ctx)
	defer cctx.Shutdown()
	errs := make(chan error, len(runnables))
	var wg sync.WaitGroup
	for _, r := range runnables {
		wg.Go(func() { errs <- r.r.Run(ctx, *opts.Workers[r.name]) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
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

// metaFor returns the object metadata of the Lease.
func metaFor(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace}
}
