// Package proc runs the child processes of a test environment: each in its own process
// group, logging to a file, killed by the kernel when the test binary dies (on Linux), and
// stopped with SIGTERM, then SIGKILL after a grace period.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// logHeader starts the line written to a process log before each start.
const logHeader = "=== testenv: exec "

// stopGrace is how long Terminate waits after SIGTERM before sending SIGKILL.
const stopGrace = 5 * time.Second

// Process is one child process.
type Process struct {
	// Name is the component name, e.g. "kube-apiserver".
	Name string
	// LogPath is the file receiving the process's stdout and stderr.
	LogPath string
	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{} // closed when the process has exited and been reaped
	waitErr error         // valid after done is closed
}

// Prepare opens the log (appending to it) and builds the command that runs the binary bin
// with args in dir, in its own process group; Start runs it.
func Prepare(name, bin, dir, logPath string, args ...string) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// The header separates restarts after a port collision; see LogTail.
	fmt.Fprintf(logFile, "%s%s\n", logHeader, strings.Join(cmd.Args, " "))
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	return &Process{Name: name, cmd: cmd, LogPath: logPath, logFile: logFile, done: make(chan struct{})}, nil
}

// Start runs a prepared process and reaps it in the background.
func (p *Process) Start() error {
	if err := p.cmd.Start(); err != nil {
		p.Discard()
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return nil
}

// Discard closes the log of a process that is not started.
func (p *Process) Discard() { _ = p.logFile.Close() }

// PID is the process id of a started process; the process leads its process group.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitError describes an unexpected exit, including the tail of the log.
func (p *Process) ExitError() error {
	return fmt.Errorf("%s exited unexpectedly (%v); last lines of %s:\n%s",
		p.Name, p.waitErr, p.LogPath, p.LogTail(30))
}

// signalGroup sends sig to the process group of p, unless p has exited.
func (p *Process) signalGroup(sig syscall.Signal) {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// LogTail returns the last n lines the process wrote to its log (since the
// last start, when it was started more than once).
func (p *Process) LogTail(n int) string {
	data, err := os.ReadFile(p.LogPath)
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

// StopAll terminates every process and verifies that no member of
// their process groups survived. procs[0] is etcd, which the others use: it
// is stopped last, because while it runs kube-apiserver shuts down in about
// a second, but takes half a minute once etcd is gone (and etcd waits for
// the API server's watches to end).
func StopAll(procs []*Process) error {
	if len(procs) == 0 {
		return nil
	}
	errs := []error{Terminate(procs[1:]), Terminate(procs[:1])}
	for _, p := range procs {
		// The leader is reaped; kill stragglers left in its group, if any.
		if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err == nil {
			errs = append(errs, fmt.Errorf("%s (pid %d) left processes in its process group; killed them", p.Name, p.cmd.Process.Pid))
		}
	}
	return errors.Join(errs...)
}

// Terminate sends SIGTERM to the process groups of procs, SIGKILL to those
// still running after stopGrace, and waits until all are reaped.
func Terminate(procs []*Process) error {
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
			errs = append(errs, fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, p.cmd.Process.Pid))
		}
	}
	return errors.Join(errs...)
}
