package controller

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Queue is the typed rate-limited workqueue every controller uses, keyed by object name
// (namespace empty for cluster-scoped kinds).
type Queue = workqueue.TypedRateLimitingInterface[cache.ObjectName]

// NewQueue returns a queue with the given rate limiter, named after the kind it serves so that
// its metrics carry that name.
func NewQueue(kind string, limiter workqueue.TypedRateLimiter[cache.ObjectName]) Queue {
	if limiter == nil {
		limiter = workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName]()
	}
	return workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: kind})
}

// SyncFunc reconciles one object. It returns nil when done, RequeueAfter to be called again
// later, or an error to be retried with backoff.
type SyncFunc func(ctx context.Context, key cache.ObjectName) error

// Worker drives a SyncFunc from a Queue: the canonical Run → runWorker → processNextWorkItem
// → sync loop shared by every controller.
type Worker struct {
	// Kind names the primary kind, for logs and metrics.
	Kind string
	// Queue holds the keys to sync.
	Queue Queue
	// Sync reconciles one key.
	Sync SyncFunc
	// Synced are the informers that must have synced before the first sync.
	Synced []cache.InformerSynced
	// Metrics receives error and panic counts; may be nil in tests.
	Metrics *Metrics
}

// Run waits for the caches, starts the workers and blocks until ctx is cancelled; then it
// shuts the queue down and waits for the workers to finish their current item.
func (w *Worker) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrashWithContext(ctx)
	logger := klog.FromContext(ctx).WithValues("controller", w.Kind)
	ctx = klog.NewContext(ctx, logger)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, w.Synced...) {
		w.Queue.ShutDown()
		return fmt.Errorf("%s: caches did not sync", w.Kind)
	}
	if workers < 1 {
		workers = 1
	}
	logger.Info("Starting workers", "count", workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { wait.UntilWithContext(ctx, w.runWorker, time.Second) })
	}
	<-ctx.Done()
	w.Queue.ShutDown()
	wg.Wait()
	logger.Info("Workers stopped")
	return nil
}

// runWorker processes items until the queue shuts down.
func (w *Worker) runWorker(ctx context.Context) {
	for w.processNextWorkItem(ctx) {
	}
}

// processNextWorkItem syncs one key and decides, from the result, whether and when the key
// comes back.
func (w *Worker) processNextWorkItem(ctx context.Context) bool {
	key, shutdown := w.Queue.Get()
	if shutdown {
		return false
	}
	defer w.Queue.Done(key)
	err := w.safeSync(ctx, key)
	logger := klog.FromContext(ctx).WithValues("key", key.String())
	if after, ok := IsRequeue(err); ok {
		w.Queue.Forget(key)
		logger.V(4).Info("Requeue", "after", after, "reason", err.Error())
		w.Queue.AddAfter(key, after)
		return true
	}
	switch {
	case err == nil:
		w.Queue.Forget(key)
	case apierrors.IsConflict(err):
		// The cache was behind the server; the update event that caused the conflict will
		// bring the newer object, so retry quietly.
		logger.V(4).Info("Conflict, retrying", "err", err)
		w.Queue.AddRateLimited(key)
	default:
		logger.Error(err, "Sync failed")
		if w.Metrics != nil {
			w.Metrics.ReconcileErrors.WithLabelValues(w.Kind, key.Namespace, key.Name).Inc()
		}
		w.Queue.AddRateLimited(key)
	}
	return true
}

// safeSync calls Sync and turns a panic into an error, so one bad object cannot stop the
// controller.
func (w *Worker) safeSync(ctx context.Context, key cache.ObjectName) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if w.Metrics != nil {
				w.Metrics.Panics.WithLabelValues(w.Kind, key.Namespace, key.Name).Inc()
			}
			err = fmt.Errorf("recovered panic: %v\n%s", r, debug.Stack())
		}
	}()
	return w.Sync(ctx, key)
}

// Cached reads the object a sync is for through get (a lister's Get): ok is false with a nil
// error when the object no longer exists (the sync has nothing to do), false with the error
// when the read failed.
func Cached[T any](get func(name string) (T, error), name string) (obj T, ok bool, err error) {
	obj, err = get(name)
	if apierrors.IsNotFound(err) {
		return obj, false, nil
	}
	return obj, err == nil, err
}
