package e2etest

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/capstan-io/capstan/internal/testenv"
)

// TestE2EStopCleansUp starts a second, CRD-less E2E environment and checks
// that Stop ends all five processes and removes the directory.
func TestE2EStopCleansUp(t *testing.T) {
	env, err := testenv.Start(testenv.Options{E2E: true, CRDDirs: []string{}, SkipThirdPartyCRDs: true})
	if err != nil {
		t.Fatal(err)
	}
	procs := env.Processes()
	if len(procs) != 5 {
		t.Errorf("got %d processes %v, want etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok", len(procs), procs)
	}
	began := time.Now()
	if err := env.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %s", time.Since(began).Round(time.Millisecond))
	for _, p := range procs {
		// The processes were reaped by Stop, so their pids and process
		// groups must be gone.
		if err := syscall.Kill(p.PID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still exists: %v", p.Name, p.PID, err)
		}
		if err := syscall.Kill(-p.PID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group of %s (pid %d) still exists: %v", p.Name, p.PID, err)
		}
	}
	if _, err := os.Stat(env.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("environment directory %s still exists (%v)", env.Dir, err)
	}
}
