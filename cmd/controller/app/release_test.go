package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// recordingLock is a resourcelock.Interface that records the holders it is updated to.
type recordingLock struct {
	resourcelock.Interface
	updates chan string
}

func (l *recordingLock) Update(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.updates <- r.HolderIdentity
	return nil
}

func TestReleaseAfterStopWaitsForTheWorkers(t *testing.T) {
	inner := &recordingLock{updates: make(chan string, 2)}
	stopped := make(chan struct{})
	lock := &releaseAfterStop{Interface: inner, stopped: stopped}
	ctx := context.Background()

	// Renewals pass at once.
	if err := lock.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "me"}); err != nil || <-inner.updates != "me" {
		t.Fatalf("renewal: %v", err)
	}
	// The release waits until the workers stopped.
	released := make(chan error, 1)
	go func() { released <- lock.Update(ctx, resourcelock.LeaderElectionRecord{}) }()
	select {
	case h := <-inner.updates:
		t.Fatalf("released the Lease (holder %q) while the workers ran", h)
	case <-time.After(50 * time.Millisecond): // a negative check: nothing may happen
	}
	close(stopped)
	if err := <-released; err != nil || <-inner.updates != "" {
		t.Fatalf("release after the workers stopped: %v", err)
	}

	// Workers that do not stop within the release's deadline keep the Lease held.
	lock = &releaseAfterStop{Interface: inner, stopped: make(chan struct{})}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := lock.Update(short, resourcelock.LeaderElectionRecord{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("release with running workers: %v, want the deadline error", err)
	}
	if len(inner.updates) != 0 {
		t.Error("the Lease was released although the workers still ran")
	}
}
