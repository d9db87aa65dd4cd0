// Package controller holds the machinery shared by the operator's controllers: the
// controller context (clients, informer factories, recorder, options), the canonical worker
// loop over a typed rate-limited workqueue, event filtering and owner enqueueing, requeue
// errors and metrics. Each kind's controller lives in a subpackage and is wired up by
// cmd/controller.
//
// Every controller has the same shape, and tools that look for repeated code find it in each
// of them on purpose: a Controller struct with the context, the queue, its listers and
// indexers and the embedded Worker; a NewController that fills the listers, adds the indexes
// (EnsureIndex), routes the events (AddHandlers) and builds the Worker; a sync that reads its
// object (Cached) and hands the result to a pure computeStatus. What the controllers share
// beyond that shape lives here (Cached, EnsureIndex, ApplicationsOfDomain,
// ApplicationsOfSecret, Context.Secrets), so it exists once.
package controller
