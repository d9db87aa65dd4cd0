// Command web-hooks runs the validating and mutating admission webhooks of the sme.sap.com
// API. See docs/internals/webhooks.md for the rules, the configuration and the registration, and
// --help for the flags and their environment variables.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/capstan-io/capstan/internal/cli"
	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/internal/webhook"
	"github.com/capstan-io/capstan/internal/webhook/mutation"
	"github.com/capstan-io/capstan/internal/webhook/validation"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// options are the binary's settings.
type options struct {
	kubeconfig  string
	metricsAddr string
	webhook     webhook.Options
	renewal     renewalOptions
}

func main() {
	os.Exit(cli.Main(newCommand(newOptions())))
}

// newOptions returns the defaults.
func newOptions() *options {
	return &options{metricsAddr: ":9090", renewal: newRenewalOptions(), webhook: webhook.Options{
		Port: 8443, TLSEnabled: true, CertFile: "/app/etc/ssl/tls.crt", KeyFile: "/app/etc/ssl/tls.key",
		CertReloadInterval: 10 * time.Second, ShutdownTimeout: 20 * time.Second,
		// The binary serves metrics and health with its own cli.OpsServer.
		MetricsPort: -1,
	}}
}

// newCommand returns the web-hooks command for the options.
func newCommand(o *options) cli.Command {
	return cli.Command{
		Name:        "web-hooks",
		Description: "Runs the validating and mutating admission webhooks of the sme.sap.com API.",
		AddFlags:    o.addFlags,
		Validate:    o.validate,
		Run:         o.run,
	}
}

// addFlags registers the flags and their environment variables.
func (o *options) addFlags(fs *cli.FlagSet) {
	w := &o.webhook
	cli.Var(fs, &w.Port, "port", "WEBHOOK_PORT", "Port of the webhook listener.")
	cli.Var(fs, &w.TLSEnabled, "tls-enabled", "TLS_ENABLED", "Serve the webhooks over TLS; the API server requires it.")
	cli.Var(fs, &w.CertFile, "tls-cert-file", "TLS_CERT", "Serving certificate, reloaded when it changes.")
	cli.Var(fs, &w.KeyFile, "tls-key-file", "TLS_KEY", "Serving key, reloaded when it changes.")
	cli.Var(fs, &w.CertReloadInterval, "cert-reload-interval", "", "How often the certificate files are checked for changes.")
	cli.AddMetricsAddressFlag(fs, &o.metricsAddr)
	cli.Var(fs, &w.BindAddress, "bind-address", "", "Address of the webhook listener (all interfaces when empty).")
	cli.Var(fs, &w.ShutdownTimeout, "shutdown-timeout", "", "How long in-flight reviews may take after SIGTERM.")
	cli.Var(fs, &o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; default: KUBECONFIG, ~/.kube/config, then the in-cluster configuration.")
	o.renewal.addFlags(fs)
}

// validate checks the options.
func (o *options) validate(fs *cli.FlagSet) error {
	w := &o.webhook
	if w.Port < 0 || w.Port > 65535 {
		return fmt.Errorf("%s: %d is not a port number", fs.Source("port"), w.Port)
	}
	if err := cli.ValidateMetricsAddress(fs, o.metricsAddr); err != nil {
		return err
	}
	if w.TLSEnabled && (w.CertFile == "" || w.KeyFile == "") {
		return fmt.Errorf("%s needs %s and %s", fs.Source("tls-enabled"), fs.Source("tls-cert-file"), fs.Source("tls-key-file"))
	}
	if w.CertReloadInterval <= 0 || w.ShutdownTimeout <= 0 {
		return fmt.Errorf("%s and %s must be positive", fs.Source("cert-reload-interval"), fs.Source("shutdown-timeout"))
	}
	return o.renewal.validate(fs)
}

// run builds the webhook server and serves until ctx ends.
func (o *options) run(ctx context.Context) error {
	cfg, err := kube.Config(o.kubeconfig, 50, 100)
	if err != nil {
		return err
	}
	cfg.UserAgent = "capstan-web-hooks"
	client, err := smeclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("sme.sap.com client: %w", err)
	}
	renewer, err := o.renewal.renewer(cfg)
	if err != nil {
		return err
	}
	metrics := webhook.NewMetrics()
	handler := webhook.NewHandler(validation.New(client).Validate, mutation.New(client).Mutate, metrics)
	server, err := webhook.NewServer(o.webhook, handler, metrics)
	if err != nil {
		return err
	}
	ops, err := cli.NewOpsServer(o.metricsAddr, metrics.Registry)
	if err != nil {
		return err
	}
	ops.AddReadyCheck("webhook", server.ReadyCheck)
	return cli.RunWithOps(ctx, ops, func(ctx context.Context) error {
		if renewer == nil {
			return server.Run(ctx)
		}
		var wg sync.WaitGroup
		defer wg.Wait()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		wg.Go(func() { renewer.Run(ctx) })
		return server.Run(ctx)
	})
}
