// Package webhook runs the admission webhook server of cmd/web-hooks: /validate and /mutate
// over TLS with a certificate reloaded when its files change, health endpoints, Prometheus
// metrics, and a graceful shutdown. The rules themselves live in the validation and mutation
// packages.
package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/cli"
)

// Options configure the server.
type Options struct {
	// Port of the webhook listener (WEBHOOK_PORT); 0 picks a free port.
	Port int
	// BindAddress is the address both listeners bind to; empty means all interfaces.
	BindAddress string
	// TLSEnabled serves the webhook over TLS (TLS_ENABLED). The API server calls webhooks over
	// HTTPS only; plain HTTP is for local debugging.
	TLSEnabled bool
	// CertFile and KeyFile are the serving key pair (TLS_CERT, TLS_KEY).
	CertFile, KeyFile string
	// CertReloadInterval is how often the key pair files are checked for changes.
	CertReloadInterval time.Duration
	// MetricsPort is the plain-HTTP listener of /metrics, /healthz and /readyz (METRICS_PORT);
	// negative disables it, 0 picks a free port.
	MetricsPort int
	// ShutdownTimeout bounds how long in-flight reviews may take after a shutdown signal.
	ShutdownTimeout time.Duration
}

// Server is the webhook server. Create it with NewServer, then call Run.
type Server struct {
	opts     Options
	reloader *CertReloader
	webhook  *http.Server
	// ops serves metrics and health when MetricsPort is not negative.
	ops     *cli.OpsServer
	hooksLn net.Listener
	ready   atomic.Bool
}

// NewServer loads the certificate and opens the listeners, so that a bad configuration fails
// at start and Addr is known before Run.
func NewServer(opts Options, handler *Handler, metrics *Metrics) (*Server, error) {
	s := &Server{opts: opts}
	if opts.TLSEnabled {
		var err error
		if s.reloader, err = NewCertReloader(opts.CertFile, opts.KeyFile, metrics); err != nil {
			return nil, err
		}
	}
	hooks := http.NewServeMux()
	hooks.HandleFunc("/"+webhookValidate, handler.Validate)
	hooks.HandleFunc("/"+webhookMutate, handler.Mutate)
	s.addHealth(hooks)
	s.webhook = newHTTPServer(hooks)
	// Metrics are not served on the webhook port, which the API server reaches.
	if opts.MetricsPort >= 0 {
		var err error
		if s.ops, err = cli.NewOpsServer(net.JoinHostPort(opts.BindAddress, strconv.Itoa(opts.MetricsPort)), metrics.Registry); err != nil {
			return nil, err
		}
		s.ops.AddReadyCheck("webhook", s.ReadyCheck)
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	return s, nil
}

// newHTTPServer returns an http.Server with timeouts: the API server gives a webhook at most
// 30 s, so nothing legitimate takes longer.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
}

// listen opens the listeners.
func (s *Server) listen() error {
	var err error
	if s.hooksLn, err = net.Listen("tcp", net.JoinHostPort(s.opts.BindAddress, strconv.Itoa(s.opts.Port))); err != nil {
		return fmt.Errorf("webhook listener: %w", err)
	}
	if s.reloader != nil {
		s.hooksLn = tls.NewListener(s.hooksLn, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.reloader.GetCertificate})
	}
	if s.ops != nil {
		if err = s.ops.Listen(); err != nil {
			_ = s.hooksLn.Close()
			return err
		}
	}
	return nil
}

// addHealth adds /healthz (the process serves) and /readyz (it has a certificate and is not
// shutting down) to mux.
func (s *Server) addHealth(mux *http.ServeMux) {
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.ReadyCheck(r); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
}

// ReadyCheck fails until Run serves and once shutdown began; cmd/web-hooks gives it to its
// metrics and health server.
func (s *Server) ReadyCheck(*http.Request) error {
	if !s.ready.Load() {
		return errors.New("not ready")
	}
	return nil
}

// Addr is the address of the webhook listener.
func (s *Server) Addr() net.Addr { return s.hooksLn.Addr() }

// MetricsAddr is the address of the metrics listener, nil when disabled.
func (s *Server) MetricsAddr() net.Addr {
	if s.ops == nil {
		return nil
	}
	addr, err := net.ResolveTCPAddr("tcp", s.ops.Addr())
	if err != nil {
		return nil
	}
	return addr
}

// Run serves until ctx is done (or a listener fails), then marks the server not ready, stops
// accepting connections, lets in-flight reviews finish within ShutdownTimeout and returns.
func (s *Server) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	serve := func(run func() error) {
		wg.Go(func() {
			if err := run(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
				cancel()
			}
		})
	}
	if s.reloader != nil {
		wg.Go(func() { s.reloader.Run(ctx, s.opts.CertReloadInterval) })
	}
	serve(func() error { return s.webhook.Serve(s.hooksLn) })
	if s.ops != nil {
		serve(s.ops.Serve)
	}
	s.ready.Store(true)
	logger.Info("Serving admission webhooks", "address", s.Addr().String(), "tls", s.reloader != nil, "metrics", s.MetricsAddr())
	<-ctx.Done()
	s.ready.Store(false)
	logger.Info("Shutting down", "timeout", s.opts.ShutdownTimeout)
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer scancel()
	err := s.webhook.Shutdown(sctx)
	if s.ops != nil {
		err = errors.Join(err, s.ops.Shutdown(sctx))
	}
	wg.Wait()
	close(errs)
	for serveErr := range errs {
		err = errors.Join(err, serveErr)
	}
	return err
}
