package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/capstan-io/capstan/internal/server"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// crashingTransport simulates the server process dying at one write: requests matching
// method and path panic, before the request is sent or after its answer arrived. The panic
// unwinds the handler without any of its clean-up, which is what a crash leaves behind.
type crashingTransport struct {
	next         http.RoundTripper
	method, path string
	afterWrite   bool
}

func (c *crashingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != c.method || !strings.Contains(req.URL.Path, c.path) {
		return c.next.RoundTrip(req)
	}
	if !c.afterWrite {
		panic("injected crash before " + c.method + " " + req.URL.Path)
	}
	resp, err := c.next.RoundTrip(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	panic("injected crash after " + c.method + " " + req.URL.Path)
}

// crashingSME is a client of the sme.sap.com API that crashes at the matching write.
func crashingSME(t *testing.T, method, path string, afterWrite bool) smeclient.Interface {
	t.Helper()
	cfg := rest.CopyConfig(testenv.Current().Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &crashingTransport{next: rt, method: method, path: path, afterWrite: afterWrite}
	})
	client, err := smeclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// TestCallbackCrashWindows crashes a subscription between its writes (the pending-callback
// record, then the tenant) and starts a new instance: the callback is delivered all the same,
// FAILED when the tenant was never created, SUCCEEDED when it was and became Ready.
func TestCallbackCrashWindows(t *testing.T) {
	tests := map[string]struct {
		// afterWrite crashes once the tenant was created instead of before.
		afterWrite bool
		wantStatus string
	}{
		"crash before the tenant is created": {afterWrite: false, wantStatus: "FAILED"},
		"crash after the tenant is created":  {afterWrite: true, wantStatus: "SUCCEEDED"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			crashing := f.newServer("server-crashing", server.Options{SME: crashingSME(t, http.MethodPost, "/captenants", tc.afterWrite)})
			path := callbackPrefix + "crash/result"
			resp := do(t, crashing, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "g-1", "sub-1"),
				map[string]string{"Authorization": f.token(), "STATUS_CALLBACK": path})
			if resp.code != http.StatusInternalServerError {
				t.Fatalf("PUT = %d %s, want the 500 of the injected crash", resp.code, resp.body)
			}
			_ = crashing.Shutdown(context.Background())
			if n := len(f.records()); n != 1 {
				t.Fatalf("%d pending-callback records after the crash, want 1", n)
			}
			if cat := f.tenant("t-1"); (cat != nil) != tc.afterWrite {
				t.Fatalf("tenant after the crash = %v, want it to exist: %v", cat, tc.afterWrite)
			}

			// The next instance resumes the record. A short request timeout lets it decide a
			// missing tenant soon (it waits that long, plus a grace, for the crashed request).
			next := f.newServer("server-next", server.Options{RequestTimeout: 2 * time.Second})
			t.Cleanup(func() { _ = next.Shutdown(context.Background()) })
			if tc.afterWrite {
				f.setState(f.tenant("t-1"), v1alpha1.CAPTenantStateReady)
			} else {
				f.assertNoTenants()
			}
			got := f.awaitCallbacks(path, 1)
			if got[0].Body["status"] != tc.wantStatus {
				t.Fatalf("callback = %v, want %s", got[0].Body, tc.wantStatus)
			}
		})
	}
}
