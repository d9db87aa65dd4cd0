// Package localenv runs the operator locally, as hack/local-up.sh does: it starts the
// end-to-end test environment (internal/testenv: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok with one fake node, all CRDs installed),
// builds the controller, the subscription server and the admission webhooks, runs them as
// child processes against it, and applies the published multi-tenant walk-through
// (examples/multitenant) until its version is Ready, its provider tenant Ready and the
// application Consistent.
//
// Two pieces of a real cluster are replaced by local stand-ins, both only for the sample:
//   - the Istio ingress gateway is a Pod in istio-system with the usual labels, bound to the
//     fake node (kwok reports it Running); no proxy runs;
//   - cert-manager is a loop in this process that marks every cert-manager.io Certificate
//     Ready through the status subresource; no certificate or Secret is issued.
//
// Run starts everything and returns a Session; Session.Stop ends the child processes and the
// environment. A SIGINT or SIGTERM stops the session too (through testenv.OnStop), then the
// environment, and exits the program. Child processes also get SIGKILL from the kernel if
// this process dies (Pdeathsig), so nothing outlives it.
package localenv
