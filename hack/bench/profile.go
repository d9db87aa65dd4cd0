package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/capstan-io/capstan/hack/bench/measure"
)

// startProfile starts profiling the controller for a phase, into <dir>/<phase>.pprof, and the
// API server, into <dir>/<phase>.apiserver.pprof.
func (b *bench) startProfile(phase string) []*measure.Profiler {
	base := filepath.Join(b.cfg.cpuProfileDir, phase)
	apiserver := func(path string) error {
		data, err := b.kube.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(int(measure.ProfileChunk.Seconds()))).DoRaw(context.Background())
		if err != nil {
			return fmt.Errorf("profiling kube-apiserver: %w", err)
		}
		return os.WriteFile(path, data, 0o644)
	}
	return []*measure.Profiler{
		measure.StartHTTPProfiler(b.opsURL, base+".pprof"),
		measure.StartProfiler(base+".apiserver.pprof", apiserver),
	}
}

// heapProfile saves the controller's heap profile (after a garbage collection) at the end
// of a phase into <dir>/<phase>.heap.pprof; it returns the path, or what went wrong.
func (b *bench) heapProfile(phase string) string {
	return measure.HeapProfile(b.opsURL, filepath.Join(b.cfg.cpuProfileDir, phase+".heap.pprof"))
}
