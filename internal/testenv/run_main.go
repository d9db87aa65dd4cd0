package testenv

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync/atomic"
	"testing"
)

// current is the environment started by RunMain.
var current atomic.Pointer[Env]

// Current returns the environment RunMain started for this test binary. It
// panics when called without RunMain, which is a programming error.
func Current() *Env {
	e := current.Load()
	if e == nil {
		panic("testenv.Current called without testenv.RunMain in TestMain")
	}
	return e
}

// RunMain is a TestMain body: it starts one environment for the test
// package, makes it available through Current, runs the tests, stops the
// environment and exits. A start failure or a panic is reported on stderr
// and ends the binary with status 1; Stop runs in every case.
//
//	func TestMain(m *testing.M) { testenv.RunMain(m, testenv.Options{E2E: true}) }
func RunMain(m *testing.M, opts Options) {
	os.Exit(runMain(m, opts))
}

// runMain implements RunMain and returns the exit status.
func runMain(m *testing.M, opts Options) (code int) {
	env, err := Start(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	current.Store(env)
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "FAIL: panic in test binary: %v\n%s\n", r, debug.Stack())
			code = 1
		}
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: testenv: stopping environment: %v\n", err)
			code = 1
		}
		current.Store(nil)
	}()
	return m.Run()
}
