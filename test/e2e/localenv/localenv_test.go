// Package localenv tests hack/local-up.sh end to end through the code it runs
// (hack/localenv/localenv): one session with the environment, the operator's three processes
// and the sample application, which must become Ready and Consistent, and whose processes
// must all be gone after Stop.
package localenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/hack/localenv/localenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// runTimeout bounds Run: the control plane, the build of the operator and the sample.
const runTimeout = 10 * time.Minute

func TestLocalUpRunsTheSample(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	s, err := localenv.Run(ctx, localenv.Options{Dir: dir, KubeconfigOut: filepath.Join(dir, "kubeconfig"), Logf: t.Logf})
	if err != nil {
		t.Fatal(err) // Run stopped what it had started
	}
	stopped := false
	t.Cleanup(func() {
		if t.Failed() {
			logTails(t, s)
		}
		if err := s.Stop(); err != nil && !stopped {
			t.Errorf("Stop: %v", err)
		}
	})

	checkSample(t, s)
	checkProcesses(t, s, dir)
	var summary bytes.Buffer
	if err := s.PrintSummary(&summary); err != nil {
		t.Fatalf("PrintSummary: %v", err)
	}
	for _, want := range []string{"cap-app-01", "Consistent", "export KUBECONFIG=" + s.Kubeconfig, s.ServerURL, "Press Ctrl-C"} {
		if !strings.Contains(summary.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, summary.String())
		}
	}

	procs := s.Processes()
	stopped = true
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	for _, p := range procs {
		if p.Running() {
			t.Errorf("%s (pid %d) still running after Stop", p.Name, p.PID)
		}
		if err := syscall.Kill(p.PID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still exists after Stop (kill -0: %v)", p.Name, p.PID, err)
		}
	}
	if _, err := os.Stat(s.Env.Dir); !os.IsNotExist(err) {
		t.Errorf("environment directory %s not removed: %v", s.Env.Dir, err)
	}
}

// checkSample asserts the states Run waited for, the domains made Ready by the domain
// controllers with the stand-ins, and the PORT the mutating webhook converted.
func checkSample(t *testing.T, s *localenv.Session) {
	t.Helper()
	ctx := context.Background()
	sme := versioned.NewForConfigOrDie(s.Env.Config).SmeV1alpha1()
	cav, err := sme.CAPApplicationVersions(localenv.SampleNamespace).Get(ctx, localenv.SampleVersion, metav1.GetOptions{})
	if err != nil || cav.Status.State != v1alpha1.CAPApplicationVersionStateReady {
		t.Fatalf("version %s: %v, state %v", localenv.SampleVersion, err, cav.Status.State)
	}
	if env := cav.Spec.Workloads[1].DeploymentDefinition.Env; env[0].Name != "PORT" || env[0].Value != "4000" {
		t.Errorf("router env %v, want PORT=\"4000\" converted by the webhook", env[0])
	}
	cat, err := sme.CAPTenants(localenv.SampleNamespace).Get(ctx, localenv.SampleProviderTenant, metav1.GetOptions{})
	if err != nil || cat.Status.State != v1alpha1.CAPTenantStateReady {
		t.Fatalf("provider tenant: %v, state %v", err, cat.Status.State)
	}
	ca, err := sme.CAPApplications(localenv.SampleNamespace).Get(ctx, localenv.SampleApplication, metav1.GetOptions{})
	if err != nil || ca.Status.State != v1alpha1.CAPApplicationStateConsistent {
		t.Fatalf("application: %v, state %v", err, ca.Status.State)
	}
	dom, err := sme.Domains(localenv.SampleNamespace).Get(ctx, "cap-app-01-primary", metav1.GetOptions{})
	if err != nil || dom.Status.State != v1alpha1.DomainStateReady {
		t.Errorf("domain: %v, state %v", err, dom.Status.State)
	}
	cdom, err := sme.ClusterDomains().Get(ctx, "common-external-domain", metav1.GetOptions{})
	if err != nil || cdom.Status.State != v1alpha1.DomainStateReady {
		t.Errorf("cluster domain: %v, state %v", err, cdom.Status.State)
	}
}

// checkProcesses asserts that the three processes run and answer on their endpoints, the
// webhooks over TLS with the session's CA, and that they log to <Dir>/logs.
func checkProcesses(t *testing.T, s *localenv.Session, dir string) {
	t.Helper()
	for _, p := range []*localenv.Process{s.Controller, s.Server, s.Webhooks} {
		if p == nil || !p.Running() {
			t.Fatalf("process %v is not running", p)
		}
		if _, err := os.Stat(p.LogPath); err != nil || filepath.Dir(p.LogPath) != filepath.Join(dir, "logs") {
			t.Errorf("%s log %s: %v", p.Name, p.LogPath, err)
		}
	}
	if len(s.Processes()) != 3 {
		t.Errorf("processes: %d, want 3", len(s.Processes()))
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "webhook-certs", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tlsClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	plain := &http.Client{Timeout: 5 * time.Second}
	for url, client := range map[string]*http.Client{
		s.ServerURL + "/healthz":            plain,
		s.ControllerMetricsURL + "/readyz":  plain,
		s.ControllerMetricsURL + "/metrics": plain,
		s.WebhookURL + "/healthz":           tlsClient,
	} {
		resp, err := client.Get(url)
		if err != nil {
			t.Errorf("GET %s: %v", url, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", url, resp.Status)
		}
	}
}

// logTails prints the end of every process log.
func logTails(t *testing.T, s *localenv.Session) {
	for _, p := range s.Processes() {
		data, _ := os.ReadFile(p.LogPath)
		if len(data) > 6000 {
			data = data[len(data)-6000:]
		}
		t.Logf("last output of %s (%s):\n%s", p.Name, p.LogPath, data)
	}
}
