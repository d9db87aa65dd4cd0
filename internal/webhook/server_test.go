package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/capstan-io/capstan/internal/webhook/webhooktest"
)

// servingCert writes a certificate of serial 1, signed by a new CA, to a temporary directory
// and returns the CA, the directory and the two files.
func servingCert(t *testing.T) (ca *webhooktest.CA, dir, certFile, keyFile string) {
	t.Helper()
	ca, err := webhooktest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if certFile, keyFile, err = ca.WriteServingCert(dir, 1); err != nil {
		t.Fatal(err)
	}
	return ca, dir, certFile, keyFile
}

// startServer runs a TLS server with a certificate of serial 1 and returns it with its CA,
// the certificate directory and a stop function that waits for Run to return.
func startServer(t *testing.T) (*Server, *webhooktest.CA, string, func() error) {
	t.Helper()
	ca, dir, certFile, keyFile := servingCert(t)
	opts := Options{BindAddress: "127.0.0.1", TLSEnabled: true, CertFile: certFile, KeyFile: keyFile,
		CertReloadInterval: 20 * time.Millisecond, ShutdownTimeout: 5 * time.Second}
	h := newTestHandler()
	srv, err := NewServer(opts, h, h.metrics)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stop := func() error { cancel(); return <-done }
	t.Cleanup(cancel)
	return srv, ca, dir, stop
}

// tlsClient trusts only ca.
func tlsClient(ca *webhooktest.CA) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
}

// eventually polls cond every 20 ms until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServerReloadsCertificate(t *testing.T) {
	srv, ca, dir, stop := startServer(t)
	client := tlsClient(ca)
	serial := func() (int64, error) {
		resp, err := client.Get("https://" + srv.Addr().String() + "/healthz")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), nil
	}
	eventually(t, 5*time.Second, func() error {
		if s, err := serial(); err != nil || s != 1 {
			return fmt.Errorf("serial %d, %v", s, err)
		}
		return nil
	})
	if _, _, err := ca.WriteServingCert(dir, 2); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if s, err := serial(); err != nil || s != 2 {
			return fmt.Errorf("serial %d, %v", s, err)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestServerHealthMetricsAndShutdown(t *testing.T) {
	srv, ca, _, stop := startServer(t)
	client := tlsClient(ca)
	get := func(url string) (int, string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	metricsURL := "http://" + srv.MetricsAddr().String()
	eventually(t, 5*time.Second, func() error {
		if code, _, err := get(metricsURL + "/readyz"); err != nil || code != http.StatusOK {
			return fmt.Errorf("readyz %d, %v", code, err)
		}
		return nil
	})
	// A review through TLS shows up in the metrics.
	resp, err := client.Post("https://"+srv.Addr().String()+"/validate", "application/json", strings.NewReader(reviewJSON("DELETE", "null")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	code, body, err := get(metricsURL + "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("metrics: %d %v", code, err)
	}
	want := `cap_op_webhook_requests_total{kind="CAPApplicationVersion",operation="DELETE",outcome="allowed",webhook="validate"} 1`
	if !strings.Contains(body, want) {
		t.Fatalf("metrics do not contain %s", want)
	}
	if code, _, _ := get(metricsURL + "/validate"); code != http.StatusNotFound {
		t.Errorf("the metrics listener serves /validate (%d)", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, _, err := get(metricsURL + "/healthz"); err == nil {
		t.Fatal("the metrics listener still serves after shutdown")
	}
}

func TestNewServerRejectsMissingCertificate(t *testing.T) {
	_, err := NewServer(Options{TLSEnabled: true, CertFile: "/nonexistent.crt", KeyFile: "/nonexistent.key"}, newTestHandler(), NewMetrics())
	if err == nil || !strings.Contains(err.Error(), "reading the certificate") {
		t.Fatalf("expected a certificate error, got %v", err)
	}
}
