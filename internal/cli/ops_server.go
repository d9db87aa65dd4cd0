package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is a health or readiness check; a non-nil error fails it with that reason.
type Check func(*http.Request) error

// namedCheck is a check with the name shown when it fails.
type namedCheck struct {
	name  string
	check Check
}

// OpsServer serves /metrics, /healthz and /readyz on a listener of its own (plain HTTP),
// separate from any API port. /healthz fails when a health check fails; /readyz fails when a
// health or readiness check fails. Every binary of the operator uses it.
type OpsServer struct {
	addr string
	srv  *http.Server
	mux  *http.ServeMux
	ln   net.Listener

	mu     sync.RWMutex
	health []namedCheck
	ready  []namedCheck
}

// NewOpsServer returns a server for addr (host:port; port 0 picks a free one) that serves the
// metrics of reg, with cap_op_build_info registered in it.
func NewOpsServer(addr string, reg *prometheus.Registry) (*OpsServer, error) {
	if err := RegisterBuildInfo(reg); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	s := &OpsServer{addr: addr, mux: mux}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { s.serveChecks(w, r, false) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { s.serveChecks(w, r, true) })
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	return s, nil
}

// EnableProfiling serves Go's runtime profiles (net/http/pprof) under /debug/pprof/, as the
// Kubernetes components do with --profiling. Call it before Listen. A CPU profile costs CPU
// while it is taken and profiles reveal internals, so binaries keep it off by default.
func (s *OpsServer) EnableProfiling() {
	s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	s.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// AddHealthCheck adds a liveness check (it also gates readiness).
func (s *OpsServer) AddHealthCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health = append(s.health, namedCheck{name, c})
}

// AddReadyCheck adds a readiness check.
func (s *OpsServer) AddReadyCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready = append(s.ready, namedCheck{name, c})
}

// serveChecks runs the health checks, and the readiness checks too when ready is set, and
// answers 200 "ok" or, on the first failure, 500 (health) or 503 (readiness) with the reason.
func (s *OpsServer) serveChecks(w http.ResponseWriter, r *http.Request, ready bool) {
	s.mu.RLock()
	checks := append([]namedCheck(nil), s.health...)
	if ready {
		checks = append(checks, s.ready...)
	}
	s.mu.RUnlock()
	for _, c := range checks {
		if err := c.check(r); err != nil {
			code := http.StatusInternalServerError
			if ready {
				code = http.StatusServiceUnavailable
			}
			http.Error(w, fmt.Sprintf("%s: %v", c.name, err), code)
			return
		}
	}
	_, _ = io.WriteString(w, "ok")
}

// Listen opens the listener, so that a taken port fails at start.
func (s *OpsServer) Listen() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("metrics and health listener on %s: %w", s.addr, err)
	}
	s.ln = ln
	return nil
}

// Serve serves on the listener opened by Listen until Shutdown; it then returns nil.
func (s *OpsServer) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics and health server: %w", err)
	}
	return nil
}

// Start listens and serves in the background; errs receives a serving failure.
func (s *OpsServer) Start() (errs <-chan error, err error) {
	if err := s.Listen(); err != nil {
		return nil, err
	}
	ch := make(chan error, 1)
	go func() {
		if err := s.Serve(); err != nil {
			ch <- err
		}
		close(ch)
	}()
	return ch, nil
}

// Addr is the listener's address after Listen.
func (s *OpsServer) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops the server, letting running requests finish until ctx ends.
func (s *OpsServer) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

// Flag is a readiness or liveness state that code sets and a Check reads.
type Flag struct {
	mu     sync.RWMutex
	ok     bool
	reason string
}

// NewFlag returns a flag that fails with reason until Set.
func NewFlag(reason string) *Flag { return &Flag{reason: reason} }

// Set makes the check pass.
func (f *Flag) Set() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ok = true
}

// Unset makes the check fail with reason.
func (f *Flag) Unset(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ok, f.reason = false, reason
}

// Check is the flag as a Check.
func (f *Flag) Check(*http.Request) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.ok {
		return nil
	}
	return errors.New(strings.TrimSpace(f.reason))
}

// MetricsAddressFlag is the flag of the OpsServer's address.
const MetricsAddressFlag = "metrics-bind-address"

// AddMetricsAddressFlag registers --metrics-bind-address with METRICS_PORT as its fallback
// (METRICS_PORT=9091 listens on ":9091").
func AddMetricsAddressFlag(fs *FlagSet, p *string) {
	fs.StringVar(p, MetricsAddressFlag, *p, "Address (host:port) of /metrics, /healthz and /readyz; port 0 picks a free one.")
	fs.EnvPort(MetricsAddressFlag, "METRICS_PORT")
}

// ValidateMetricsAddress checks the address of AddMetricsAddressFlag; the error names the
// flag or variable that set it.
func ValidateMetricsAddress(fs *FlagSet, addr string) error {
	if err := ValidateAddress(addr); err != nil {
		return fmt.Errorf("%s: %w", fs.Source(MetricsAddressFlag), err)
	}
	return nil
}

// opsShutdownTimeout bounds the shutdown of the OpsServer after the command stopped.
const opsShutdownTimeout = 5 * time.Second

// RunWithOps starts the OpsServer, runs fn with a context that is also cancelled when the
// server fails, and stops the server after fn returned. It returns fn's error, else the
// server's.
func RunWithOps(ctx context.Context, s *OpsServer, fn func(context.Context) error) error {
	serveErrs, err := s.Start()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		if err := <-serveErrs; err != nil {
			cancel(err)
		}
	}()
	err = fn(ctx)
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), opsShutdownTimeout)
	defer scancel()
	_ = s.Shutdown(sctx) // only scrapes in flight can be lost
	if cause := context.Cause(ctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	return err
}
