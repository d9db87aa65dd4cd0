package tenant

import (
	"slices"
	"time"
)

// minVersionHistory is the length below which the version history is never shortened.
const minVersionHistory = 3

// PushHistory returns the version history after the current version changed from old: old is
// appended (oldest first), then the oldest entries are dropped while the history is longer
// than maxLen, but never below three entries.
func PushHistory(history []string, old string, maxLen int) []string {
	out := slices.Clone(history)
	if old != "" {
		out = append(out, old)
	}
	for len(out) > minVersionHistory && len(out) > maxLen {
		out = out[1:]
	}
	return out
}

// RetryPolicy bounds the automatic retries of failed tenant operations.
type RetryPolicy struct {
	// InitialDelay is the delay before the first retry; it doubles per attempt.
	InitialDelay time.Duration
	// MaxDelay caps the delay.
	MaxDelay time.Duration
	// MaxAttempts is the number of automatic retries (0 disables them).
	MaxAttempts int
}

// Delay returns how long to wait after the failure of the given attempt (1 for the first
// run) before the next one: InitialDelay doubled per earlier attempt, capped at MaxDelay.
func (p RetryPolicy) Delay(attempt int) time.Duration {
	d := p.InitialDelay
	// Stop doubling at the cap (or after 30 doublings when uncapped) so d cannot overflow.
	for i := 1; i < attempt && i <= 30; i++ {
		if p.MaxDelay > 0 && d >= p.MaxDelay {
			break
		}
		d *= 2
	}
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	return max(d, 0)
}
