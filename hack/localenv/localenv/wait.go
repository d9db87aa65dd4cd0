package localenv

import (
	"context"
	"fmt"
	"time"
)

// pollInterval is how often poll evaluates its condition.
const pollInterval = 250 * time.Millisecond

// poll evaluates cond every pollInterval until it returns true. It fails early when one of
// the operator's processes exits or ctx ends, and after timeout with cond's last error. An
// error from cond does not stop the polling (API calls may fail transiently).
func (s *Session) poll(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		for _, p := range s.Processes() {
			if !p.Running() {
				return fmt.Errorf("waiting for %s: %w", what, p.exitError())
			}
		}
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}
