package localenv

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Names and settings of the local operator installation.
const (
	// OperatorNamespace is the namespace the controller and the server run "in".
	OperatorNamespace = "cap-operator"
	// DNSTarget is the default DNS target of domains; with --dns-manager=kubernetes the
	// controller only records it.
	DNSTarget = "ingress.local.example.com"
	// IngressNamespace holds the stand-in Istio ingress gateway Pod.
	IngressNamespace = "istio-system"
	// IngressPodName is the stand-in Istio ingress gateway Pod.
	IngressPodName = "istio-ingressgateway-local"
	// WebhookConfigurationName names the Validating- and MutatingWebhookConfiguration.
	WebhookConfigurationName = "capstan-local"
	// DefaultSampleTimeout bounds the wait for the sample application.
	DefaultSampleTimeout = 4 * time.Minute
	// DefaultDemoTenants is how many consumer tenants the demo subscribes.
	DefaultDemoTenants = 3
	// MaxDemoTenants bounds Options.DemoTenants: every tenant runs provisioning and upgrade Jobs.
	MaxDemoTenants = 20
	// DefaultDemoTimeout bounds each of the demo's two waits (provisioning, rollout).
	DefaultDemoTimeout = 5 * time.Minute
)

// Options configure Run.
type Options struct {
	// Dir holds the session's files: logs/ (one log per process), bin/ (the built operator
	// binaries) and webhook-certs/ (CA and serving certificate). It is created if missing;
	// files of an earlier session are overwritten. Required.
	Dir string
	// KubeconfigOut, when set, receives a copy of the admin kubeconfig.
	KubeconfigOut string
	// NoSample skips the stand-in ingress gateway, the cert-manager stand-in and the sample
	// application: only the environment and the three operator processes run.
	NoSample bool
	// SampleTimeout bounds the wait for the sample; zero means DefaultSampleTimeout.
	SampleTimeout time.Duration
	// Demo, after the sample is ready, subscribes DemoTenants consumer tenants through the
	// subscription server's SaaS registry endpoint (with tokens of a local stand-in for
	// XSUAA), waits until they are Ready, rolls the second version of the sample
	// (examples/multitenant/cav-v2-upgrade.yaml) out to them and waits until they run it.
	// It needs the sample.
	Demo bool
	// DemoTenants is how many consumer tenants the demo subscribes (1 to MaxDemoTenants);
	// zero means DefaultDemoTenants.
	DemoTenants int
	// DemoTimeout bounds each of the demo's waits; zero means DefaultDemoTimeout.
	DemoTimeout time.Duration
	// Logf prints progress messages; nil prints "localenv: ..." lines to stderr.
	Logf func(format string, args ...any)
}

// withDefaults returns a copy of o with unset fields defaulted, or an error.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("localenv: Options.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return o, fmt.Errorf("localenv: %w", err)
	}
	o.Dir = dir
	if o.SampleTimeout <= 0 {
		o.SampleTimeout = DefaultSampleTimeout
	}
	if o.Demo && o.NoSample {
		return o, fmt.Errorf("localenv: the demo needs the sample application (drop --no-sample)")
	}
	if o.DemoTenants == 0 {
		o.DemoTenants = DefaultDemoTenants
	}
	if o.DemoTenants < 1 || o.DemoTenants > MaxDemoTenants {
		return o, fmt.Errorf("localenv: the number of demo tenants must be between 1 and %d, not %d", MaxDemoTenants, o.DemoTenants)
	}
	if o.DemoTimeout <= 0 {
		o.DemoTimeout = DefaultDemoTimeout
	}
	if o.Logf == nil {
		o.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "localenv: "+format+"\n", args...)
		}
	}
	return o, nil
}

// logDir is where the processes' logs go.
func (o Options) logDir() string { return filepath.Join(o.Dir, "logs") }

// binDir is where the operator's binaries are built.
func (o Options) binDir() string { return filepath.Join(o.Dir, "bin") }

// issuerCAFile is the PEM of the CA of the XSUAA stand-in, which the server trusts.
func (o Options) issuerCAFile() string { return filepath.Join(o.Dir, "issuer-ca.crt") }

// certDir holds the webhook CA and serving certificate.
func (o Options) certDir() string { return filepath.Join(o.Dir, "webhook-certs") }
