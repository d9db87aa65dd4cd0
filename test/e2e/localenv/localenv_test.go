// Package localenv tests hack/local-up.sh end to end through the code it runs
// (hack/localenv/localenv): one session with the environment, the operator's three processes,
// the sample application, which must become Ready and Consistent, and the demo (--demo), whose
// consumer tenants must be subscribed through the subscription server and end Ready on the
// second version; all processes must be gone after Stop.
package localenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/hack/localenv/localenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// runTimeout bounds Run: the control plane, the build of the operator, the sample and the
// demo.
const runTimeout = 12 * time.Minute

// demoTenants is how many tenants the demo subscribes here: two, to keep the test short.
const demoTenants = 2

func TestLocalUpRunsTheSampleAndTheDemo(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	progress := &lines{}
	logf := func(format string, args ...any) {
		progress.add(fmt.Sprintf(format, args...))
		t.Logf(format, args...)
	}
	s, err := localenv.Run(ctx, localenv.Options{Dir: dir, KubeconfigOut: filepath.Join(dir, "kubeconfig"), Logf: logf,
		Demo: true, DemoTenants: demoTenants})
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
	tenants := checkDemo(t, s, progress)
	var summary bytes.Buffer
	if err := s.PrintSummary(&summary); err != nil {
		t.Fatalf("PrintSummary: %v", err)
	}
	t.Logf("summary:\n%s", summary.String())
	wants := []string{"cap-app-01", "Consistent", "export KUBECONFIG=" + s.Kubeconfig, s.ServerURL, "Press Ctrl-C",
		fmt.Sprintf("Demo: %d consumer tenants", demoTenants), "from " + localenv.SampleVersion + " to " + localenv.DemoVersion,
		s.ControllerMetricsURL + "/metrics", s.ServerMetricsURL + "/metrics", s.WebhookMetricsURL + "/metrics"}
	wants = append(wants, tenants...)
	for _, want := range wants {
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
	// The demo ends with the provider tenant on the second version too.
	cat, err := sme.CAPTenants(localenv.SampleNamespace).Get(ctx, localenv.SampleProviderTenant, metav1.GetOptions{})
	if err != nil || cat.Status.State != v1alpha1.CAPTenantStateReady || cat.Status.CurrentCAPApplicationVersionInstance != localenv.DemoVersion {
		t.Fatalf("provider tenant: %v, state %v on %q", err, cat.Status.State, cat.Status.CurrentCAPApplicationVersionInstance)
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
		s.ServerMetricsURL + "/metrics":     plain,
		s.WebhookMetricsURL + "/metrics":    plain,
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

// checkDemo asserts that the demo's tenants were created by the subscription server and are
// Ready on the second version, that progress was logged per tenant state change, and
// returns the tenants' names.
func checkDemo(t *testing.T, s *localenv.Session, progress *lines) []string {
	t.Helper()
	if s.Demo == nil || len(s.Demo.Tenants) != demoTenants {
		t.Fatalf("demo result %+v, want %d tenants", s.Demo, demoTenants)
	}
	sme := versioned.NewForConfigOrDie(s.Env.Config).SmeV1alpha1()
	cav, err := sme.CAPApplicationVersions(localenv.SampleNamespace).Get(context.Background(), localenv.DemoVersion, metav1.GetOptions{})
	if err != nil || cav.Status.State != v1alpha1.CAPApplicationVersionStateReady {
		t.Fatalf("version %s: %v, state %v", localenv.DemoVersion, err, cav.Status.State)
	}
	if !progress.contains("CAPTenant " + localenv.SampleProviderTenant + " Ready, CAPApplication " + localenv.SampleApplication + " Consistent") {
		t.Errorf("no progress line shows the sample ready on the first version")
	}
	var names []string
	for _, dt := range s.Demo.Tenants {
		cat, err := sme.CAPTenants(localenv.SampleNamespace).Get(context.Background(), dt.Name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("tenant %s: %v", dt.Name, err)
			continue
		}
		names = append(names, cat.Name)
		if cat.Spec.TenantId != dt.TenantID || cat.Spec.SubDomain != dt.Subdomain {
			t.Errorf("tenant %s: tenant id %q, subdomain %q, want %q, %q", cat.Name, cat.Spec.TenantId, cat.Spec.SubDomain, dt.TenantID, dt.Subdomain)
		}
		if cat.Status.State != v1alpha1.CAPTenantStateReady || cat.Status.CurrentCAPApplicationVersionInstance != localenv.DemoVersion {
			t.Errorf("tenant %s: %s on %q, want Ready on %s", cat.Name, cat.Status.State, cat.Status.CurrentCAPApplicationVersionInstance, localenv.DemoVersion)
		}
		for _, want := range []string{"Ready, version " + localenv.SampleVersion, "Ready, version " + localenv.DemoVersion} {
			if !progress.contains("demo: tenant " + cat.Name + " (" + dt.Subdomain + "): " + want) {
				t.Errorf("no progress line for tenant %s: %s", cat.Name, want)
			}
		}
	}
	return names
}

// lines collects progress lines; Logf may be called from several goroutines.
type lines struct {
	mu   sync.Mutex
	list []string
}

func (l *lines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, line)
}

// contains reports whether a line contains sub.
func (l *lines) contains(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.list {
		if strings.Contains(line, sub) {
			return true
		}
	}
	return false
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
