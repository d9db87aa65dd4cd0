package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capstan-io/capstan/internal/server"
	"github.com/capstan-io/capstan/internal/testenv"
)

// TestMalformedRequests checks strict decoding, the body limit and method checks: each is
// answered with its status and a reason, and none creates anything.
func TestMalformedRequests(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	auth := map[string]string{"Authorization": f.token()}
	tests := map[string]struct {
		method, path string
		body         any
		headers      map[string]string
		wantCode     int
		// wantBody is a substring of the answer.
		wantBody string
	}{
		"wrong type": {
			method: http.MethodPut, path: "/provision/tenants/t-1", body: `{"subscribedTenantId":1}`,
			wantCode: http.StatusBadRequest, wantBody: "field subscribedTenantId: expected string",
		},
		"missing field": {
			method: http.MethodPut, path: "/provision/tenants/t-1", body: `{"subscribedTenantId":"t-1","subscriptionGUID":"g"}`,
			wantCode: http.StatusBadRequest, wantBody: "missing field subscribedSubdomain",
		},
		"SMS wrong nested type": {
			method: http.MethodPut, path: "/sms/provision/tenants/t-1", body: `{"subscriber":{"app_tid":false}}`,
			wantCode: http.StatusBadRequest, wantBody: "field subscriber.app_tid",
		},
		"not JSON": {
			method: http.MethodPut, path: "/provision/tenants/t-1", body: `{"subscribedTenantId":`,
			wantCode: http.StatusBadRequest, wantBody: "malformed JSON",
		},
		"DELETE without body": {
			method: http.MethodDelete, path: "/provision/tenants/t-1",
			wantCode: http.StatusBadRequest, wantBody: "the payload is empty",
		},
		"DELETE path and payload disagree": {
			method: http.MethodDelete, path: "/provision/tenants/t-2", body: `{"subscribedTenantId":"t-1"}`,
			wantCode: http.StatusBadRequest, wantBody: "differs",
		},
		"body too large": {
			method: http.MethodPut, path: "/provision/tenants/t-1", body: `{"x":"` + strings.Repeat("a", server.DefaultMaxBodyBytes) + `"}`,
			wantCode: http.StatusRequestEntityTooLarge, wantBody: "exceeds",
		},
		"callback to another host": {
			method: http.MethodPut, path: "/provision/tenants/t-1", body: f.saasPayload("t-1", "g", "s"),
			headers: map[string]string{"STATUS_CALLBACK": "https://evil.example.com/steal"}, wantCode: http.StatusBadRequest, wantBody: "must be a URL path",
		},
		// An unknown application cannot be authenticated against: answered like a failed
		// authentication, so that callers cannot probe which applications exist.
		"unknown app": {
			method: http.MethodPut, path: "/provision/tenants/t-1", body: func() any { p := f.saasPayload("t-1", "g", "s"); p["subscriptionAppName"] = "nope"; return p }(),
			wantCode: http.StatusNotAcceptable, wantBody: "authorization check failed",
		},
		"unknown tenant": {
			method: http.MethodDelete, path: "/provision/tenants/t-1", body: f.saasPayload("t-1", "g", "s"),
			wantCode: http.StatusNotFound, wantBody: "tenant not found",
		},
		"unknown tenant of an unnamed application": {
			method: http.MethodDelete, path: "/provision/tenants/t-1", body: `{"subscribedTenantId":"t-1","subscriptionGUID":"` + f.guid("g") + `"}`,
			wantCode: http.StatusNotAcceptable, wantBody: "authorization check failed",
		},
		"wildcard subdomain": {
			method: http.MethodPut, path: "/provision/tenants/t-1", body: f.saasPayload("t-1", "g", "*"),
			wantCode: http.StatusBadRequest, wantBody: `field subscribedSubdomain: \"*\" is invalid`,
		},
		"subdomain with dots": {
			method: http.MethodPut, path: "/provision/tenants/t-1", body: f.saasPayload("t-1", "g", "evil.example.org"),
			wantCode: http.StatusBadRequest, wantBody: "subscribedSubdomain",
		},
		"subdomain with a slash": {
			method: http.MethodPut, path: "/provision/tenants/t-1", body: f.saasPayload("t-1", "g", "a/b"),
			wantCode: http.StatusBadRequest, wantBody: "subscribedSubdomain",
		},
		"upper-case subdomain": {
			method: http.MethodPut, path: "/provision/tenants/t-1", body: f.saasPayload("t-1", "g", "Consumer"),
			wantCode: http.StatusBadRequest, wantBody: "a lowercase RFC 1123 label",
		},
		"SMS wildcard subdomain": {
			method: http.MethodPut, path: "/sms/provision/tenants/t-1", body: f.smsPayload("t-1", "g", "*"),
			wantCode: http.StatusBadRequest, wantBody: "subscriber.subaccountSubdomain",
		},
		"GET on provisioning": {method: http.MethodGet, path: "/provision/tenants/t-1", wantCode: http.StatusMethodNotAllowed},
		"POST on dependencies": {
			method: http.MethodPost, path: "/dependencies/" + f.account + "/" + appName + "/", wantCode: http.StatusMethodNotAllowed,
		},
		"metrics not on the API port": {method: http.MethodGet, path: "/metrics", wantCode: http.StatusNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			headers := map[string]string{}
			for k, v := range auth {
				headers[k] = v
			}
			for k, v := range tc.headers {
				headers[k] = v
			}
			resp := do(t, srv, tc.method, tc.path, tc.body, headers)
			if resp.code != tc.wantCode || !strings.Contains(resp.body, tc.wantBody) {
				t.Fatalf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, resp.code, resp.body, tc.wantCode, tc.wantBody)
			}
		})
	}
	if f.tenant("t-1") != nil || len(f.records()) != 0 {
		t.Fatal("a malformed request created a tenant or a record")
	}
}

