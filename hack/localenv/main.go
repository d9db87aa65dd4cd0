// Command localenv runs the project's local environment until it is interrupted: the
// end-to-end test environment (etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// and kwok with one fake node, with the operator's and the third-party CRDs installed), the
// operator's controller, subscription server and admission webhooks as child processes, and,
// unless --no-sample, the published multi-tenant sample application (examples/multitenant)
// with local stand-ins for the Istio ingress gateway and cert-manager; with --demo it then
// subscribes --tenants consumer tenants through the subscription server and rolls the second
// version of the sample out to them. It writes the admin
// kubeconfig to .cache/local/kubeconfig and the logs to .cache/local/logs. See package
// hack/localenv/localenv.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/capstan-io/capstan/hack/localenv/localenv"
	"github.com/capstan-io/capstan/internal/testenv/tools"
)

func main() {
	kubeconfig := flag.String("kubeconfig-out", "", "where to write the admin kubeconfig (default <repo>/.cache/local/kubeconfig)")
	noSample := flag.Bool("no-sample", false, "run only the environment and the operator: no ingress gateway and cert-manager stand-ins, no sample application")
	demo := flag.Bool("demo", false, "once the sample is Ready, subscribe consumer tenants through the subscription server and roll the second version (examples/multitenant/cav-v2-upgrade.yaml) out to them")
	tenants := flag.Int("tenants", localenv.DefaultDemoTenants, fmt.Sprintf("how many consumer tenants --demo subscribes (1 to %d)", localenv.MaxDemoTenants))
	flag.Parse()
	opts := localenv.Options{KubeconfigOut: *kubeconfig, NoSample: *noSample, Demo: *demo, DemoTenants: *tenants}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "localenv:", err)
		os.Exit(1)
	}
}

// run starts the session, prints its summary and blocks. On SIGINT or SIGTERM the
// environment package stops the session (child processes first), then the environment, and
// exits.
func run(opts localenv.Options) error {
	root, err := tools.RepoRoot()
	if err != nil {
		return err
	}
	opts.Dir = filepath.Join(root, ".cache", "local")
	if opts.KubeconfigOut == "" {
		opts.KubeconfigOut = filepath.Join(opts.Dir, "kubeconfig")
	}
	s, err := localenv.Run(context.Background(), opts)
	if err != nil {
		return err
	}
	if err := s.PrintSummary(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "localenv: printing the summary:", err)
	}
	select {}
}
