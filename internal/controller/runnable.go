package controller

import "context"

// Runnable is a controller as cmd/controller runs it: Run blocks until ctx is cancelled.
type Runnable interface {
	// Run waits for the controller's caches, then processes its queue with the given number of
	// workers until ctx is cancelled.
	Run(ctx context.Context, workers int) error
}
