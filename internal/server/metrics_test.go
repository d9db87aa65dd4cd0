package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestInFlightAlias checks that the in-flight gauge is exported under the documented name
// and under the previous implementation's name, both counting the same requests.
func TestInFlightAlias(t *testing.T) {
	m := newMetrics()
	rm := m.families[familySaaS]
	var during [2]float64
	h := m.instrument(familySaaS, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		during = [2]float64{testutil.ToFloat64(rm.inflight), testutil.ToFloat64(rm.inflightAlias)}
		w.WriteHeader(http.StatusAccepted)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/provision/tenants/t", nil))
	if during != [2]float64{1, 1} {
		t.Errorf("in flight during the request: %v, want both 1", during)
	}
	if a, b := testutil.ToFloat64(rm.inflight), testutil.ToFloat64(rm.inflightAlias); a != 0 || b != 0 {
		t.Errorf("in flight after the request: %v %v", a, b)
	}
	for _, name := range []string{"cap_op_subscription_requests_inflight", "cap_op_subscription_requests_in_flight", "cap_op_dependencies_requests_sms_in_flight"} {
		if n, err := testutil.GatherAndCount(m.registry, name); err != nil || n != 1 {
			t.Errorf("%s: %d series, %v", name, n, err)
		}
	}
}
