package testenv

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Package state shared by every environment of the process.
var (
	// liveMu guards live.
	liveMu sync.Mutex
	// live holds every environment that has been started and not stopped.
	live = map[*Env]struct{}{}
	// signalsOnce installs the signal handler once per process.
	signalsOnce sync.Once
	// stopHooks run, guarded by liveMu, before a signal stops the environments.
	stopHooks []func()
)

// OnStop registers f to run when SIGINT or SIGTERM stops every environment,
// before they are stopped: a program can end the processes it started
// against an environment while its API server still answers. Hooks run in
// registration order and must be safe to call after the program stopped
// those processes itself.
func OnStop(f func()) {
	liveMu.Lock()
	defer liveMu.Unlock()
	stopHooks = append(stopHooks, f)
}

// register records a starting environment and installs the signal handler.
func register(e *Env) {
	signalsOnce.Do(handleSignals)
	liveMu.Lock()
	defer liveMu.Unlock()
	live[e] = struct{}{}
}

// unregister forgets a stopped environment.
func unregister(e *Env) {
	liveMu.Lock()
	defer liveMu.Unlock()
	delete(live, e)
}

// stopAll stops every live environment.
func stopAll() {
	for _, e := range liveEnvs() {
		if err := e.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stopping environment %s: %v\n", e.Dir, err)
		}
	}
}

// handleSignals makes SIGINT and SIGTERM stop every live environment before
// the process exits with status 128+signal, so Ctrl-C during `go test`
// leaves no stray control-plane processes or temporary directories.
func handleSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		fmt.Fprintf(os.Stderr, "testenv: received %v, stopping test environments\n", sig)
		liveMu.Lock()
		hooks := append([]func(){}, stopHooks...)
		liveMu.Unlock()
		for _, f := range hooks {
			f()
		}
		stopAll()
		code := 1
		if s, ok := sig.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		os.Exit(code)
	}()
}

// liveEnvs returns the environments started and not yet stopped.
func liveEnvs() []*Env {
	liveMu.Lock()
	defer liveMu.Unlock()
	envs := make([]*Env, 0, len(live))
	for e := range live {
		envs = append(envs, e)
	}
	return envs
}
