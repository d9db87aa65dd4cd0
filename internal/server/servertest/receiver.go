package servertest

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Callback is one request the receiver got.
type Callback struct {
	Method        string
	Path          string
	Authorization string
	ContentType   string
	Body          map[string]any
}

// Receiver is a loopback stand-in for the SaaS registry's (or Subscription Manager's)
// asynchronous callback endpoint, served over TLS as https://localhost:<port>.
type Receiver struct {
	// URL is https://localhost:<port>.
	URL string

	server *httptest.Server

	mu        sync.Mutex
	callbacks []Callback
	status    int
	notify    chan struct{}
}

// NewReceiver starts a receiver with a certificate issued by ca.
func NewReceiver(t testing.TB, ca *CA) *Receiver {
	t.Helper()
	r := &Receiver{status: http.StatusOK, notify: make(chan struct{}, 1)}
	r.server = httptest.NewUnstartedServer(http.HandlerFunc(r.handle))
	leaf := ca.Issue(t, pkix.Name{CommonName: "localhost"})
	r.server.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS12}
	r.server.StartTLS()
	t.Cleanup(r.server.Close)
	_, port, _ := net.SplitHostPort(r.server.Listener.Addr().String())
	r.URL = "https://localhost:" + port
	return r
}

// SetStatus makes the receiver answer with code from now on.
func (r *Receiver) SetStatus(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = code
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	cb := Callback{
		Method:        req.Method,
		Path:          req.URL.Path,
		Authorization: req.Header.Get("Authorization"),
		ContentType:   req.Header.Get("Content-Type"),
	}
	data, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	_ = json.Unmarshal(data, &cb.Body)
	r.mu.Lock()
	r.callbacks = append(r.callbacks, cb)
	status := r.status
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(status)
}

// Callbacks returns the requests received so far.
func (r *Receiver) Callbacks() []Callback {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Callback(nil), r.callbacks...)
}

// ForPath returns the requests received for one callback path.
func (r *Receiver) ForPath(path string) []Callback {
	var out []Callback
	for _, cb := range r.Callbacks() {
		if cb.Path == path {
			out = append(out, cb)
		}
	}
	return out
}
