package framework

import (
	"testing"
	"time"
)

func TestForbiddenPattern(t *testing.T) {
	tests := map[string]bool{
		// klog quotes the error value and escapes its quotes.
		`E1202 04:39:47.314122   24863 reflector.go:227] "Failed to watch" err="deployments.apps is forbidden: User \"system:serviceaccount:ns:capop-6a9d84-controller\" cannot watch resource \"deployments\"`: true,
		`deployments.apps is forbidden: User "system:serviceaccount:ns:sa" cannot create resource "deployments"`:                                                                                                true,
		// Not a missing permission.
		`events.events.k8s.io "x" is forbidden: unable to create new content in namespace t because it is being terminated`: false,
		`captenants.sme.sap.com "x" is forbidden: User "alice" cannot create resource "captenants"`:                         false,
	}
	for line, want := range tests {
		if got := forbiddenPattern.MatchString(line); got != want {
			t.Errorf("forbiddenPattern.MatchString(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestLogTime(t *testing.T) {
	near := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	for line, want := range map[string]time.Time{
		`{"level":"info","ts":"2026-12-02T05:55:06.908Z","msg":"Workers stopped"}`: time.Date(2026, 12, 2, 5, 55, 6, 908e6, time.UTC),
		`I1202 04:39:47.314122   24863 reflector.go:227] "Failed to watch"`:        time.Date(2026, 12, 2, 4, 39, 47, 314122e3, time.Local),
	} {
		got, ok := LogTime(line, near)
		if !ok || !got.Equal(want) {
			t.Errorf("LogTime(%q) = %v, %v; want %v", line, got, ok, want)
		}
	}
	if _, ok := LogTime("no header", near); ok {
		t.Error("LogTime found a time in a line without one")
	}
}
