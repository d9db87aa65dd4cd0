package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// forEachTenant runs fn for every tenant index with bounded concurrency.
func (b *bench) forEachTenant(fn func(i int) error) error {
	return runParallel(b.cfg.tenants, fn)
}

// runParallel runs fn(0..n-1) on parallelism goroutines and returns the first error.
func runParallel(n int, fn func(i int) error) error {
	work := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range parallelism {
		wg.Go(func() {
			for i := range work {
				if err := fn(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

// waitTenants waits until every tenant satisfies done.
func (b *bench) waitTenants(ctx context.Context, what string, done func(*v1alpha1.CAPTenant) bool) error {
	return b.poll(ctx, "tenants "+what, func() (bool, string, error) {
		n := 0
		for _, obj := range b.tenants.List() {
			if done(obj.(*v1alpha1.CAPTenant)) {
				n++
			}
		}
		return n == b.cfg.tenants, fmt.Sprintf("%d/%d", n, b.cfg.tenants), nil
	})
}

// poll calls cond every 250 ms until it is true or the phase timeout passes, printing
// progress every five seconds.
func (b *bench) poll(ctx context.Context, what string, cond func() (bool, string, error)) error {
	deadline := time.Now().Add(b.cfg.timeout)
	lastPrint := time.Now()
	for {
		ok, progress, err := cond()
		if ok {
			return nil
		}
		if time.Since(lastPrint) > 5*time.Second {
			fmt.Printf("bench:   waiting for %s: %s %v\n", what, progress, err)
			lastPrint = time.Now()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s (%s, last error %v); controller log: %s", what, progress, err, b.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
