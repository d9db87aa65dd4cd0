// Package rollout plans the rollout of a new CAPApplicationVersion to an application's
// tenants under a RolloutStrategy: which tenants to move now, in which wave, within the
// parallelism and failure limits, and the progress to report. It is free of clients: the
// CAPApplication controller feeds it the tenants from its informer cache and carries the
// plan out.
package rollout
