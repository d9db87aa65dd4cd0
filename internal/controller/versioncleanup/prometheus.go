package versioncleanup

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"k8s.io/utils/clock"
)

// clientSource hands out the Prometheus API client. It connects lazily: the first use probes
// the runtimeinfo API and keeps the client after a success. After a failure it does not
// probe again before retryDelay has passed, so an unreachable Prometheus costs one timeout
// per retryDelay instead of one per rule.
type clientSource struct {
	address    string
	retryDelay time.Duration
	timeout    time.Duration
	clock      clock.PassiveClock

	mu          sync.Mutex
	api         promv1.API
	nextAttempt time.Time
	lastError   string
}

// newClientSource checks the address (empty means no Prometheus) and returns the source.
func newClientSource(address string, retryDelay, timeout time.Duration, clk clock.PassiveClock) (*clientSource, error) {
	if address != "" {
		u, err := url.Parse(address)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("PROMETHEUS_ADDRESS %q is not an http or https URL such as http://prometheus.monitoring:9090", address)
		}
	}
	return &clientSource{address: address, retryDelay: retryDelay, timeout: timeout, clock: clk}, nil
}

// get returns the client, or nil and a sentence saying why there is none.
func (s *clientSource) get(ctx context.Context) (promv1.API, string) {
	if s.address == "" {
		return nil, "no Prometheus is configured (PROMETHEUS_ADDRESS is empty), so deletion rules cannot be evaluated"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.api != nil {
		return s.api, ""
	}
	now := s.clock.Now()
	if now.Before(s.nextAttempt) {
		return nil, s.unavailable()
	}
	client, err := api.NewClient(api.Config{Address: s.address, RoundTripper: api.DefaultRoundTripper})
	if err == nil {
		candidate := promv1.NewAPI(client)
		pctx, cancel := context.WithTimeout(ctx, s.timeout)
		_, err = candidate.Runtimeinfo(pctx)
		cancel()
		if err == nil {
			s.api = candidate
			return s.api, ""
		}
	}
	s.lastError = err.Error()
	s.nextAttempt = now.Add(s.retryDelay)
	return nil, s.unavailable()
}

// unavailable describes the last failed connection attempt.
func (s *clientSource) unavailable() string {
	return fmt.Sprintf("Prometheus at %s is not reachable (%s); the next connection attempt is at %s",
		s.address, s.lastError, s.nextAttempt.UTC().Format(time.RFC3339))
}
