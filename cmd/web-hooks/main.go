// Command web-hooks runs the validating and mutating admission webhooks of the sme.sap.com
// API. See docs/internals/webhooks.md for the rules, the configuration and the registration.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr/funcr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/internal/webhook"
	"github.com/capstan-io/capstan/internal/webhook/certrenewal"
	"github.com/capstan-io/capstan/internal/webhook/mutation"
	"github.com/capstan-io/capstan/internal/webhook/validation"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

func main() {
	if err := run(); err != nil {
		klog.ErrorS(err, "web-hooks failed")
		klog.Flush()
		os.Exit(1)
	}
}

// run parses the configuration, builds the server and serves until SIGTERM or SIGINT.
func run() error {
	opts := webhook.Options{}
	var kubeconfig, logFormat string
	renewal, err := renewalFromEnv()
	if err != nil {
		return err
	}
	fs := flag.CommandLine
	klog.InitFlags(fs)
	fs.IntVar(&opts.Port, "port", envInt("WEBHOOK_PORT", 8443), "port of the webhook listener (env WEBHOOK_PORT)")
	fs.BoolVar(&opts.TLSEnabled, "tls-enabled", envBool("TLS_ENABLED", true), "serve the webhooks over TLS (env TLS_ENABLED); the API server requires it")
	fs.StringVar(&opts.CertFile, "tls-cert-file", envString("TLS_CERT", "/app/etc/ssl/tls.crt"), "serving certificate, reloaded when it changes (env TLS_CERT)")
	fs.StringVar(&opts.KeyFile, "tls-key-file", envString("TLS_KEY", "/app/etc/ssl/tls.key"), "serving key, reloaded when it changes (env TLS_KEY)")
	fs.DurationVar(&opts.CertReloadInterval, "cert-reload-interval", 10*time.Second, "how often the certificate files are checked for changes")
	fs.IntVar(&opts.MetricsPort, "metrics-port", envInt("METRICS_PORT", 9090), "plain-HTTP port of /metrics, /healthz and /readyz (env METRICS_PORT); -1 disables it")
	fs.StringVar(&opts.BindAddress, "bind-address", "", "address to listen on (all interfaces when empty)")
	fs.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long in-flight reviews may take after SIGTERM")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file; default: KUBECONFIG, ~/.kube/config, then the in-cluster configuration")
	fs.StringVar(&logFormat, "log-format", envString("LOG_FORMAT", "text"), "log format: text or json (env LOG_FORMAT)")
	fs.StringVar(&renewal.secretName, "cert-secret-name", renewal.secretName, "Secret (in POD_NAMESPACE) whose serving certificate the webhook renews before it expires, re-signed by the CA in it (env CERT_SECRET_NAME); empty: no renewal")
	fs.StringVar(&renewal.cfg.ServiceName, "cert-service-name", renewal.cfg.ServiceName, "Service whose DNS names a renewed certificate holds (env CERT_SERVICE_NAME)")
	fs.DurationVar(&renewal.cfg.Validity, "cert-validity", renewal.cfg.Validity, "validity of a renewed certificate (env CERT_VALIDITY)")
	fs.DurationVar(&renewal.cfg.RenewBefore, "cert-renew-before", renewal.cfg.RenewBefore, "renew the certificate when it expires within this time (env CERT_RENEW_BEFORE)")
	fs.DurationVar(&renewal.interval, "cert-check-interval", time.Hour, "how often the certificate in the Secret is checked")
	flag.Parse()
	if err := setupLogging(logFormat); err != nil {
		return err
	}
	defer klog.Flush()

	cfg, err := kube.Config(kubeconfig, 50, 100)
	if err != nil {
		return err
	}
	cfg.UserAgent = "capstan-web-hooks"
	client, err := smeclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("sme.sap.com client: %w", err)
	}
	var renewer *certrenewal.Renewer
	if renewal.secretName != "" {
		if renewer, err = renewal.renewer(cfg); err != nil {
			return err
		}
	}
	metrics := webhook.NewMetrics()
	handler := webhook.NewHandler(validation.New(client).Validate, mutation.New(client).Mutate, metrics)
	server, err := webhook.NewServer(opts, handler, metrics)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx = klog.NewContext(ctx, klog.Background())
	if renewer == nil {
		return server.Run(ctx)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { renewer.Run(ctx) })
	return server.Run(ctx)
}

// renewalOptions configure the renewal of the serving certificate (certrenewal).
type renewalOptions struct {
	secretName string
	cfg        certrenewal.Config
	interval   time.Duration
}

// renewalFromEnv reads the defaults of the renewal flags from the environment the chart sets.
func renewalFromEnv() (renewalOptions, error) {
	o := renewalOptions{
		secretName: os.Getenv("CERT_SECRET_NAME"),
		cfg: certrenewal.Config{Namespace: os.Getenv("POD_NAMESPACE"), ServiceName: os.Getenv("CERT_SERVICE_NAME"),
			Validity: 1000 * 24 * time.Hour, RenewBefore: 60 * 24 * time.Hour},
	}
	for name, target := range map[string]*time.Duration{"CERT_VALIDITY": &o.cfg.Validity, "CERT_RENEW_BEFORE": &o.cfg.RenewBefore} {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return o, fmt.Errorf("invalid %s=%q: %w", name, v, err)
			}
			*target = d
		}
	}
	return o, nil
}

// renewer checks the options and builds the Renewer.
func (o renewalOptions) renewer(cfg *rest.Config) (*certrenewal.Renewer, error) {
	switch {
	case o.cfg.Namespace == "":
		return nil, fmt.Errorf("certificate renewal needs POD_NAMESPACE, the namespace of the Secret %s", o.secretName)
	case o.cfg.ServiceName == "":
		return nil, fmt.Errorf("certificate renewal needs --cert-service-name (CERT_SERVICE_NAME)")
	case o.cfg.Validity <= o.cfg.RenewBefore:
		return nil, fmt.Errorf("--cert-validity (%s) must exceed --cert-renew-before (%s)", o.cfg.Validity, o.cfg.RenewBefore)
	case o.interval <= 0:
		return nil, fmt.Errorf("--cert-check-interval must be positive")
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("Kubernetes client: %w", err)
	}
	r := certrenewal.NewRenewer(kube, o.secretName, o.cfg)
	r.Interval = o.interval
	return r, nil
}

// setupLogging switches klog to JSON lines when asked; text is klog's own format.
func setupLogging(format string) error {
	switch format {
	case "text", "":
		return nil
	case "json":
		logger := funcr.NewJSON(func(obj string) { fmt.Fprintln(os.Stderr, obj) },
			funcr.Options{LogTimestamp: true, Verbosity: verbosity()})
		klog.SetLogger(logger)
		return nil
	}
	return fmt.Errorf("unknown --log-format %q (text or json)", format)
}

// verbosity reads klog's -v flag for the JSON logger.
func verbosity() int {
	if f := flag.Lookup("v"); f != nil {
		if v, err := strconv.Atoi(f.Value.String()); err == nil {
			return v
		}
	}
	return 0
}

// envString returns the variable's value, or def when unset or empty.
func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// envInt returns the variable as an integer, or def when unset; an invalid value stops the
// program rather than silently using the default.
func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "invalid %s=%q: %v\n", name, v, err)
		os.Exit(2)
	}
	return n
}

// envBool returns the variable as a boolean, or def when unset.
func envBool(name string, def bool) bool {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "invalid %s=%q: %v\n", name, v, err)
		os.Exit(2)
	}
	return b
}
