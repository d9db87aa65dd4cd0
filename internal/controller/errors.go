package controller

import (
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// requeueError asks the worker to process the key again after a delay without counting the
// sync as failed: the object is waiting for something no event will announce in time.
type requeueError struct {
	after  time.Duration
	reason string
}

// Error implements error.
func (e *requeueError) Error() string {
	return fmt.Sprintf("requeue after %s: %s", e.after, e.reason)
}

// RequeueAfter returns an error that makes the worker requeue the key after d (at least one
// millisecond: a zero or negative delay would spin the worker). reason is logged at debug
// level.
func RequeueAfter(d time.Duration, reason string) error {
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return &requeueError{after: d, reason: reason}
}

// IsRequeue reports whether err asks for a delayed requeue and returns the delay.
func IsRequeue(err error) (time.Duration, bool) {
	var r *requeueError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

// isNotFound reports whether a discovery error means the group version is not served.
func isNotFound(err error) bool {
	return apierrors.IsNotFound(err)
}
