// Command localenv runs the project's local Kubernetes environment until it is interrupted:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok with one fake node, with
// the operator's and the third-party CRDs installed. It writes the admin kubeconfig to
// .cache/local/kubeconfig so that kubectl can be pointed at it.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/capstan-io/capstan/internal/testenv"
)

func main() {
	kubeconfig := flag.String("kubeconfig-out", "", "where to write the admin kubeconfig (default <repo>/.cache/local/kubeconfig)")
	flag.Parse()
	if err := run(*kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "localenv:", err)
		os.Exit(1)
	}
}

// run starts the environment, publishes its kubeconfig and blocks. The environment package
// stops every process and removes its files on SIGINT or SIGTERM.
func run(kubeconfigOut string) error {
	env, err := testenv.Start(testenv.Options{E2E: true})
	if err != nil {
		return err
	}

	if kubeconfigOut == "" {
		kubeconfigOut = filepath.Join(env.RepoRoot, ".cache", "local", "kubeconfig")
	}
	data, err := os.ReadFile(env.KubeconfigPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(kubeconfigOut), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfigOut, data, 0o600); err != nil {
		return err
	}

	fmt.Printf("\nLocal environment ready (Kubernetes %s, fake node %s).\n", env.ServerVersion, env.NodeName)
	fmt.Printf("  export KUBECONFIG=%s\n  kubectl get crds\n\nPress Ctrl-C to stop and remove it.\n", kubeconfigOut)
	select {}
}
