package app

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{})
}

// timeout bounds every wait of these tests.
const timeout = 60 * time.Second

// blockingRunnable runs until its context ends.
type blockingRunnable struct{}

func (blockingRunnable) Run(ctx context.Context, _ int) error {
	<-ctx.Done()
	return nil
}

// gatedRegistration returns a controller whose constructor signals building, then waits
// for release and returns what it receives.
func gatedRegistration(building chan<- struct{}, release <-chan error) Registration {
	return Registration{Name: "gated", DefaultWorkers: 1, New: func(*controller.Context) (controller.Runnable, error) {
		building <- struct{}{}
		if err := <-release; err != nil {
			return nil, err
		}
		return blockingRunnable{}, nil
	}}
}

// startRunner runs the controller start-up with the given controllers against the test
// apiserver and returns the channel of Run's result and the base URL of /readyz.
func startRunner(t *testing.T, ctx context.Context, ns string, leaderElect bool, regs []Registration) (<-chan error, string) {
	t.Helper()
	opts := NewOptions()
	opts.LeaderElect, opts.Controller.OperatorNamespace = leaderElect, ns
	opts.MetricsAddress = freeAddress(t)
	r, err := newRunner(opts, testenv.Current().Config, regs)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.run(ctx) }()
	return done, "http://" + opts.MetricsAddress + "/readyz"
}

// freeAddress returns a free loopback address.
func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

// readyz returns the status and body of /readyz; 0 while the server does not answer.
func readyz(url string) (int, string) {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// wait receives from ch within the timeout.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// TestFailedControllersReleaseLease is the regression test of the zombie leader: a leader
// whose controllers cannot be built (a discovery error) used to keep renewing the Lease while
// nothing reconciled. Now it is not ready while building, releases the Lease and returns the
// error, so that the process exits non-zero and a standby takes over.
func TestFailedControllersReleaseLease(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	building, release := make(chan struct{}), make(chan error, 1)
	done, url := startRunner(t, ctx, ns, true, []Registration{gatedRegistration(building, release)})

	wait(t, building, "the leader to build its controllers")
	if code, body := readyz(url); code != http.StatusServiceUnavailable || !strings.Contains(body, "starting controllers") {
		t.Errorf("/readyz while building the controllers: %d %q, want 503", code, body)
	}
	lease, err := env.Clientset().CoordinationV1().Leases(ns).Get(ctx, "capoperator-lease-lock", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ptr.Deref(lease.Spec.HolderIdentity, "") == "" {
		t.Fatal("the Lease has no holder while the leader builds its controllers")
	}

	release <- errors.New("discovery: the server is currently unable to handle the request")
	err = wait(t, done, "Run to return after the failure")
	if err == nil || !strings.Contains(err.Error(), "gated controller: discovery") {
		t.Fatalf("Run returned %v, want the constructor's error", err)
	}
	lease, err = env.Clientset().CoordinationV1().Leases(ns).Get(ctx, "capoperator-lease-lock", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h != "" {
		t.Errorf("the Lease is still held by %q after the controllers failed", h)
	}
}

// TestReadyOnlyWhileControllersRun checks /readyz without leader election: false while the
// controllers are built, true while they run; Run returns nil when the context ends. Its
// set-up is TestFailedControllersReleaseLease's without leader election, deliberately spelt
// out in both.
func TestReadyOnlyWhileControllersRun(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	building, release := make(chan struct{}), make(chan error, 1)
	done, url := startRunner(t, ctx, ns, false, []Registration{gatedRegistration(building, release)})

	wait(t, building, "the controllers to be built")
	if code, body := readyz(url); code != http.StatusServiceUnavailable || !strings.Contains(body, "controllers not running") {
		t.Errorf("/readyz while building the controllers: %d %q, want 503", code, body)
	}
	release <- nil
	testenv.Eventually(t, timeout, func() (bool, error) {
		code, _ := readyz(url)
		return code == http.StatusOK, nil
	})
	cancel()
	if err := wait(t, done, "Run to return after cancellation"); err != nil {
		t.Errorf("Run returned %v after cancellation, want nil", err)
	}
}
