// Package testenv starts a throw-away Kubernetes control plane for
// integration and end-to-end tests of the capstan operator.
//
// A plain environment runs etcd and kube-apiserver from the binaries that
// hack/install-tools.sh builds into ${CAPSTAN_TOOLS:-<repo>/.cache}/bin and
// installs the project's CRDs (crds/) plus the third-party CRDs the operator
// works with (Istio, cert-manager, Gardener DNS and certificates, Prometheus
// ServiceMonitor). An E2E environment additionally runs
// kube-controller-manager, kube-scheduler and kwok with one fake node, so
// Deployments become available and Jobs complete (or fail, for pods labelled
// capstan.io/test-fail=true) without a container runtime.
//
// Typical use, one environment per test package:
//
//	func TestMain(m *testing.M) { testenv.RunMain(m, testenv.Options{}) }
//
//	func TestSomething(t *testing.T) {
//		env := testenv.Current()
//		ns := env.NewNamespace(t)
//		...
//	}
//
// Every child process runs in its own process group and, on Linux, is killed
// by the kernel when the test binary dies (Pdeathsig). SIGINT and SIGTERM
// received by the test binary stop all environments before it exits.
// Set CAPSTAN_TESTENV_KEEP_DIR=1 to keep the environment directory (logs,
// kubeconfig, etcd data) after Stop for debugging.
//
// The package supports Linux (and other Unix systems without Pdeathsig). Its parts live in
// sub-packages: proc (the child processes), credentials (certificates and tokens),
// manifests (CRDs and kwok stages), promserver (test Prometheus servers) and tools (the
// repository root and the binaries of hack/install-tools.sh).
package testenv
