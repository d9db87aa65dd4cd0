// Package server implements the subscription server: the HTTP endpoints that the SAP SaaS
// provisioning service (saas-registry) and the Subscription Manager (SMS) call when a consumer
// subscribes to or unsubscribes from a multi-tenant CAP application. Subscribing creates a
// CAPTenant, unsubscribing deletes it; the server then waits for the controller to provision or
// deprovision the tenant and reports the outcome through the caller's asynchronous callback.
//
// The sub-packages hold the parts: payload reads the requests, directory the caches and
// credentials, pending records and sends the callbacks (resumed by a restarted server),
// callback the token and callback client, httpclient the outgoing HTTP clients, xsuaa and
// clientcert authenticate the callers, httperr carries the status of a failed request to its
// answer.
package server

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/cli"
	"github.com/capstan-io/capstan/internal/server/callback"
	"github.com/capstan-io/capstan/internal/server/directory"
	"github.com/capstan-io/capstan/internal/server/httpclient"
	"github.com/capstan-io/capstan/internal/server/pending"
	"github.com/capstan-io/capstan/internal/server/xsuaa"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// Defaults of Options.
const (
	DefaultAddr            = ":4000"
	DefaultMetricsAddr     = ":9090"
	DefaultMaxBodyBytes    = 1 << 20
	DefaultCallbackTimeout = 15 * time.Minute
	DefaultShutdownTimeout = 30 * time.Second
	DefaultRequestTimeout  = 45 * time.Second
	// DefaultMaxRequestsInFlight bounds the API requests handled at once.
	DefaultMaxRequestsInFlight = 64
	// DefaultMaxRequestsQueued is the binary's number of requests that may wait for a slot: a
	// waiting request costs a goroutine and its connection, and a mass onboarding of a
	// thousand tenants is then served in turn instead of answered 429.
	DefaultMaxRequestsQueued = 1000
	// FieldManager identifies the server's writes.
	FieldManager = "capstan-subscription-server"
)

// Options configure a Server.
type Options struct {
	// Addr and MetricsAddr are the listen addresses of the API and of metrics and health.
	Addr        string
	MetricsAddr string
	// TLSCertFile and TLSKeyFile, when both set, make the API listener serve HTTPS.
	TLSCertFile string
	TLSKeyFile  string
	// Kube and SME are the API clients.
	Kube kubernetes.Interface
	SME  smeclient.Interface
	// RootCAs are trusted for XSUAA discovery and keys, token endpoints and callbacks; nil
	// means the system roots. Tests pass the pool of their loopback servers' CA.
	RootCAs *x509.CertPool
	// ClientCAs are the trusted CAs of the Subscription Manager's forwarded client
	// certificate (see clientcert.VerifyOptions); nil refuses every SMS request.
	ClientCAs *x509.CertPool
	// MaxRequestsInFlight bounds the API requests handled at once (default
	// DefaultMaxRequestsInFlight).
	MaxRequestsInFlight int
	// MaxRequestsQueued more requests wait for a slot, up to 10 s each; beyond them requests
	// are answered 429 at once. Zero lets none wait (the binary's default is
	// DefaultMaxRequestsQueued).
	MaxRequestsQueued int
	// ClientTimeout bounds each outgoing HTTP request (default callback.DefaultTimeout).
	ClientTimeout time.Duration
	// RequestTimeout bounds the handling of one incoming request.
	RequestTimeout time.Duration
	// MaxBodyBytes limits request bodies (default 1 MiB).
	MaxBodyBytes int64
	// DefaultCallbackTimeout is how long a tenant operation may take when the credentials do
	// not say (default 15 min).
	DefaultCallbackTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration
	// Identity names this instance in the claims of pending callbacks (default random).
	Identity string
	// Profiling serves Go's pprof profiles under /debug/pprof/ on MetricsAddr.
	Profiling bool
}

// withDefaults fills unset options.
func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.MetricsAddr == "" {
		o.MetricsAddr = DefaultMetricsAddr
	}
	if o.ClientTimeout <= 0 {
		o.ClientTimeout = callback.DefaultTimeout
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MaxRequestsInFlight <= 0 {
		o.MaxRequestsInFlight = DefaultMaxRequestsInFlight
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.DefaultCallbackTimeout <= 0 {
		o.DefaultCallbackTimeout = DefaultCallbackTimeout
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Identity == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		o.Identity = "server-" + hex.EncodeToString(b)
	}
	return o
}

// Server is the subscription server.
type Server struct {
	opts     Options
	kube     kubernetes.Interface
	sme      smeclient.Interface
	verifier *xsuaa.Verifier
	metrics  *metrics
	dir      *directory.Directory
	pending  *pending.Queue
	// inFlight holds a token per API request being handled; queued counts the requests
	// waiting for one.
	inFlight chan struct{}
	queued   atomic.Int64

	api   *http.Server
	apiLn net.Listener
	// ops serves metrics and health on MetricsAddr.
	ops *cli.OpsServer

	ready atomic.Bool
	// workCtx ends the caches, the key refreshes and the callback workers; cancelled after
	// the HTTP servers stopped.
	workCtx  context.Context
	stopWork context.CancelFunc
	serveErr chan error

	shutdownOnce sync.Once
	shutdownErr  error
}

// New creates a server; Start makes it listen.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if opts.Kube == nil || opts.SME == nil {
		return nil, errors.New("server: Kube and SME clients are required")
	}
	dir, err := directory.New(opts.Kube, opts.SME)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:     opts,
		kube:     opts.Kube,
		sme:      opts.SME,
		metrics:  newMetrics(),
		dir:      dir,
		inFlight: make(chan struct{}, opts.MaxRequestsInFlight),
		serveErr: make(chan error, 2),
	}
	s.workCtx, s.stopWork = context.WithCancel(context.Background())
	s.pending = pending.New(s.workCtx, pending.Options{
		Kube: opts.Kube, SME: opts.SME, Directory: dir,
		Callbacks:    callback.NewClient(opts.RootCAs, opts.ClientTimeout),
		FieldManager: FieldManager, Identity: opts.Identity,
		ClientTimeout: opts.ClientTimeout, RequestTimeout: opts.RequestTimeout, DefaultCallbackTimeout: opts.DefaultCallbackTimeout,
		Sent: s.metrics.callbacks, Pending: s.metrics.pending,
	})
	return s, nil
}

