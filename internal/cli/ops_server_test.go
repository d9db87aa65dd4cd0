package cli

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// get fetches a URL and returns the status code and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestOpsServer(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := NewOpsServer("127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	ready := NewFlag("controllers not running")
	var unhealthy error
	s.AddHealthCheck("leader", func(*http.Request) error { return unhealthy })
	s.AddReadyCheck("controllers", ready.Check)
	done := make(chan error, 1)
	go func() {
		done <- RunWithOps(context.Background(), s, func(ctx context.Context) error {
			base := "http://" + s.Addr()
			for _, c := range []struct {
				path, wantBody string
				wantCode       int
			}{
				{"/healthz", "ok", http.StatusOK},
				{"/readyz", "controllers: controllers not running", http.StatusServiceUnavailable},
				{"/metrics", `cap_op_build_info{revision="` + Revision() + `",version="dev"} 1`, http.StatusOK},
				{"/other", "404 page not found", http.StatusNotFound},
			} {
				code, body := get(t, base+c.path)
				if code != c.wantCode || !strings.Contains(body, c.wantBody) {
					t.Errorf("GET %s: %d %q, want %d with %q", c.path, code, body, c.wantCode, c.wantBody)
				}
			}
			ready.Set()
			if code, body := get(t, base+"/readyz"); code != http.StatusOK || body != "ok" {
				t.Errorf("GET /readyz once ready: %d %q", code, body)
			}
			unhealthy = errors.New("lease not renewed")
			if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "leader: lease not renewed") {
				t.Errorf("GET /readyz when unhealthy: %d %q", code, body)
			}
			if code, body := get(t, base+"/healthz"); code != http.StatusInternalServerError || !strings.Contains(body, "leader: lease not renewed") {
				t.Errorf("GET /healthz when unhealthy: %d %q", code, body)
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("RunWithOps did not return")
	}
	// The server stopped with the function.
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Error("the server still accepts connections after RunWithOps returned")
	}
	// A second registration of the build info in the same registry is no error.
	if err := RegisterBuildInfo(reg); err != nil {
		t.Error(err)
	}
}

func TestRunWithOpsPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	s, err := NewOpsServer(ln.Addr().String(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	called := false
	err = RunWithOps(context.Background(), s, func(context.Context) error { called = true; return nil })
	if err == nil || !strings.Contains(err.Error(), "metrics and health listener on "+ln.Addr().String()) || called {
		t.Errorf("error %v, function called %v; want a listener error and no call", err, called)
	}
}

func TestValidateAddress(t *testing.T) {
	for addr, ok := range map[string]bool{":9090": true, "127.0.0.1:0": true, "[::1]:80": true, "9090": false, ":http": false, ":70000": false} {
		if err := ValidateAddress(addr); (err == nil) != ok {
			t.Errorf("ValidateAddress(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestOpsServerProfiling(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		s, err := NewOpsServer("127.0.0.1:0", prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		if enabled {
			s.EnableProfiling()
		}
		err = RunWithOps(context.Background(), s, func(context.Context) error {
			want := http.StatusNotFound
			if enabled {
				want = http.StatusOK
			}
			for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
				if code, _ := get(t, "http://"+s.Addr()+path); code != want {
					t.Errorf("profiling %v: GET %s: %d, want %d", enabled, path, code, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
