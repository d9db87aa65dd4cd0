package pending

import (
	"testing"
	"time"
)

func TestMillis(t *testing.T) {
	tests := map[string]struct {
		value  any
		path   []string
		want   time.Duration
		wantOK bool
	}{
		"JSON string with string": {`{"callbackTimeoutMillis":"300000"}`, []string{"callbackTimeoutMillis"}, 5 * time.Minute, true},
		"JSON string with number": {`{"callbackTimeoutMillis":60000}`, []string{"callbackTimeoutMillis"}, time.Minute, true},
		"object, nested":          {map[string]any{"subscriptionCallbacks": map[string]any{"async": map[string]any{"timeoutInMillis": 1000.0}}}, []string{"subscriptionCallbacks", "async", "timeoutInMillis"}, time.Second, true},
		"nested JSON string":      {`{"subscriptionCallbacks":{"async":{"timeoutInMillis":"2000"}}}`, []string{"subscriptionCallbacks", "async", "timeoutInMillis"}, 2 * time.Second, true},
		"missing":                 {`{}`, []string{"callbackTimeoutMillis"}, 0, false},
		"not JSON":                {`nope`, []string{"callbackTimeoutMillis"}, 0, false},
		"not a number":            {`{"callbackTimeoutMillis":"soon"}`, []string{"callbackTimeoutMillis"}, 0, false},
		"absent credential":       {nil, []string{"callbackTimeoutMillis"}, 0, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ms, ok := millis(tc.value, tc.path)
			if ok != tc.wantOK || time.Duration(ms)*time.Millisecond != tc.want {
				t.Fatalf("millis = %d, %v; want %v, %v", ms, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// FuzzMillis feeds arbitrary strings to millis as credentials values: it must never panic.
func FuzzMillis(f *testing.F) {
	f.Add(`{"a":{"b":"5000"}}`)
	f.Add(`{"a":"{\"b\":1}"}`)
	f.Add(`[1,2]`)
	f.Fuzz(func(_ *testing.T, s string) {
		_, _ = millis(s, []string{"a", "b"})
	})
}
