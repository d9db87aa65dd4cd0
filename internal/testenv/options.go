package testenv

import (
	"fmt"
	"os"
	"time"

	"github.com/capstan-io/capstan/internal/testenv/credentials"
)

// FailPodLabel is the pod label that makes the E2E environment's kwok move a
// running pod to phase Failed (its containers terminate with exit code 1).
// Put it on a Job's pod template to make the Job fail.
const FailPodLabel = "capstan.io/test-fail"

// DefaultStartTimeout bounds Start when Options.StartTimeout is zero. It does
// not include building missing binaries with hack/install-tools.sh.
const DefaultStartTimeout = 3 * time.Minute

// DefaultUsers are the token identities every environment defines. Such users get no RBAC
// rights; see Env.NonAdminConfig.
var DefaultUsers = []credentials.User{
	{Name: "alice"},
	{Name: "bob"},
	{Name: "carol", Groups: []string{"capstan-testers"}},
}

// Options configure Start.
type Options struct {
	// E2E additionally starts kube-controller-manager, kube-scheduler and
	// kwok with one fake node, so workloads get scheduled and "run".
	E2E bool
	// CRDDirs are directories whose *.yaml, *.yml and *.json files
	// (searched recursively; non-CRD documents are ignored) are installed
	// as CRDs. nil means <repo root>/crds, skipped when missing or empty;
	// a non-nil empty slice installs no project CRDs. Directories given
	// explicitly must exist.
	CRDDirs []string
	// SkipThirdPartyCRDs leaves out the third-party CRDs (Istio,
	// cert-manager, Gardener, ServiceMonitor), which are installed by default.
	SkipThirdPartyCRDs bool
	// Users are token identities added to DefaultUsers.
	Users []credentials.User
	// AuditPolicy, when set, is an audit policy (an audit.k8s.io/v1 Policy as YAML) that
	// kube-apiserver applies, writing the events as JSON lines to Env.AuditLogPath.
	AuditPolicy string
	// StartTimeout bounds Start; zero means DefaultStartTimeout.
	StartTimeout time.Duration
	// KeepDir keeps the environment directory after Stop. It is also set
	// by the environment variable CAPSTAN_TESTENV_KEEP_DIR=1.
	KeepDir bool
	// Logf prints progress messages; nil prints "testenv: ..." lines to
	// stderr.
	Logf func(format string, args ...any)
}

// withDefaults returns a copy of o with every unset field defaulted.
func (o Options) withDefaults() Options {
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if os.Getenv("CAPSTAN_TESTENV_KEEP_DIR") == "1" {
		o.KeepDir = true
	}
	if o.Logf == nil {
		o.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "testenv: "+format+"\n", args...)
		}
	}
	users := append([]credentials.User(nil), DefaultUsers...)
	o.Users = append(users, o.Users...)
	return o
}
