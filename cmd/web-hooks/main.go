// Command web-hooks runs the validating and mutating admission webhooks of the sme.sap.com
// API. See docs/webhooks.md for the rules, the configuration and the registration.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/go-logr/logr/funcr"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/internal/webhook"
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
	metrics := webhook.NewMetrics()
	handler := webhook.NewHandler(validation.New(client).Validate, mutation.New(client).Mutate, metrics)
	server, err := webhook.NewServer(opts, handler, metrics)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return server.Run(klog.NewContext(ctx, klog.Background()))
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
