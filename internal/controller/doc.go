// Package controller holds the machinery shared by the operator's controllers: the
// controller context (clients, informer factories, recorder, options), the canonical worker
// loop over a typed rate-limited workqueue, event filtering and owner enqueueing, requeue
// errors and metrics. Each kind's controller lives in a subpackage and is wired up by
// cmd/controller.
package controller
