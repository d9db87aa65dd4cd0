package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/capstan-io/capstan/internal/server"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestCallbackSurvivesRestart stops the server between the request and the tenant's outcome
// and starts a new instance against the same cluster: the callback is sent exactly once.
func TestCallbackSurvivesRestart(t *testing.T) {
	tests := map[string]struct {
		// readyWhileDown sets the outcome while no server runs (the new instance finds it at
		// start) instead of after the new instance started (it learns it from the watch).
		readyWhileDown bool
	}{
		"outcome after the restart":    {readyWhileDown: false},
		"outcome while no server runs": {readyWhileDown: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			first := f.newServer("server-first", server.Options{})
			path := callbackPrefix + "restart/result"
			resp := do(t, first, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "g-1", "sub-1"),
				map[string]string{"Authorization": f.token(), "STATUS_CALLBACK": path})
			if resp.code != http.StatusAccepted {
				t.Fatalf("PUT = %d %s", resp.code, resp.body)
			}
			if err := first.Shutdown(context.Background()); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if n := len(f.records()); n != 1 {
				t.Fatalf("%d pending-callback records after shutdown, want 1", n)
			}
			cat := f.tenant("t-1")
			if tc.readyWhileDown {
				f.setState(cat, v1alpha1.CAPTenantStateReady)
			}
			f.startServer("server-second")
			if !tc.readyWhileDown {
				f.assertNoCallback(path)
				f.setState(cat, v1alpha1.CAPTenantStateReady)
			}
			got := f.awaitCallbacks(path, 1)
			if got[0].Body["status"] != "SUCCEEDED" {
				t.Fatalf("callback = %v, want SUCCEEDED", got[0].Body)
			}
		})
	}
}

// TestTwoInstancesSendOnce runs two servers against the same cluster (as during a rolling
// update): both resume the same record, but only one sends the callback.
func TestTwoInstancesSendOnce(t *testing.T) {
	f := newFixture(t)
	first := f.newServer("server-first", server.Options{})
	path := callbackPrefix + "two/result"
	resp := do(t, first, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "g-1", "sub-1"),
		map[string]string{"Authorization": f.token(), "STATUS_CALLBACK": path})
	if resp.code != http.StatusAccepted {
		t.Fatalf("PUT = %d %s", resp.code, resp.body)
	}
	t.Cleanup(func() { _ = first.Shutdown(context.Background()) })
	f.startServer("server-second") // resumes the record the first one is waiting on
	f.setState(f.tenant("t-1"), v1alpha1.CAPTenantStateReady)
	f.awaitCallbacks(path, 1)
	// Both instances have finished with the record once it is gone; a late duplicate would
	// have been sent before the record was deleted.
	testenv.Eventually(t, waitTimeout, func() (bool, error) { return len(f.records()) == 0, nil })
	if n := len(f.receiver.ForPath(path)); n != 1 {
		t.Fatalf("%d callbacks, want exactly 1", n)
	}
}

// TestCallbackRetried makes the callback receiver fail: the server retries until it succeeds,
// and deletes the record only then.
func TestCallbackRetried(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	f.receiver.SetStatus(http.StatusServiceUnavailable)
	path := callbackPrefix + "retry/result"
	resp := do(t, srv, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "g-1", "sub-1"),
		map[string]string{"Authorization": f.token(), "STATUS_CALLBACK": path})
	if resp.code != http.StatusAccepted {
		t.Fatalf("PUT = %d %s", resp.code, resp.body)
	}
	f.setState(f.tenant("t-1"), v1alpha1.CAPTenantStateReady)
	testenv.Eventually(t, waitTimeout, func() (bool, error) { return len(f.receiver.ForPath(path)) >= 1, nil })
	if len(f.records()) != 1 {
		t.Fatal("the record was deleted although the callback failed")
	}
	f.receiver.SetStatus(http.StatusOK)
	testenv.Eventually(t, waitTimeout, func() (bool, error) { return len(f.records()) == 0, nil })
	got := f.receiver.ForPath(path)
	if len(got) < 2 || got[len(got)-1].Body["status"] != "SUCCEEDED" {
		t.Fatalf("callbacks = %+v, want failed attempts followed by a SUCCEEDED one", got)
	}
}
