package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/capstan-io/capstan/internal/testenv/credentials"
	"github.com/capstan-io/capstan/internal/testenv/proc"
	"github.com/capstan-io/capstan/internal/testenv/tools"
)

// Env is a running test environment. Create it with Start and release it
// with Stop.
type Env struct {
	// Config is the admin (system:masters) client configuration.
	Config *rest.Config
	// KubeconfigPath is a kubeconfig file with the admin credentials.
	KubeconfigPath string
	// Dir is the environment's temporary directory: process logs
	// (<component>.log), kubeconfig, certificates, etcd data.
	Dir string
	// RepoRoot is the repository root.
	RepoRoot string
	// BinDir holds the control-plane binaries.
	BinDir string
	// ServerVersion is the API server's git version, e.g. "v1.36.3".
	ServerVersion string
	// NodeName is the fake node of an E2E environment ("" otherwise).
	NodeName string
	// AuditLogPath is the API server's audit log when Options.AuditPolicy is set ("" otherwise).
	AuditLogPath string

	opts       Options
	secrets    *credentials.Files
	clientset  kubernetes.Interface
	apiext     apiextensionsclient.Interface
	dynamic    dynamic.Interface
	apiserver  *proc.Process
	kubeconfig []byte
	// apiserverAddr is what RestartAPIServer needs to start kube-apiserver again.
	apiserverAddr apiserverAddr

	mu       sync.Mutex
	procs    []*proc.Process
	stopped  bool
	stopErr  error
	stopOnce sync.Once
}

// Start starts a test environment as configured by opts. It first runs
// hack/install-tools.sh, which builds missing or outdated binaries (an error
// if it cannot). On failure Start stops whatever it had started and returns
// an error that includes the tail of the failing process's log.
func Start(opts Options) (*Env, error) {
	opts = opts.withDefaults()
	root, err := tools.RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	env := &Env{RepoRoot: root, BinDir: tools.BinDir(root), opts: opts}
	if err := tools.Ensure(root, env.BinDir, requiredTools(opts.E2E)); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	sweepStaleDirs(opts.Logf)
	if env.Dir, err = os.MkdirTemp("", dirPattern); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	register(env)
	if err := writeOwner(env.Dir); err != nil {
		env.Stop()
		return nil, fmt.Errorf("testenv: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
	defer cancel()
	if err := env.start(ctx); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (start timeout %v)", err, opts.StartTimeout)
		}
		if !opts.KeepDir {
			err = fmt.Errorf("%w\n(set CAPSTAN_TESTENV_KEEP_DIR=1 to keep the logs in the environment directory)", err)
		}
		if stopErr := env.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, fmt.Errorf("testenv: start failed: %w", err)
	}
	return env, nil
}

// requiredTools lists the binaries an environment needs.
func requiredTools(e2e bool) []string {
	tools := []string{"etcd", "kube-apiserver", "kubectl"}
	if e2e {
		tools = append(tools, "kube-controller-manager", "kube-scheduler", "kwok")
	}
	return tools
}

// start brings up the components in order.
func (e *Env) start(ctx context.Context) error {
	began := time.Now()
	var err error
	if e.secrets, err = credentials.Write(e.Dir, e.opts.Users); err != nil {
		return err
	}
	crds := make(chan crdSet, 1)
	go func() { crds <- e.loadAllCRDs(ctx) }()
	if err := e.startControlPlane(ctx); err != nil {
		return err
	}
	e.opts.Logf("kube-apiserver %s ready at %s in %s (env dir %s)",
		e.ServerVersion, e.Config.Host, time.Since(began).Round(time.Millisecond), e.Dir)
	if err := e.installAllCRDs(ctx, <-crds); err != nil {
		return err
	}
	if e.opts.E2E {
		if err := e.startE2E(ctx); err != nil {
			return err
		}
	}
	e.opts.Logf("environment ready in %s", time.Since(began).Round(time.Millisecond))
	return nil
}

// Stop kills every process of the environment (SIGTERM to its process
// group, SIGKILL after a short grace period), waits for them to exit and
// removes the environment directory (unless Options.KeepDir). It is safe to
// call more than once and from several goroutines; later calls return the
// first call's result.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		e.stopped = true
		procs := e.procs
		e.mu.Unlock()
		errs := []error{proc.StopAll(procs)}
		if e.opts.KeepDir {
			// Without an owner file sweepStaleDirs leaves the directory be.
			errs = append(errs, os.Remove(filepath.Join(e.Dir, ownerFile)))
			e.opts.Logf("keeping environment directory %s", e.Dir)
		} else if e.Dir != "" {
			errs = append(errs, os.RemoveAll(e.Dir))
		}
		unregister(e)
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// Processes lists the processes the environment started.
func (e *Env) Processes() []ProcessInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	infos := make([]ProcessInfo, 0, len(e.procs))
	for _, p := range e.procs {
		infos = append(infos, ProcessInfo{Name: p.Name, PID: p.PID(), LogPath: p.LogPath})
	}
	return infos
}

// Clientset returns an admin Kubernetes clientset.
func (e *Env) Clientset() kubernetes.Interface { return e.clientset }

// APIExtensions returns an admin apiextensions clientset (for CRDs).
func (e *Env) APIExtensions() apiextensionsclient.Interface { return e.apiext }

// Dynamic returns an admin dynamic client, handy for third-party resources.
func (e *Env) Dynamic() dynamic.Interface { return e.dynamic }
