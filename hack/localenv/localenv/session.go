package localenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/capstan-io/capstan/hack/localenv/localenv/issuer"
	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/internal/testenv/tools"
)

// Session is a running local environment with the operator. Create it with Run and end it
// with Stop.
type Session struct {
	// Env is the Kubernetes environment.
	Env *testenv.Env
	// Kubeconfig is the admin kubeconfig to use: Options.KubeconfigOut when set, else the
	// environment's own file.
	Kubeconfig string
	// ServerURL is the subscription server's API, e.g. http://127.0.0.1:40123.
	ServerURL string
	// WebhookURL is the webhook server, e.g. https://127.0.0.1:40124 (/validate, /mutate).
	WebhookURL string
	// ControllerMetricsURL serves the controller's /metrics, /healthz and /readyz.
	ControllerMetricsURL string
	// ServerMetricsURL and WebhookMetricsURL serve the /metrics of the subscription server and
	// of the webhooks, e.g. http://127.0.0.1:40125.
	ServerMetricsURL, WebhookMetricsURL string
	// Controller, Server and Webhooks are the operator's processes.
	Controller, Server, Webhooks *Process
	// Sample reports whether the sample application was applied.
	Sample bool
	// Demo is the outcome of the demo (Options.Demo), nil without it.
	Demo *DemoResult

	opts    Options
	clients *kube.Clients
	// issuer is the XSUAA stand-in of the demo, nil without it.
	issuer *issuer.Issuer
	// xsappname is the xsappname of the sample's xsuaa binding, the audience of the
	// issuer's tokens.
	xsappname string
	// cancel ends the background loops (the cert-manager stand-in); loops waits for them.
	cancel context.CancelFunc
	loops  sync.WaitGroup

	mu       sync.Mutex
	procs    []*Process
	stopped  bool
	stopOnce sync.Once
	stopErr  error
}

// Run starts the environment, builds and runs the operator's processes and, unless
// opts.NoSample, applies the sample application and waits until it is ready. On failure it
// stops whatever it started and returns the error; ctx cancels the waits.
func Run(ctx context.Context, opts Options) (*Session, error) {
	var testenvLogf func(string, ...any)
	if opts.Logf != nil {
		logf := opts.Logf
		testenvLogf = func(format string, args ...any) { logf("testenv: "+format, args...) }
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	root, err := tools.RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("localenv: %w", err)
	}
	for _, dir := range []string{opts.logDir(), opts.binDir(), opts.certDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("localenv: %w", err)
		}
	}
	// The operator is built while the control plane starts.
	type buildResult struct {
		paths map[string]string
		err   error
	}
	built := make(chan buildResult, 1)
	go func() {
		paths, err := buildBinaries(root, opts.binDir(), opts.Logf)
		built <- buildResult{paths, err}
	}()
	env, err := testenv.Start(testenv.Options{E2E: true, Logf: testenvLogf})
	build := <-built
	if err != nil {
		return nil, err
	}
	s := &Session{Env: env, Kubeconfig: env.KubeconfigPath, opts: opts, cancel: func() {}}
	testenv.OnStop(func() { _ = s.Stop() })
	err = build.err
	if err == nil {
		err = s.start(ctx, build.paths)
	}
	if err != nil {
		return nil, fmt.Errorf("localenv: %w", errors.Join(err, s.Stop()))
	}
	return s, nil
}

// start runs everything after the environment is up, in dependency order: the stand-ins
// first (so the controller finds the ingress gateway at once), then the webhooks (which
// must answer before sme.sap.com objects are written), the server and the controller, and
// at last the sample.
func (s *Session) start(ctx context.Context, bins map[string]string) error {
	var err error
	if s.clients, err = kube.NewClients(s.Env.Config, "capstan-localenv"); err != nil {
		return err
	}
	if err := s.writeKubeconfig(); err != nil {
		return err
	}
	if err := s.ensureNamespace(ctx, OperatorNamespace); err != nil {
		return err
	}
	if !s.opts.NoSample {
		if err := s.startStandIns(ctx); err != nil {
			return err
		}
	}
	if s.opts.Demo {
		iss, err := issuer.Start(s.opts.issuerCAFile())
		if err != nil {
			return err
		}
		s.issuer = iss
		s.opts.Logf("demo: XSUAA stand-in at %s", iss.URL())
	}
	if err := s.startWebhooks(ctx, bins["web-hooks"]); err != nil {
		return err
	}
	if err := s.startServer(ctx, bins["server"]); err != nil {
		return err
	}
	if err := s.startController(ctx, bins["controller"]); err != nil {
		return err
	}
	if s.opts.NoSample {
		return nil
	}
	s.Sample = true
	if err := s.applySample(ctx); err != nil {
		return err
	}
	if err := s.waitSample(ctx); err != nil {
		return err
	}
	if !s.opts.Demo {
		return nil
	}
	return s.runDemo(ctx)
}

// writeKubeconfig copies the admin kubeconfig to Options.KubeconfigOut, if set.
func (s *Session) writeKubeconfig() error {
	if s.opts.KubeconfigOut == "" {
		return nil
	}
	data, err := os.ReadFile(s.Env.KubeconfigPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.opts.KubeconfigOut), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(s.opts.KubeconfigOut, data, 0o600); err != nil {
		return err
	}
	s.Kubeconfig = s.opts.KubeconfigOut
	return nil
}

// Processes lists the operator processes started so far, in start order.
func (s *Session) Processes() []*Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Process(nil), s.procs...)
}

// Stop ends the background loops and the operator's processes (SIGTERM, SIGKILL after a
// grace period), then stops the environment. It is safe to call more than once and from
// several goroutines; later calls return the first call's result.
func (s *Session) Stop() error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		procs := s.procs
		s.mu.Unlock()
		s.cancel()
		s.loops.Wait()
		errs := make([]error, len(procs))
		var wg sync.WaitGroup
		for i, p := range procs {
			wg.Go(func() { errs[i] = p.stop() })
		}
		wg.Wait()
		if s.issuer != nil {
			s.issuer.Close()
		}
		s.stopErr = errors.Join(append(errs, s.Env.Stop())...)
	})
	return s.stopErr
}

// run starts one of the operator's binaries with the admin kubeconfig, logging to
// <Dir>/logs/<name>.log. It refuses once the session is stopping.
func (s *Session) run(name, bin string, args, extraEnv []string) (*Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, errors.New("the session is stopping")
	}
	args = append([]string{"--kubeconfig=" + s.Env.KubeconfigPath}, args...)
	p, err := startProcess(name, bin, filepath.Join(s.opts.logDir(), name+".log"), args, extraEnv)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	s.opts.Logf("started %s (pid %d), log %s", name, p.PID, p.LogPath)
	return p, nil
}
