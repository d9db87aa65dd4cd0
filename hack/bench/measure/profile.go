package measure

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ProfileChunk is the length of each CPU profile a Profiler takes; a phase's profile is the
// merge of its chunks, so it ends at most this long after the phase.
const ProfileChunk = 3 * time.Second

// Profiler takes consecutive CPU profiles of one process until stopped.
type Profiler struct {
	path   string
	chunks []string
	errs   []string
	done   chan struct{}
	// quit ends the chunks; closed once by StopProfilers, which may be called again.
	quit     chan struct{}
	quitOnce sync.Once
}

// StartHTTPProfiler profiles the binary whose net/http/pprof handlers are served at base
// (e.g. http://127.0.0.1:9090) into path.
func StartHTTPProfiler(base, path string) *Profiler {
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(ProfileChunk.Seconds()))
	return StartProfiler(path, func(chunk string) error { return Fetch(url, chunk) })
}

// StartProfiler takes consecutive CPU profiles with take, each into a file of its own, until
// stopped; Merge then merges them into path.
func StartProfiler(path string, take func(chunk string) error) *Profiler {
	p := &Profiler{path: path, done: make(chan struct{}), quit: make(chan struct{})}
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
				case <-time.After(ProfileChunk):
				}
				continue
			}
			p.chunks = append(p.chunks, chunk)
		}
	}()
	return p
}

// StopProfilers ends every profiler's chunks (each waits for its running chunk) before any is
// merged, so that no profile covers the merging of another. Stopping a stopped profiler does
// nothing.
func StopProfilers(ps ...*Profiler) {
	for _, p := range ps {
		p.quitOnce.Do(func() { close(p.quit) })
	}
	for _, p := range ps {
		<-p.done
	}
}

// Merge merges a stopped profiler's chunks with go tool pprof; it returns the profile's path,
// or what went wrong.
func (p *Profiler) Merge() string {
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

// HeapProfile saves the heap profile (after a garbage collection) of the binary whose pprof
// handlers are served at base into path; it returns the path, or what went wrong.
func HeapProfile(base, path string) string {
	if err := Fetch(base+"/debug/pprof/heap?gc=1", path); err != nil {
		return err.Error()
	}
	return path
}

// Fetch writes the body of a GET to path.
func Fetch(url, path string) error {
	resp, err := http.Get(url) //nolint:gosec // loopback URLs of binaries the bench started
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s (does the binary run with --profiling?)", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
