// Package httpclient builds the subscription server's outgoing HTTP clients (TLS 1.2 or
// later with the trusted roots, bounded time) and reads their JSON answers with a size
// limit. XSUAA discovery and key sets, the token services and the callbacks all go through
// it.
package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// responseHeaderTimeout bounds the wait for the headers of an answer.
const responseHeaderTimeout = 30 * time.Second

// New returns a client trusting roots (nil: the system roots), presenting certs (none: no
// client certificate), whose requests each take at most timeout.
func New(roots *x509.CertPool, certs []tls.Certificate, timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12}
	t.ResponseHeaderTimeout = responseHeaderTimeout
	return &http.Client{Timeout: timeout, Transport: t}
}

// DoJSON sends req and decodes a 200 answer of at most limit bytes into v. Errors start with
// what, which names the request.
func DoJSON(client *http.Client, req *http.Request, what string, limit int64, v any) error {
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer Drain(resp, limit)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", what, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, limit)).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Drain reads at most limit more bytes of the body so the connection can be reused, then
// closes it.
func Drain(resp *http.Response, limit int64) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, limit))
	_ = resp.Body.Close()
}
