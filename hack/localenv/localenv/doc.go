// Package localenv runs the operator locally, as hack/local-up.sh does: it starts the
// end-to-end test environment (internal/testenv: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok with one fake node, all CRDs installed),
// builds the controller, the subscription server and the admission webhooks, runs them as
// child processes against it, and applies the published multi-tenant walk-through
// (examples/multitenant) until its version is Ready, its provider tenant Ready and the
// application Consistent.
//
// With Options.Demo it then shows the life of tenants: it subscribes consumer tenants through
// the subscription server's SaaS registry endpoint (PUT /provision/tenants/{id}), with tokens
// signed by a loopback stand-in for XSUAA (the fake of internal/server/servertest, which the
// server trusts through SSL_CERT_FILE and the sample's saas-registry binding), logs one line
// per change of a tenant's state or version, and once all are Ready creates the published
// second version (examples/multitenant/cav-v2-upgrade.yaml) and waits until every tenant
// runs it. The summary lists the tenants, versions and times.
//
// Two pieces of a real cluster are replaced by local stand-ins, a third for the demo only (XSUAA), the others
// only for the sample:
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
