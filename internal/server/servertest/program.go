package servertest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Program lets a program (the local demo environment, the bench) use the testing.TB-based
// helpers of this package outside a test: Fatal ends the function Do runs (Do turns it into
// an error) and Cleanup functions run on RunCleanups. Any other testing.TB method is not used
// by those helpers and panics (the embedded interface is nil).
type Program struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
}

// fatal is the panic value of Fatal and Fatalf.
type fatal struct{ err error }

// Helper implements testing.TB.
func (*Program) Helper() {}

// Fatal implements testing.TB: it ends the function that Do runs.
func (*Program) Fatal(args ...any) { panic(fatal{errors.New(fmt.Sprint(args...))}) }

// Fatalf implements testing.TB: it ends the function that Do runs.
func (*Program) Fatalf(format string, args ...any) { panic(fatal{fmt.Errorf(format, args...)}) }

// Cleanup implements testing.TB.
func (p *Program) Cleanup(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}

// Do runs f and returns the error of a Fatal call in it; other panics propagate.
func (*Program) Do(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			ft, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			err = ft.err
		}
	}()
	f()
	return nil
}

// RunCleanups runs the Cleanup functions, last registered first, and forgets them.
func (p *Program) RunCleanups() {
	p.mu.Lock()
	fs := p.cleanups
	p.cleanups = nil
	p.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
