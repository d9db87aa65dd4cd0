package measure

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestScrape(t *testing.T) {
	const body = `# HELP cap_op_rest_client_requests_total Requests.
# TYPE cap_op_rest_client_requests_total counter
cap_op_rest_client_requests_total{code="200",host="h",method="GET"} 900
cap_op_rest_client_requests_total{code="200",host="h",method="LIST"} 12
cap_op_rest_client_requests_total{code="201",host="h",method="POST"} 40
cap_op_rest_client_requests_total{code="200",host="h",method="PUT"} 30
cap_op_rest_client_requests_total{code="409",host="h",method="PUT"} 2
cap_op_rest_client_requests_total{code="200",host="other",method="PUT"} 5
process_resident_memory_bytes 1.2582912e+07
process_virtual_memory_bytes 9e+09
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }))
	defer srv.Close()
	writes, err := Scrape(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"POST": 40, "PUT": 35, "PUT 409": 2}
	if !maps.Equal(writes, want) {
		t.Errorf("writes %v, want %v (reads left out, refused ones apart)", writes, want)
	}
}

func TestScrapeRefusesAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	if _, err := Scrape(srv.URL); err == nil {
		t.Error("no error for a 503 answer")
	}
}
