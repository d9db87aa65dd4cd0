package framework

import "testing"

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
