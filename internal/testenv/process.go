package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// logHeader starts the line written to a process log before each start.
const logHeader = "=== testenv: exec "

// stopGrace is how long Stop waits after SIGTERM before sending SIGKILL.
const stopGrace = 5 * time.Second

// process is one child process of an environment.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{} // closed when the process has exited and been reaped
	waitErr error         // valid after done is closed
}

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
func (e *Env) startProcess(name, bin string, args ...string) (*process, error) {
	logPath := filepath.Join(e.Dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(e.BinDir, bin), args...)
	// The header separates restarts after a port collision; see logTail.
	fmt.Fprintf(logFile, "%s%s\n", logHeader, strings.Join(cmd.Args, " "))
	cmd.Dir = e.Dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	p := &process{name: name, cmd: cmd, logPath: logPath, logFile: logFile, done: make(chan struct{})}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		logFile.Close()
		return nil, errors.New("environment is stopped")
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	e.procs = append(e.procs, p)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes an unexpected exit, including the tail of the log.
func (p *process) exitError() error {
	return fmt.Errorf("%s exited unexpectedly (%v); last lines of %s:\n%s",
		p.name, p.waitErr, p.logPath, p.logTail(30))
}

// signalGroup sends sig to the process group of p, unless p has exited.
func (p *process) signalGroup(sig syscall.Signal) {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// logTail returns the last n lines the process wrote to its log (since the
// last start, when it was started more than once).
func (p *process) logTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	if i := bytes.LastIndex(data, []byte(logHeader)); i >= 0 {
		data = data[i:]
		if j := bytes.IndexByte(data, '\n'); j >= 0 {
			data = data[j+1:]
		}
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.ReplaceAll(string(bytes.Join(lines, []byte("\n"))), "\n", "\n    ")
}

// stopProcesses terminates every process and verifies that no member of
// their process groups survived. procs[0] is etcd, which the others use: it
// is stopped last, because while it runs kube-apiserver shuts down in about
// a second, but takes half a minute once etcd is gone (and etcd waits for
// the API server's watches to end).
func stopProcesses(procs []*process) error {
	if len(procs) == 0 {
		return nil
	}
	errs := []error{terminate(procs[1:]), terminate(procs[:1])}
	for _, p := range procs {
		// The leader is reaped; kill stragglers left in its group, if any.
		if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err == nil {
			errs = append(errs, fmt.Errorf("%s (pid %d) left processes in its process group; killed them", p.name, p.cmd.Process.Pid))
		}
	}
	return errors.Join(errs...)
}

// terminate sends SIGTERM to the process groups of procs, SIGKILL to those
// still running after stopGrace, and waits until all are reaped.
func terminate(procs []*process) error {
	for _, p := range procs {
		p.signalGroup(syscall.SIGTERM)
	}
	deadline := time.Now().Add(stopGrace)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(time.Until(deadline)):
			p.signalGroup(syscall.SIGKILL)
		}
	}
	var errs []error
	for _, p := range procs {
		select {
		case <-p.done:
			p.logFile.Close()
		case <-time.After(stopGrace):
			errs = append(errs, fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, p.cmd.Process.Pid))
		}
	}
	return errors.Join(errs...)
}
