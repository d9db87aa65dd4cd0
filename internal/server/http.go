package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"time"

	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/server/httperr"
)

// Messages of the provisioning responses (spec section 3).
const (
	msgCreated  = "resource created successfully"
	msgUpdated  = "resource updated successfully"
	msgExists   = "resource exists"
	msgDeleted  = "resource deleted successfully"
	msgNotFound = "tenant not found"
	msgAuth     = "authorization check failed"
)

// headerClientCert carries the SMS client certificate, set by the ingress gateway.
const headerClientCert = "X-Forwarded-Client-Cert"

// apiHandler routes the subscription endpoints, each family with its own metrics.
func (s *Server) apiHandler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, family string, handlers map[string]http.HandlerFunc) {
		mux.Handle(pattern, s.metrics.instrument(family, s.limit(s.guard(s.byMethod(handlers)))))
	}
	route("/provision/tenants/{tenantId}", familySaaS, map[string]http.HandlerFunc{
		http.MethodPut: s.saasSubscribe, http.MethodDelete: s.saasUnsubscribe,
	})
	route("/sms/provision/tenants/{app_tid}", familySMS, map[string]http.HandlerFunc{
		http.MethodPut: s.smsSubscribe, http.MethodDelete: s.smsUnsubscribe,
	})
	route("/dependencies/{account}/{appName}/", familyDependencies, map[string]http.HandlerFunc{
		http.MethodGet: s.saasDependencies,
	})
	route("/sms/dependencies/{account}/{appName}/", familyDependenciesSMS, map[string]http.HandlerFunc{
		http.MethodGet: s.smsDependencies,
	})
	s.addHealth(mux)
	return mux
}

// maxQueueWait bounds how long a request waits for a slot among the MaxRequestsInFlight; it
// stays well below the connection's ReadTimeout, which runs while the request waits.
const maxQueueWait = 10 * time.Second

// limit handles at most MaxRequestsInFlight API requests at once. Up to MaxRequestsQueued more
// wait for a slot (at most maxQueueWait), so a burst of subscriptions (a mass onboarding) is
// served in turn instead of refused; beyond that, and after the wait, requests are answered
// 429 with a reason, so a flood of (unauthenticated) requests cannot queue up unbounded work.
// The callers (SaaS registry, Subscription Manager) retry. A caller that hangs up while its
// request waits is noticed only once the request's body was read, so a PUT or DELETE keeps its
// place and is handled, as it would have been had it arrived a moment earlier.
func (s *Server) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.acquire(r.Context()) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, fmt.Sprintf("too many requests in flight (limit %d, %d more may wait); retry later",
				cap(s.inFlight), s.opts.MaxRequestsQueued), http.StatusTooManyRequests)
			return
		}
		defer func() { <-s.inFlight }()
		next.ServeHTTP(w, r)
	})
}

// acquire takes a slot among the requests in flight: at once, or after waiting in the queue
// while it has room. It reports false when the queue is full, the wait took too long or the
// request ended.
func (s *Server) acquire(ctx context.Context) bool {
	select {
	case s.inFlight <- struct{}{}:
		return true
	default:
	}
	if s.queued.Add(1) > int64(s.opts.MaxRequestsQueued) {
		s.queued.Add(-1)
		return false
	}
	defer s.queued.Add(-1)
	timer := time.NewTimer(maxQueueWait)
	defer timer.Stop()
	select {
	case s.inFlight <- struct{}{}:
		return true
	case <-timer.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// readyCheck fails until the tenant cache synced and pending callbacks resumed, and again
// once shutdown began.
func (s *Server) readyCheck(*http.Request) error {
	if !s.ready.Load() {
		return errors.New("not ready")
	}
	return nil
}

// addHealth registers liveness and readiness. Readiness is false until the tenant cache synced
// and pending callbacks resumed, and again once shutdown began.
func (s *Server) addHealth(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
}

// byMethod dispatches on the method; others get 405 with an Allow header.
func (s *Server) byMethod(handlers map[string]http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := handlers[r.Method]
		if !ok {
			for m := range handlers {
				w.Header().Add("Allow", m)
			}
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	})
}

// guard limits the body and the handling time and turns a panic into a 500, so no input can
// take the server down (net/http would recover too, but drop the connection without a reply).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if rec := recover(); rec != nil {
				klog.FromContext(r.Context()).Error(fmt.Errorf("panic: %v", rec), "Request handler panicked",
					"path", r.URL.Path, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// provisionResponse is the body of every provisioning answer.
type provisionResponse struct {
	Tenant  any    `json:"Tenant"`
	Message string `json:"Message"`
}

// reply writes a provisioning answer.
func reply(w http.ResponseWriter, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(provisionResponse{Message: message})
}

// replyError answers a failed provisioning request. The public message of an httperr.Error is
// shown; other errors are answered with fallback and their text, which never holds secrets
// (tokens and credentials are not put into errors).
func replyError(ctx context.Context, w http.ResponseWriter, fallback int, err error) {
	code, msg := fallback, err.Error()
	var se *httperr.Error
	if errors.As(err, &se) {
		code = se.Code
		if se.Message == msgAuth {
			// Why a token or certificate was refused is logged, not told to the caller.
			msg = msgAuth
		}
	}
	klog.FromContext(ctx).Info("Request failed", "code", code, "err", err.Error())
	reply(w, code, msg)
}