// TestMetricsAndHealth checks the metrics port: request families with code and method, the
// in-flight gauges, health endpoints.
func TestMetricsAndHealth(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	do(t, srv, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "g", "s"), map[string]string{"Authorization": f.token()})
	do(t, srv, http.MethodGet, "/provision/tenants/t-1", nil, nil)
	do(t, srv, http.MethodDelete, "/sms/provision/tenants/t-9?subscriptionGUID=x", nil, nil)
	do(t, srv, http.MethodGet, "/dependencies/nobody/x/", nil, nil)
	metrics := get(t, "http://"+srv.MetricsAddr()+"/metrics", http.StatusOK)
	for _, want := range []string{
		`cap_op_subscription_requests_total{code="202",method="put"} 1`,
		`cap_op_subscription_requests_total{code="405",method="get"} 1`,
		// Without credentials: answered as authentication failures.
		`cap_op_subscription_requests_sms_total{code="406",method="delete"} 1`,
		`cap_op_dependencies_requests_total{code="401",method="get"} 1`,
		`cap_op_subscription_requests_inflight 0`,
		`cap_op_subscription_requests_sms_inflight 0`,
		`cap_op_dependencies_requests_inflight 0`,
		`cap_op_dependencies_requests_sms_inflight 0`,
		// The previous implementation's names of the same gauges.
		`cap_op_subscription_requests_in_flight 0`,
		`cap_op_dependencies_requests_sms_in_flight 0`,
		`cap_op_subscription_callbacks_pending 0`,
		`cap_op_build_info{revision=`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, addr := range []string{srv.Addr(), srv.MetricsAddr()} {
		get(t, "http://"+addr+"/healthz", http.StatusOK)
		get(t, "http://"+addr+"/readyz", http.StatusOK)
	}
	get(t, "http://"+srv.MetricsAddr()+"/provision/tenants/t-1", http.StatusNotFound)
}

// get fetches a URL and checks the status.
func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: waitTimeout}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s = %d %s, want %d", url, resp.StatusCode, data, want)
	}
	return string(data)
}

// TestGracefulShutdown starts a request, begins the shutdown while its body is still being
// sent, and checks that the request is answered and the server stops afterwards.
func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t)
	srv := f.newServer("server-a", server.Options{})
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"subscribedTenantId":"t-1","subscriptionGUID":"g"}`
	fmt.Fprintf(conn, "DELETE /provision/tenants/t-1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	// Wait until the handler runs (the in-flight gauge says so) before shutting down.
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		return strings.Contains(get(t, "http://"+srv.MetricsAddr()+"/metrics", http.StatusOK), "cap_op_subscription_requests_inflight 1"), nil
	})
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	case <-time.After(200 * time.Millisecond): // a negative check: nothing may happen meanwhile
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	// The payload names no application, so the server cannot authenticate the caller: 406.
	if resp.StatusCode != http.StatusNotAcceptable {
		t.Fatalf("in-flight request = %d, want 406", resp.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		t.Fatal("the server still accepts connections")
	}
}

// TestTLS serves the API over HTTPS when a certificate and key are given.
func TestTLS(t *testing.T) {
	f := newFixture(t)
	leaf := f.ca.Issue(t, pkix.Name{CommonName: "localhost"})
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, leaf.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, leaf.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := f.newServer("server-tls", server.Options{TLSCertFile: certFile, TLSKeyFile: keyFile})
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	client := &http.Client{Timeout: waitTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.ca.Pool, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Get("https://" + srv.Addr() + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("HTTPS /healthz = %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
}
