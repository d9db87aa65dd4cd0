package testenv

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/capstan-io/capstan/internal/testenv/tools"
)

// helperEnv makes the test binary act as a helper process (see runHelper).
const helperEnv = "CAPSTAN_TESTENV_HELPER"

// minimalOptions start only etcd and kube-apiserver, without CRDs.
var minimalOptions = Options{CRDDirs: []string{}, SkipThirdPartyCRDs: true}

// helperReport is what the helper prints once its environment runs.
type helperReport struct {
	Dir  string `json:"dir"`
	PIDs []int  `json:"pids"`
}

// runHelper starts a minimal environment, prints a helperReport line and
// blocks until the process is signalled or killed.
func runHelper(mode string) {
	env, err := Start(minimalOptions)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	report := helperReport{Dir: env.Dir}
	for _, p := range env.Processes() {
		report.PIDs = append(report.PIDs, p.PID)
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		os.Exit(3)
	}
	select {} // wait for the test to signal or kill this process
}

// TestStopCleansUp checks Stop ends every process and removes the directory.
func TestStopCleansUp(t *testing.T) {
	env, err := Start(minimalOptions)
	if err != nil {
		t.Fatal(err)
	}
	procs := env.Processes()
	if len(procs) != 2 {
		t.Errorf("got processes %v, want etcd and kube-apiserver", procs)
	}
	if err := env.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, p := range procs {
		assertGone(t, p.Name, p.PID)
	}
	if _, err := os.Stat(env.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("environment directory %s still exists (%v)", env.Dir, err)
	}
	if err := env.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestInterruptStopsEnvironment checks SIGINT to a test binary stops its
// environment and removes the directory.
func TestInterruptStopsEnvironment(t *testing.T) {
	cmd, report := startHelper(t)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 128+int(syscall.SIGINT) {
		t.Errorf("helper exit: %v, want status %d", err, 128+int(syscall.SIGINT))
	}
	for _, pid := range report.PIDs {
		assertGone(t, "child", pid)
	}
	if _, err := os.Stat(report.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("environment directory %s still exists (%v)", report.Dir, err)
	}
}

// TestKilledBinaryLeavesNoProcesses checks that SIGKILL to a test binary
// takes its control-plane processes with it (Pdeathsig) and that the next
// start removes the directory it left behind.
func TestKilledBinaryLeavesNoProcesses(t *testing.T) {
	cmd, report := startHelper(t)
	t.Cleanup(func() { os.RemoveAll(report.Dir) })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for _, pid := range report.PIDs {
		Eventually(t, 10*time.Second, func() (bool, error) {
			return !processAlive(pid), nil
		})
	}
	if _, err := os.Stat(report.Dir); err != nil {
		t.Fatalf("directory of the killed helper: %v", err)
	}
	sweepStaleDirs(t.Logf)
	if _, err := os.Stat(report.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sweepStaleDirs left %s (%v)", report.Dir, err)
	}
}

// startHelper runs this test binary as a helper and reads its report.
func startHelper(t *testing.T) (*exec.Cmd, helperReport) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=serve")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var report helperReport
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &report)
	}
	if err != nil || len(report.PIDs) == 0 {
		t.Fatalf("reading helper report %q: %v", line, err)
	}
	return cmd, report
}

// assertGone fails unless the process and its process group are gone.
// Processes started by this binary are reaped, so a live pid would be a
// leak (or, very unlikely, a reused pid).
func assertGone(t *testing.T, name string, pid int) {
	t.Helper()
	if processAlive(pid) {
		t.Errorf("%s (pid %d) is still running", name, pid)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group of %s (pid %d) still exists: kill(0) = %v", name, pid, err)
	}
}

// processAlive reports whether pid is a running (not zombie) process. The
// orphans of a killed helper may linger as zombies when PID 1 does not reap.
func processAlive(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the parenthesised command name.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) == 0 || fields[0] != "Z"
}

// TestPortCollisionRetry checks Start retries when a chosen port is taken.
func TestPortCollisionRetry(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	calls := 0
	pickPorts = func(n int) ([]int, error) {
		calls++
		ports, err := freePorts(n)
		if calls == 1 && err == nil {
			ports[len(ports)-1] = taken.Addr().(*net.TCPAddr).Port // the API server's
		}
		return ports, err
	}
	defer func() { pickPorts = freePorts }()
	env, err := Start(minimalOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	if calls != 2 {
		t.Errorf("ports chosen %d times, want 2", calls)
	}
	if n := len(env.Processes()); n != 2 {
		t.Errorf("%d processes after the retry, want 2", n)
	}
}

// TestStartFailureReportsLog checks a component that dies during start
// makes Start fail with the tail of its log, and leaves nothing behind.
func TestStartFailureReportsLog(t *testing.T) {
	root, err := tools.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	toolsDir := t.TempDir()
	bin := filepath.Join(toolsDir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// Real stamps make hack/install-tools.sh accept the fake binary.
	files := map[string]string{"kube-apiserver": "#!/bin/sh\necho 'E0000 simulated failure: cannot frobnicate'\nexit 3\n"}
	for _, name := range []string{".etcd.stamp", ".kube-apiserver.stamp"} {
		stamp, err := os.ReadFile(filepath.Join(tools.BinDir(root), name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(stamp)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(tools.BinDir(root), "etcd"), filepath.Join(bin, "etcd")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CAPSTAN_TOOLS", toolsDir)
	before := len(liveEnvs())
	env, err := Start(minimalOptions)
	if err == nil {
		env.Stop()
		t.Fatal("Start succeeded with a failing kube-apiserver")
	}
	t.Logf("Start error (expected): %v", err)
	for _, want := range []string{"kube-apiserver exited unexpectedly", "simulated failure: cannot frobnicate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if n := len(liveEnvs()); n != before {
		t.Errorf("%d live environments after a failed start, want %d", n, before)
	}
}
