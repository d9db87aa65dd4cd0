package testenv

import (
	"testing"
	"time"
)

// PollInterval is how often Eventually evaluates its condition.
const PollInterval = 100 * time.Millisecond

// Eventually polls cond every PollInterval until it returns true, failing
// the test (t.Fatalf) if that does not happen within timeout. An error
// returned by cond does not stop the polling (API calls may fail
// transiently); the last one is reported on timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("Eventually: %v", err)
	}
}

// Poll is Eventually without a test: it returns an error describing the
// timeout (with cond's last error) instead of failing a test.
func Poll(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			if last != nil {
				return &timeoutError{timeout: timeout, last: last}
			}
			return &timeoutError{timeout: timeout}
		}
		time.Sleep(PollInterval)
	}
}

// timeoutError reports a condition that did not become true in time.
type timeoutError struct {
	timeout time.Duration
	last    error
}

// Error implements error.
func (e *timeoutError) Error() string {
	if e.last != nil {
		return "condition not met within " + e.timeout.String() + "; last error: " + e.last.Error()
	}
	return "condition not met within " + e.timeout.String()
}

// Unwrap returns the condition's last error.
func (e *timeoutError) Unwrap() error { return e.last }
