package tenant

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// QueueRateLimiter is the rate limiter of the tenant and tenant-operation queues: per-item
// exponential backoff from 10ms to 300s, and an overall token bucket of 50 per second with a
// burst of 200, so a wave of failing tenants cannot flood the API server.
func QueueRateLimiter() workqueue.TypedRateLimiter[cache.ObjectName] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](10*time.Millisecond, 300*time.Second),
		&workqueue.TypedBucketRateLimiter[cache.ObjectName]{Limiter: rate.NewLimiter(rate.Limit(50), 200)},
	)
}
