// Package pending sends the asynchronous callbacks of the subscription server. A pending
// callback is recorded as a ConfigMap (see record.go) before the tenant is created or deleted,
// so a restarted server resumes it: no callback is lost and, barring a crash in the instant
// between sending one and deleting its record, none is sent twice. A worker per record waits
// for the tenant's outcome, claims the record against other instances and delivers the
// callback with retries.
package pending

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"

	"github.com/capstan-io/capstan/internal/server/callback"
	"github.com/capstan-io/capstan/internal/server/directory"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// Options configure a Queue; all are required.
type Options struct {
	// Kube stores the records; SME reads tenants the cache does not show yet.
	Kube kubernetes.Interface
	SME  smeclient.Interface
	// Directory reads applications, tenants and credentials.
	Directory *directory.Directory
	// Callbacks fetches tokens and sends the callbacks.
	Callbacks *callback.Client
	// FieldManager identifies the writes of records.
	FieldManager string
	// Identity names this instance in the claims of records.
	Identity string
	// ClientTimeout bounds each outgoing request; RequestTimeout the handling of a request
	// (a record without its tenant is decided after it); DefaultCallbackTimeout is how long
	// a tenant operation may take when the credentials do not say.
	ClientTimeout, RequestTimeout, DefaultCallbackTimeout time.Duration
	// Sent counts callbacks by kind, operation, status and result; Pending is the number of
	// running workers.
	Sent    *prometheus.CounterVec
	Pending prometheus.Gauge
}

// Queue runs the workers of pending callbacks.
type Queue struct {
	opts Options
	// ctx ends the workers.
	ctx     context.Context
	workers sync.WaitGroup
	// active holds the keys of records with a running worker.
	active sync.Map
}

// New returns a queue whose workers run until ctx ends.
func New(ctx context.Context, opts Options) *Queue {
	return &Queue{opts: opts, ctx: ctx}
}

// Wait waits until every worker returned after the queue's context ended; an error when ctx
// ends first.
func (q *Queue) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { q.workers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("callback workers did not stop: %w", ctx.Err())
	}
}
