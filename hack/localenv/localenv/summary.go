package localenv

import (
	"fmt"
	"io"
	"strings"
)

// PrintSummary writes what a user needs to work with the session: the sme.sap.com objects
// (`kubectl get cap -A`), the demo's tenants, versions and times, the kubeconfig, the
// endpoints, the metrics endpoints and the log files.
func (s *Session) PrintSummary(w io.Writer) error {
	fmt.Fprintf(w, "\nLocal environment ready (Kubernetes %s, fake node %s).\n", s.Env.ServerVersion, s.Env.NodeName)
	if s.Sample {
		out, err := s.Env.Kubectl("get", "cap", "-A")
		if err != nil {
			return fmt.Errorf("%w\n%s", err, out)
		}
		fmt.Fprintf(w, "\nSample application (examples/multitenant) in namespace %s:\n\n$ kubectl get cap -A\n%s\n", SampleNamespace, out)
		fmt.Fprintf(w, "Stand-ins: Istio ingress gateway pod %s/%s; a loop marking cert-manager Certificates Ready.\n",
			IngressNamespace, IngressPodName)
	}
	if s.Demo != nil {
		if err := s.Demo.print(w); err != nil {
			return err
		}
		fmt.Fprintf(w, "\nXSUAA stand-in (tokens for the subscription server): %s\n", s.issuer.URL())
	}
	fmt.Fprintf(w, "\nUse the cluster:\n  export KUBECONFIG=%s\n  kubectl get cap -A\n", s.Kubeconfig)
	fmt.Fprintf(w, "\nOperator (namespace %s):\n", OperatorNamespace)
	fmt.Fprintf(w, "  subscription server  %s\n", s.ServerURL)
	fmt.Fprintf(w, "  webhooks             %s/validate, %s/mutate (CA %s/ca.crt)\n", s.WebhookURL, s.WebhookURL, s.opts.certDir())
	fmt.Fprintf(w, "\nMetrics:\n")
	fmt.Fprintf(w, "  controller           %s/metrics\n", s.ControllerMetricsURL)
	fmt.Fprintf(w, "  subscription server  %s/metrics\n", s.ServerMetricsURL)
	fmt.Fprintf(w, "  webhooks             %s/metrics\n", s.WebhookMetricsURL)
	fmt.Fprintf(w, "\nLogs:\n")
	for _, p := range s.Processes() {
		fmt.Fprintf(w, "  %-13s %s\n", p.Name, p.LogPath)
	}
	fmt.Fprintf(w, "  %-13s %s (removed on stop)\n", "control plane", strings.TrimSuffix(s.Env.Dir, "/")+"/*.log")
	fmt.Fprintf(w, "\nPress Ctrl-C to stop and remove everything.\n")
	return nil
}
