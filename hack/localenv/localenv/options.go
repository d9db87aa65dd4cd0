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

// certDir holds the webhook CA and serving certificate.
func (o Options) certDir() string { return filepath.Join(o.Dir, "webhook-certs") }
