package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/hack/bench/measure"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	smeinformers "github.com/capstan-io/capstan/pkg/client/informers/externalversions"
)

// bench holds the environment, clients and the controller process.
type bench struct {
	env        *testenv.Env
	cfg        config
	kube       kubernetes.Interface
	sme        versioned.Interface
	ns         string
	controller *exec.Cmd
	// pid is the controller's process ID, read by the memory sampler while a phase may
	// restart the controller.
	pid     atomic.Int64
	logPath string
	bin     string
	// opsURL is the controller's metrics and profiling endpoint, metricsURL its /metrics.
	opsURL, metricsURL string
	// kubeconfig holds a token of the controller's ServiceAccount (see controllerKubeconfig).
	kubeconfig string
	// tenants and jobs are informer caches, so that waiting costs the API server nothing
	// (polling lists of a thousand objects would slow down what is measured).
	tenants cache.Indexer
	jobs    cache.Indexer
	// sap are the fake SAP services of the server phase; credentials, when set, are the
	// binding credentials setup writes per service class instead of placeholders.
	sap         *fakeSAP
	credentials map[string]map[string]any
}

// newBench builds and starts the controller against the environment.
func newBench(ctx context.Context, env *testenv.Env, cfg config) (*bench, error) {
	rc := rest.CopyConfig(env.Config)
	rc.QPS, rc.Burst = 2000, 4000
	// Built-in kinds as protobuf, as kube-controller-manager reads them: the API server
	// serializes each watch event once per encoding, so the bench's Job informer then adds no
	// encoding work of its own to what is measured.
	kc := rest.CopyConfig(rc)
	kc.ContentType = runtime.ContentTypeProtobuf
	kc.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	b := &bench{env: env, cfg: cfg, ns: benchNamespace, kube: kubernetes.NewForConfigOrDie(kc), sme: versioned.NewForConfigOrDie(rc)}
	b.startInformers(ctx)
	var err error
	if b.kubeconfig, err = b.controllerKubeconfig(ctx); err != nil {
		return nil, err
	}
	b.bin = filepath.Join(env.Dir, "controller")
	build := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "./cmd/controller")
	build.Dir = env.RepoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the controller: %v\n%s", err, out)
	}
	return b, b.startController("controller.log")
}

// startController runs the controller binary with its log in the environment directory.
func (b *bench) startController(logName string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	b.opsURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	b.metricsURL = b.opsURL + "/metrics"
	b.logPath = filepath.Join(b.env.Dir, logName)
	logFile, err := os.Create(b.logPath)
	if err != nil {
		return err
	}
	args := []string{"--kubeconfig=" + b.kubeconfig, "--leader-elect=false",
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", port), "--operator-namespace=" + b.ns,
		"--controllers=capapplication,capapplicationversion,captenant,captenantoperation"}
	settings := []string{"client rate limit: default", "workers: default"}
	if q := b.cfg.controllerQPS; q > 0 {
		args = append(args, fmt.Sprintf("--client-qps=%d", q), fmt.Sprintf("--client-burst=%d", 2*q))
		settings[0] = fmt.Sprintf("client rate limit: --client-qps=%d --client-burst=%d", q, 2*q)
	}
	if w := b.cfg.workers; w > 0 {
		args = append(args, fmt.Sprintf("--captenant-workers=%d", w), fmt.Sprintf("--captenantoperation-workers=%d", w))
		settings[1] = fmt.Sprintf("workers: --captenant-workers=%d --captenantoperation-workers=%d", w, w)
	}
	if b.cfg.cpuProfileDir != "" {
		args = append(args, "--profiling")
	}
	fmt.Printf("bench: controller settings: %s; %s\n", settings[0], settings[1])
	b.controller = exec.Command(b.bin, args...)
	b.controller.Stdout, b.controller.Stderr = logFile, logFile
	b.controller.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := b.controller.Start(); err != nil {
		return err
	}
	b.pid.Store(int64(b.controller.Process.Pid))
	fmt.Printf("bench: controller log %s\n", b.logPath)
	return nil
}

// controllerPID returns the process ID of the controller running now.
func (b *bench) controllerPID() int { return int(b.pid.Load()) }

// startInformers starts the caches the phases wait on.
func (b *bench) startInformers(ctx context.Context) {
	smeFactory := smeinformers.NewSharedInformerFactory(b.sme, 0)
	kubeFactory := informers.NewSharedInformerFactory(b.kube, 0)
	b.tenants = smeFactory.Sme().V1alpha1().CAPTenants().Informer().GetIndexer()
	b.jobs = kubeFactory.Batch().V1().Jobs().Informer().GetIndexer()
	smeFactory.Start(ctx.Done())
	kubeFactory.Start(ctx.Done())
	smeFactory.WaitForCacheSync(ctx.Done())
	kubeFactory.WaitForCacheSync(ctx.Done())
}

// stop ends the controller.
func (b *bench) stop() {
	_ = b.controller.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.controller.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = b.controller.Process.Kill()
	}
}

// scrape reads the controller's API writes by verb (refused ones by verb and status code)
// from its metrics.
func (b *bench) scrape() (map[string]float64, error) {
	return measure.Scrape(b.metricsURL)
}

// total sums a map of counts.
func total(m map[string]float64) float64 {
	var sum float64
	for _, v := range m {
		sum += v
	}
	return sum
}

// freePort returns a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