// Start syncs the caches, resumes recorded callbacks and starts both listeners. It returns
// once the server accepts requests. Cancelling ctx aborts the start at any step, including
// the sync of the caches.
func (s *Server) Start(ctx context.Context) error {
	stop := context.AfterFunc(ctx, s.stopWork)
	defer stop()
	var err error
	s.verifier, err = xsuaa.NewVerifier(s.workCtx, xsuaa.Options{HTTPClient: httpclient.New(s.opts.RootCAs, nil, s.opts.ClientTimeout)})
	if err != nil {
		return err
	}
	if err := s.dir.Start(s.workCtx); err != nil {
		return err
	}
	if err := s.pending.Resume(ctx); err != nil {
		return fmt.Errorf("resuming pending callbacks: %w", err)
	}
	if err := s.listen(); err != nil {
		return err
	}
	s.ready.Store(true)
	klog.FromContext(ctx).Info("Subscription server started", "addr", s.apiLn.Addr().String(),
		"metricsAddr", s.ops.Addr(), "tls", s.tlsEnabled(), "identity", s.opts.Identity)
	return nil
}

func (s *Server) tlsEnabled() bool { return s.opts.TLSCertFile != "" && s.opts.TLSKeyFile != "" }

// listen opens both listeners and serves them in the background.
func (s *Server) listen() error {
	var err error
	if s.apiLn, err = net.Listen("tcp", s.opts.Addr); err != nil {
		return fmt.Errorf("listening on %s: %w", s.opts.Addr, err)
	}
	if s.ops, err = cli.NewOpsServer(s.opts.MetricsAddr, s.metrics.registry); err == nil {
		if s.opts.Profiling {
			s.ops.EnableProfiling()
		}
		s.ops.AddReadyCheck("started", s.readyCheck)
		err = s.ops.Listen()
	}
	if err != nil {
		_ = s.apiLn.Close()
		return err
	}
	s.api = newHTTPServer(s.apiHandler(), s.opts.RequestTimeout)
	go func() {
		var err error
		if s.tlsEnabled() {
			err = s.api.ServeTLS(s.apiLn, s.opts.TLSCertFile, s.opts.TLSKeyFile)
		} else {
			err = s.api.Serve(s.apiLn)
		}
		s.serveErr <- err
	}()
	go func() { s.serveErr <- s.ops.Serve() }()
	return nil
}

// newHTTPServer applies the server timeouts: slow clients cannot hold connections forever.
func newHTTPServer(h http.Handler, requestTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      maxQueueWait + requestTimeout + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    256 << 10,
	}
}

// Addr is the API listener's address (after Start).
func (s *Server) Addr() string { return s.apiLn.Addr().String() }

// MetricsAddr is the metrics listener's address (after Start).
func (s *Server) MetricsAddr() string { return s.ops.Addr() }

// Run starts the server and shuts it down gracefully when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		s.stopWork()
		if ctx.Err() != nil {
			return nil // stopped by a signal while starting
		}
		return err
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-s.serveErr:
		if errors.Is(serveErr, http.ErrServerClosed) {
			serveErr = nil
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	return errors.Join(serveErr, s.Shutdown(sctx))
}

// Shutdown stops accepting requests, lets in-flight requests finish, then stops the callback
// workers. A worker that is sending a callback finishes it; the others leave their records for
// the next instance.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

// shutdown does the work of Shutdown, once.
func (s *Server) shutdown(ctx context.Context) error {
	s.ready.Store(false)
	var errs []error
	if s.api != nil {
		errs = append(errs, s.api.Shutdown(ctx))
	}
	s.stopWork()
	errs = append(errs, s.pending.Wait(ctx))
	if s.ops != nil {
		errs = append(errs, s.ops.Shutdown(ctx))
	}
	if s.verifier != nil {
		errs = append(errs, s.verifier.Close(ctx))
	}
	return errors.Join(errs...)
}
