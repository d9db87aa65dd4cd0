package localenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopGrace = 15 * time.Second

// Process is an operator binary running as a child of this process.
type Process struct {
	// Name is the command, e.g. "controller".
	Name string
	// LogPath is the file receiving the process's stdout and stderr.
	LogPath string
	// PID is the process id; the process leads its own process group.
	PID int

	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // valid after done is closed
}

// startProcess runs bin with args and extra environment variables, writing its output to
// logPath (truncated). The child gets its own process group, so that a terminal's Ctrl-C
// reaches only this program (which then stops it in order), and SIGKILL if this program dies.
func startProcess(name, bin, logPath string, args, extraEnv []string) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(logFile, "=== localenv: exec %s %s\n", strings.Join(extraEnv, " "), strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, PID: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exitError describes an exit, with the end of the log.
func (p *Process) exitError() error {
	return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.Name, p.err, p.LogPath, p.logTail(25))
}

// stop sends SIGTERM to the process group, SIGKILL after stopGrace, and waits for the exit.
// It reports an error if the process needed SIGKILL.
func (p *Process) stop() error {
	if !p.Running() {
		return nil
	}
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
	}
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("%s (pid %d) did not stop within %v of SIGTERM; killed it", p.Name, p.PID, stopGrace)
}

// logTail returns the last n lines of the log, indented.
func (p *Process) logTail(n int) string {
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("    (cannot read log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + string(bytes.Join(lines, []byte("\n    ")))
}

// waitHTTP polls url until it answers 200, failing early if the process exits.
func (p *Process) waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		last = err
		select {
		case <-p.done:
			return p.exitError()
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to serve %s: %w (last error: %v); last lines of %s:\n%s",
				p.Name, url, ctx.Err(), last, p.LogPath, p.logTail(25))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// freePort returns a TCP port on the loopback interface that was free a moment ago. A
// process started on it right away gets it unless another one takes it in between.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
