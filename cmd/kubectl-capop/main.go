// Command kubectl-capop is a kubectl plugin (`kubectl capop`) for Capstan: the rollout status
// of CAPApplications, their tenants, pausing, resuming, retrying and aborting rollouts, and the
// logs of a tenant's last operation. It follows kubectl's kubeconfig conventions (--kubeconfig,
// --context, -n/--namespace, -A/--all-namespaces).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/capstan-io/capstan/internal/capop"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

func main() {
	if err := newRoot().ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// newRoot builds the command tree.
func newRoot() *cobra.Command {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	overrides := &clientcmd.ConfigOverrides{}
	c := &capop.Client{Out: os.Stdout}
	root := &cobra.Command{
		Use:           "kubectl-capop",
		Short:         "Watch and control Capstan tenant rollouts",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return connect(c, rules, overrides)
		},
	}
	flags := root.PersistentFlags()
	flags.StringVar(&rules.ExplicitPath, "kubeconfig", "", "path to the kubeconfig file")
	clientcmd.BindOverrideFlags(overrides, flags, clientcmd.RecommendedConfigOverrideFlags(""))
	flags.BoolVarP(&c.AllNamespaces, "all-namespaces", "A", false, "list across all namespaces")
	flags.StringVarP(&c.Output, "output", "o", "", "output format: empty for tables, or json")
	var filter capop.TenantFilter
	tenants := &cobra.Command{Use: "tenants", Short: "List tenants, by application, state and version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.Tenants(cmd.Context(), filter) }}
	tenants.Flags().StringVar(&filter.App, "app", "", "only tenants of this CAPApplication")
	tenants.Flags().StringVar(&filter.State, "state", "", "only tenants in this state (Ready, Upgrading, UpgradeError, ...)")
	tenants.Flags().StringVar(&filter.Version, "version", "", "only tenants whose spec.version is this")
	root.AddCommand(
		&cobra.Command{Use: "status [APPLICATION]", Short: "Applications, versions, rollout progress and failing tenants", Args: cobra.MaximumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return c.Status(cmd.Context(), firstArg(args)) }},
		tenants,
		&cobra.Command{Use: "pause APPLICATION", Short: "Pause the rollout: no further tenant is moved; running upgrades complete", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return c.SetPaused(cmd.Context(), args[0], true) }},
		&cobra.Command{Use: "resume APPLICATION", Short: "Resume a paused rollout, or continue after a wave with pauseAfter", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return c.SetPaused(cmd.Context(), args[0], false) }},
		&cobra.Command{Use: "retry APPLICATION", Short: "Retry the failed tenants of a halted rollout and continue it", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return c.Act(cmd.Context(), args[0], v1alpha1.RolloutActionRetry)
			}},
		&cobra.Command{Use: "abort APPLICATION", Short: "Abort the rollout; the remaining tenants stay on their version", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return c.Act(cmd.Context(), args[0], v1alpha1.RolloutActionAbort)
			}},
		&cobra.Command{Use: "logs TENANT", Short: "Logs of the Job of the tenant's last operation", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return c.Logs(cmd.Context(), args[0]) }},
	)
	return root
}

// connect builds the clientsets from the kubeconfig and flags.
func connect(c *capop.Client, rules *clientcmd.ClientConfigLoadingRules, overrides *clientcmd.ConfigOverrides) error {
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return err
	}
	if c.Namespace, _, err = cc.Namespace(); err != nil {
		return err
	}
	if c.SME, err = versioned.NewForConfig(cfg); err != nil {
		return err
	}
	c.Core, err = kubernetes.NewForConfig(cfg)
	return err
}

// firstArg returns the first argument or "".
func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}
