package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// profileChunk is the length of each CPU profile taken during a phase; a phase's profile is
// the merge of its chunks, so it ends at most this long after the phase.
const profileChunk = 3 * time.Second

// profiler takes consecutive CPU profiles of the controller (its --profiling endpoint) until
// stopped.
type profiler struct {
	path   string
	chunks []string
	errs   []string
	done   chan struct{}
	quit   chan struct{}
}

// startProfile starts profiling the controller for a phase, into <dir>/<phase>.pprof.
func (b *bench) startProfile(phase string) *profiler {
	p := &profiler{path: filepath.Join(b.cfg.cpuProfileDir, phase+".pprof"), done: make(chan struct{}), quit: make(chan struct{})}
	url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", b.port, int(profileChunk.Seconds()))
	go func() {
		defer close(p.done)
		for i := 0; ; i++ {
			select {
			case <-p.quit:
				return
			default:
			}
			chunk := fmt.Sprintf("%s.%03d", p.path, i)
			if err := fetch(url, chunk); err != nil {
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

// stop waits for the running chunk and merges the chunks with go tool pprof; it returns the
// profile's path, or what went wrong.
func (p *profiler) stop() string {
	close(p.quit)
	<-p.done
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
