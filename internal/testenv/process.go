package testenv

import (
	"errors"
	"path/filepath"

	"github.com/capstan-io/capstan/internal/testenv/proc"
)

// ProcessInfo describes a process started by an environment.
type ProcessInfo struct {
	// Name is the component name, e.g. "kube-apiserver".
	Name string
	// PID is the process id; the process is also its process group leader.
	PID int
	// LogPath is the file receiving the process's stdout and stderr.
	LogPath string
}

// startProcess starts binary bin from the environment's bin directory with
// args, logging to <env dir>/<name>.log, in its own process group.
func (e *Env) startProcess(name, bin string, args ...string) (*proc.Process, error) {
	p, err := proc.Prepare(name, filepath.Join(e.BinDir, bin), e.Dir, filepath.Join(e.Dir, name+".log"), args...)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		p.Discard()
		return nil, errors.New("environment is stopped")
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	return p, nil
}
