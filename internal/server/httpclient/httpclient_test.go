package httpclient

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDoJSON(t *testing.T) {
	tests := map[string]struct {
		status  int
		body    string
		limit   int64
		want    string
		wantErr string
	}{
		"decodes a 200":          {status: http.StatusOK, body: `{"v":"ok"}`, limit: 100, want: "ok"},
		"names the status":       {status: http.StatusUnauthorized, body: `{}`, limit: 100, wantErr: "token request: HTTP 401"},
		"stops at the limit":     {status: http.StatusOK, body: `{"v":"` + strings.Repeat("x", 200) + `"}`, limit: 50, wantErr: "token request: unexpected EOF"},
		"refuses malformed JSON": {status: http.StatusOK, body: `not json`, limit: 100, wantErr: "token request: invalid character"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			var out struct{ V string }
			err = DoJSON(New(nil, nil, 5*time.Second), req, "token request", tc.limit, &out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("DoJSON error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || out.V != tc.want {
				t.Fatalf("DoJSON = %q, %v; want %q", out.V, err, tc.want)
			}
		})
	}
}
