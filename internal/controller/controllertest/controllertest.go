// Package controllertest supports controller tests: Fake is a context on fake clientsets
// with seeded informer caches for unit tests of a sync, and Start runs controllers
// in-process against a real API server for integration tests.
package controllertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/capstan-io/capstan/internal/controller"
)

// DefaultOptions are the controller options tests start from.
func DefaultOptions(operatorNamespace string) controller.Options {
	return controller.Options{
		OperatorNamespace:       operatorNamespace,
		CertManager:             "cert-manager.io",
		DNSManager:              "gardener",
		MaxTenantVersionHistory: 10,
		TenantOperationHistory:  5,
		RetryInitialDelay:       time.Second,
		RetryMaxDelay:           10 * time.Second,
		RetryMaxAttempts:        3,
	}
}

// Constructor builds one controller from the shared context.
type Constructor func(c *controller.Context) (controller.Runnable, error)

// Start builds a controller context against cfg, constructs the controllers, starts the
// informers and runs every controller with two workers. Everything stops when the test ends.
// It returns the context so tests can reach clients, listers and the metrics.
func Start(t testing.TB, cfg *rest.Config, opts controller.Options, constructors ...Constructor) *controller.Context {
	t.Helper()
	cctx, broadcaster, err := controller.NewContext(cfg, opts, controller.NewMetrics(true))
	if err != nil {
		t.Fatalf("controller context: %v", err)
	}
	runnables := make([]controller.Runnable, 0, len(constructors))
	for _, construct := range constructors {
		r, err := construct(cctx)
		if err != nil {
			t.Fatalf("constructing controller: %v", err)
		}
		runnables = append(runnables, r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		t.Fatalf("event broadcaster: %v", err)
	}
	cctx.Start(ctx)
	var wg sync.WaitGroup
	for _, r := range runnables {
		wg.Go(func() {
			if err := r.Run(ctx, 2); err != nil {
				t.Errorf("controller stopped: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		broadcaster.Shutdown()
		cctx.Shutdown()
	})
	return cctx
}
