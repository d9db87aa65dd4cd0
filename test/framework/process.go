// Package framework holds helpers for end-to-end tests: building the operator's binaries and
// running them as processes against a test environment, and creating the Secrets and objects
// of the published examples.
package framework

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/capstan-io/capstan/internal/testenv"
)

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Binary builds one of the operator's commands (e.g. "controller") once per test binary and
// returns the path of the executable.
func Binary(t testing.TB, env *testenv.Env, command string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if path, ok := built[command]; ok {
		return path
	}
	dir, err := os.MkdirTemp("", "capstan-bin-")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, command)
	cmd := exec.Command("go", "build", "-o", path, "./cmd/"+command)
	cmd.Dir = env.RepoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", command, err, out)
	}
	built[command] = path
	return path
}

// Process is an operator binary running against the test environment.
type Process struct {
	// Name identifies the process in logs.
	Name string
	// LogPath is the file receiving its output.
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
	// forbiddenUntil is set by AllowForbiddenUntil.
	forbiddenUntil atomic.Pointer[time.Time]
}

// Start runs a built command with the environment's kubeconfig, extra arguments and
// environment variables. Output goes to a log file that is printed when the test fails. The
// process is stopped when the test ends.
func Start(t testing.TB, env *testenv.Env, command string, args []string, extraEnv ...string) *Process {
	t.Helper()
	bin := Binary(t, env, command)
	logFile, err := os.CreateTemp("", "capstan-"+command+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--kubeconfig=" + env.KubeconfigPath}, args...)...)
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", command, err)
	}
	p := &Process{Name: command, LogPath: logFile.Name(), cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			data, _ := os.ReadFile(p.LogPath)
			t.Logf("log of %s:\n%s", command, tail(data, 8000))
		}
		_ = os.Remove(p.LogPath)
	})
	return p
}

// Stop sends SIGTERM and waits for the process to exit, killing it after a grace period.
func (p *Process) Stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within 20s of SIGTERM", p.Name)
	}
}

// Kill stops the process at once, as a crash would.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Exited reports whether the process has ended, and its exit code.
func (p *Process) Exited() (bool, int) {
	select {
	case <-p.done:
		return true, p.cmd.ProcessState.ExitCode()
	default:
		return false, 0
	}
}

// tail returns the last n bytes of data.
func tail(data []byte, n int) string {
	if len(data) > n {
		return fmt.Sprintf("...\n%s", data[len(data)-n:])
	}
	return string(data)
}
