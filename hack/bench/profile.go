package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// profileChunk is the length of each CPU profile taken during a phase; a phase's profile is
// the merge of its chunks, so it ends at most this long after the phase.
const profileChunk = 3 * time.Second

// profiler takes consecutive CPU profiles of one process until stopped.
type profiler struct {
	path   string
	chunks []string
	errs   []string
	done   chan struct{}
	// quit ends the chunks; closed once by stopProfilers, which may be called again.
	quit     chan struct{}
	quitOnce sync.Once
}

// startProfile starts profiling the controller for a phase, into <dir>/<phase>.pprof, and the
// API server, into <dir>/<phase>.apiserver.pprof.
func (b *bench) startProfile(phase string) []*profiler {
	base := filepath.Join(b.cfg.cpuProfileDir, phase)
	apiserver := func(path string) error {
		data, err := b.kube.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(int(profileChunk.Seconds()))).DoRaw(context.Background())
		if err != nil {
			return fmt.Errorf("profiling kube-apiserver: %w", err)
		}
		return os.WriteFile(path, data, 0o644)
	}
	return []*profiler{
		startProfileAt(fmt.Sprintf("http://127.0.0.1:%d", b.port), base+".pprof"),
		startProfiler(base+".apiserver.pprof", apiserver),
	}
}

// startProfileAt starts profiling the binary whose --profiling endpoint is at base into path.
func startProfileAt(base, path string) *profiler {
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(profileChunk.Seconds()))
	return startProfiler(path, func(chunk string) error { return fetch(url, chunk) })
}

// startProfiler takes consecutive CPU profiles with take, each into a file of its own, until
// stopped; stop merges them into path.
func startProfiler(path string, take func(chunk string) error) *profiler {
	p := &profiler{path: path, done: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; ; i++ {
			select {
			case <-p.quit:
				return
			default:
			}
			chunk := fmt.Sprintf("%s.%03d", p.path, i)
			if err := take(chunk); err != nil {
				p.errs = append(p.errs, err.Error())
				select {
				case <-p.quit:
					return
				case <-time.After(profileChunk):
				}
				continue
			}
			p.chunks = append(p.chunks, chunk)
		}
	}()
	return p
}

// stopProfilers ends every profiler's chunks (each waits for its running chunk) before any is
// merged, so that no profile covers the merging of another. Stopping a stopped profiler does
// nothing.
func stopProfilers(ps ...*profiler) {
	for _, p := range ps {
		p.quitOnce.Do(func() { close(p.quit) })
	}
	for _, p := range ps {
		<-p.done
	}
}

// merge merges a stopped profiler's chunks with go tool pprof; it returns the profile's path,
// or what went wrong.
func (p *profiler) merge() string {
	if len(p.chunks) == 0 {
		return "none (" + strings.Join(p.errs, "; ") + ")"
	}
	out, err := os.Create(p.path)
	if err != nil {
		return err.Error()
	}
	defer out.Close()
	cmd := exec.Command("go", append([]string{"tool", "pprof", "-proto"}, p.chunks...)...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Sprintf("merging %d profiles: %v: %s", len(p.chunks), err, stderr.String())
	}
	for _, c := range p.chunks {
		_ = os.Remove(c)
	}
	return p.path
}

// heapProfile saves the controller's heap profile (after a garbage collection) at the end
// of a phase into <dir>/<phase>.heap.pprof; it returns the path, or what went wrong.
func (b *bench) heapProfile(phase string) string {
	path := filepath.Join(b.cfg.cpuProfileDir, phase+".heap.pprof")
	if err := fetch(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1", b.port), path); err != nil {
		return err.Error()
	}
	return path
}

// fetch writes the body of a GET to path.
func fetch(url, path string) error {
	resp, err := http.Get(url) //nolint:gosec // loopback URL of the controller started here
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s (does the controller run with --profiling?)", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
