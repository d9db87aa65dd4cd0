package app

import (
	"strings"
	"testing"
	"time"
)

func TestLeaderElectionTimingValidate(t *testing.T) {
	tests := map[string]struct {
		timing  LeaderElectionTiming
		wantErr string
	}{
		"defaults of the previous implementation": {timing: defaultLeaderElectionTiming},
		"shorter takeover":                        {timing: LeaderElectionTiming{LeaseDuration: 8 * time.Second, RenewDeadline: 6 * time.Second, RetryPeriod: 2 * time.Second}},
		"renew deadline within the jittered retry period": {timing: LeaderElectionTiming{LeaseDuration: 15 * time.Second, RenewDeadline: 6 * time.Second, RetryPeriod: 5 * time.Second},
			wantErr: "--leader-elect-renew-deadline must exceed"},
		"lease not longer than the renew deadline": {timing: LeaderElectionTiming{LeaseDuration: 10 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 5 * time.Second},
			wantErr: "--leader-elect-lease-duration must exceed"},
		"no retry period": {timing: LeaderElectionTiming{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second},
			wantErr: "--leader-elect-retry-period must be positive"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.timing.validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("validate() = %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
