package localenv

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// readyTimeout bounds the wait for a started process to serve its health endpoint.
const readyTimeout = 2 * time.Minute

// startController runs all reconcilers without leader election, with the local DNS target,
// Kubernetes (external-dns style) DNS and cert-manager.io Certificates, and waits until its
// metrics server answers.
func (s *Session) startController(ctx context.Context, bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := s.run("controller", bin, []string{
		"--leader-elect=false",
		"--operator-namespace=" + OperatorNamespace,
		"--dns-target=" + DNSTarget,
		"--dns-manager=kubernetes",
		"--cert-manager=cert-manager.io",
		"--metrics-bind-address=" + addr,
	}, []string{"POD_NAMESPACE=" + OperatorNamespace})
	if err != nil {
		return err
	}
	s.Controller, s.ControllerMetricsURL = p, "http://"+addr
	return p.waitHTTP(ctx, s.ControllerMetricsURL+"/readyz", readyTimeout)
}

// startServer runs the subscription server on a free port (plain HTTP), trusting the demo's
// XSUAA stand-in if there is one, and waits until it answers /healthz.
func (s *Session) startServer(ctx context.Context, bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	env := []string{
		"PORT=" + strconv.Itoa(port),
		"METRICS_PORT=" + strconv.Itoa(metricsPort),
		"POD_NAME=localenv-server",
		"POD_NAMESPACE=" + OperatorNamespace,
	}
	if s.issuer != nil {
		// The server fetches the token keys from the XSUAA stand-in over HTTPS.
		env = append(env, "SSL_CERT_FILE="+s.opts.issuerCAFile())
	}
	p, err := s.run("server", bin, nil, env)
	if err != nil {
		return err
	}
	s.Server, s.ServerURL = p, fmt.Sprintf("http://127.0.0.1:%d", port)
	s.ServerMetricsURL = fmt.Sprintf("http://127.0.0.1:%d", metricsPort)
	return p.waitHTTP(ctx, s.ServerURL+"/healthz", readyTimeout)
}

// ensureNamespace creates a namespace unless it exists.
func (s *Session) ensureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err := s.clients.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}
