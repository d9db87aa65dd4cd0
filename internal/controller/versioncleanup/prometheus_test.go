package versioncleanup

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestNewClientSourceRefusesBadAddresses(t *testing.T) {
	for _, address := range []string{"prometheus:9090", "ftp://prometheus", "http://", "::"} {
		if _, err := newClientSource(address, time.Hour, time.Second, clocktesting.NewFakeClock(time.Now())); err == nil ||
			!strings.Contains(err.Error(), "is not an http or https URL") {
			t.Errorf("address %q: error %v, want a clear refusal", address, err)
		}
	}
}

func TestClientSourceWithoutAddress(t *testing.T) {
	s, err := newClientSource("", time.Hour, time.Second, clocktesting.NewFakeClock(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if api, why := s.get(context.Background()); api != nil || !strings.Contains(why, "PROMETHEUS_ADDRESS is empty") {
		t.Errorf("get = %v, %q; want no client and a reason naming PROMETHEUS_ADDRESS", api, why)
	}
}

// TestClientSourceRetryDelay checks that a failed probe is not repeated before the retry
// delay and that a successful probe is kept.
func TestClientSourceRetryDelay(t *testing.T) {
	prom := newFakePrometheus(t, nil)
	prom.setStatus(http.StatusServiceUnavailable)
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := newClientSource(prom.URL, time.Hour, time.Second, clk)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	api, why := s.get(ctx)
	if api != nil || !strings.Contains(why, "is not reachable") || !strings.Contains(why, "2026-01-01T01:00:00Z") {
		t.Fatalf("first get = %v, %q; want no client, the error and the next attempt time", api, why)
	}
	clk.Step(59 * time.Minute)
	prom.setStatus(http.StatusOK)
	if api, _ := s.get(ctx); api != nil || prom.probeCount() != 1 {
		t.Fatalf("within the retry delay: client %v after %d probes; want no client after 1 probe", api, prom.probeCount())
	}
	clk.Step(time.Minute)
	if api, why := s.get(ctx); api == nil {
		t.Fatalf("after the retry delay: no client (%s)", why)
	}
	prom.setStatus(http.StatusServiceUnavailable)
	if api, _ := s.get(ctx); api == nil || prom.probeCount() != 2 {
		t.Errorf("after success: client %v after %d probes; want the kept client after 2 probes", api, prom.probeCount())
	}
}

// TestClientSourceSlowProbe checks that a Prometheus that does not answer costs one timeout.
func TestClientSourceSlowProbe(t *testing.T) {
	prom := newFakePrometheus(t, nil)
	prom.hangProbes()
	s, err := newClientSource(prom.URL, time.Hour, 200*time.Millisecond, clocktesting.NewFakeClock(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if api, why := s.get(context.Background()); api != nil || !strings.Contains(why, "deadline exceeded") {
		t.Errorf("get = %v, %q; want no client and a timeout", api, why)
	}
}
