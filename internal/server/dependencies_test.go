package server

import (
	"testing"
)

func TestAutoDependency(t *testing.T) {
	tests := map[string]struct {
		class, plan string
		creds       map[string]any
		want        bool
	}{
		"destination":         {"destination", "lite", nil, true},
		"connectivity":        {"connectivity", "", nil, true},
		"auditlog oauth2":     {"auditlog", "oauth2", nil, true},
		"auditlog standard":   {"auditlog", "standard", nil, false},
		"saas enabled bool":   {"html5-apps-repo", "", map[string]any{"saasregistryenabled": true}, true},
		"saas enabled string": {"x", "", map[string]any{"saasregistryenabled": "true"}, true},
		"saas disabled":       {"x", "", map[string]any{"saasregistryenabled": false}, false},
		"plain service":       {"xsuaa", "application", map[string]any{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := autoDependency(tc.class, tc.plan, tc.creds); got != tc.want {
				t.Fatalf("autoDependency = %v, want %v", got, tc.want)
			}
		})
	}
}
