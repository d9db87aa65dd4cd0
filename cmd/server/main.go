// Command server is the subscription server: it receives the subscription callbacks of the
// SAP SaaS provisioning service and the Subscription Manager and turns them into CAPTenants.
// Run it with --help for its flags and environment variables (PORT, TLS_ENABLED, TLS_CERT,
// TLS_KEY, METRICS_PORT and POD_NAME as in the previous implementation; MAX_REQUESTS_IN_FLIGHT
// and CLIENT_CA_FILE are Capstan's own).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/cli"
	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/internal/server"
	"github.com/capstan-io/capstan/internal/server/clientcert"
)

// userAgent identifies the server's API requests.
const userAgent = "capstan-subscription-server"

// options are the server binary's settings.
type options struct {
	kubeconfig string
	qps        float32
	burst      int
	port       int
	tlsEnabled bool
	// clientCAFile is the PEM bundle loaded into server.ClientCAs.
	clientCAFile string
	server       server.Options
}

func main() {
	os.Exit(cli.Main(newCommand()))
}

// newCommand returns the subscription server's command.
func newCommand() cli.Command {
	o := &options{qps: 500, burst: 1000, port: 4000, server: server.Options{
		MetricsAddr:            server.DefaultMetricsAddr,
		ClientTimeout:          30 * time.Second,
		RequestTimeout:         server.DefaultRequestTimeout,
		ShutdownTimeout:        server.DefaultShutdownTimeout,
		DefaultCallbackTimeout: server.DefaultCallbackTimeout,
		MaxBodyBytes:           server.DefaultMaxBodyBytes,
		MaxRequestsInFlight:    server.DefaultMaxRequestsInFlight,
		MaxRequestsQueued:      server.DefaultMaxRequestsQueued,
		TLSCertFile:            "/app/etc/ssl/tls.crt",
		TLSKeyFile:             "/app/etc/ssl/tls.key",
	}}
	return cli.Command{
		Name: "server",
		Description: "The subscription server: receives the subscription callbacks of the SAP SaaS provisioning\n" +
			"service and the Subscription Manager and turns them into CAPTenants.",
		AddFlags: o.addFlags,
		Validate: o.validate,
		Run:      o.run,
	}
}

// addFlags registers the flags and their environment variables.
func (o *options) addFlags(fs *cli.FlagSet) {
	s := &o.server
	cli.Var(fs, &o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; default: KUBECONFIG, ~/.kube/config, then in-cluster.")
	cli.Var(fs, &o.qps, "client-qps", "", "Kubernetes client queries per second; API Priority and Fairness protects the API server beyond it.")
	cli.Var(fs, &o.burst, "client-burst", "", "Kubernetes client burst.")
	cli.Var(fs, &o.port, "port", "PORT", "Port of the subscription API.")
	cli.Var(fs, &o.tlsEnabled, "tls-enabled", "TLS_ENABLED", "Serve the subscription API over HTTPS with --tls-cert-file and --tls-key-file.")
	cli.Var(fs, &s.TLSCertFile, "tls-cert-file", "TLS_CERT", "Serving certificate (PEM) when TLS is enabled.")
	cli.Var(fs, &s.TLSKeyFile, "tls-key-file", "TLS_KEY", "Serving key (PEM) when TLS is enabled.")
	cli.AddMetricsAddressFlag(fs, &s.MetricsAddr)
	cli.Var(fs, &s.Identity, "identity", "POD_NAME", "Names this instance in pending-callback claims; empty picks a random one.")
	cli.Var(fs, &s.ClientTimeout, "client-timeout", "", "Timeout of each outgoing HTTP request (XSUAA, token service, callbacks).")
	cli.Var(fs, &s.RequestTimeout, "request-timeout", "", "Time limit for handling one incoming request.")
	cli.Var(fs, &s.ShutdownTimeout, "shutdown-timeout", "", "Time allowed for in-flight requests and callbacks at shutdown.")
	cli.Var(fs, &s.DefaultCallbackTimeout, "default-callback-timeout", "", "How long a tenant operation may take when the credentials do not say.")
	cli.Var(fs, &s.MaxBodyBytes, "max-body-bytes", "", "Maximum request body size.")
	cli.Var(fs, &s.MaxRequestsInFlight, "max-requests-in-flight", "MAX_REQUESTS_IN_FLIGHT", "API requests handled at once; more wait in the queue.")
	cli.Var(fs, &s.MaxRequestsQueued, "max-requests-queued", "MAX_REQUESTS_QUEUED", "API requests beyond --max-requests-in-flight that wait for a slot, up to 10 s each; more are answered 429 (0: none wait).")
	cli.Var(fs, &s.Profiling, "profiling", "", "Serve Go's pprof profiles under /debug/pprof/ on the metrics address, as Kubernetes components do; off by default (profiles reveal internals and a CPU profile costs CPU while taken).")
	cli.Var(fs, &o.clientCAFile, "client-ca-file", "CLIENT_CA_FILE", "PEM bundle of the CAs the Subscription Manager's forwarded client certificate must chain to; every certificate in it is a trust anchor. Empty refuses all SMS requests.")
}

// validate checks the options and derives the API address.
func (o *options) validate(fs *cli.FlagSet) error {
	s := &o.server
	if o.port < 1 || o.port > 65535 {
		return fmt.Errorf("%s: %d is not a port number (1-65535)", fs.Source("port"), o.port)
	}
	s.Addr = fmt.Sprintf(":%d", o.port)
	if err := cli.ValidateMetricsAddress(fs, s.MetricsAddr); err != nil {
		return err
	}
	if o.tlsEnabled && (s.TLSCertFile == "" || s.TLSKeyFile == "") {
		return fmt.Errorf("%s needs %s and %s", fs.Source("tls-enabled"), fs.Source("tls-cert-file"), fs.Source("tls-key-file"))
	}
	if !o.tlsEnabled {
		s.TLSCertFile, s.TLSKeyFile = "", ""
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"client-timeout", s.ClientTimeout}, {"request-timeout", s.RequestTimeout}, {"shutdown-timeout", s.ShutdownTimeout}, {"default-callback-timeout", s.DefaultCallbackTimeout}} {
		if d.v <= 0 {
			return fmt.Errorf("%s must be positive", fs.Source(d.flag))
		}
	}
	if s.MaxRequestsInFlight < 1 {
		return fmt.Errorf("%s must be at least 1", fs.Source("max-requests-in-flight"))
	}
	if s.MaxRequestsQueued < 0 {
		return fmt.Errorf("%s must not be negative", fs.Source("max-requests-queued"))
	}
	if o.clientCAFile != "" {
		data, err := os.ReadFile(o.clientCAFile)
		if err == nil {
			s.ClientCAs, err = clientcert.LoadPool(data)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", fs.Source("client-ca-file"), err)
		}
	}
	if s.MaxBodyBytes <= 0 || o.qps <= 0 || o.burst <= 0 {
		return fmt.Errorf("%s, %s and %s must be positive", fs.Source("max-body-bytes"), fs.Source("client-qps"), fs.Source("client-burst"))
	}
	return nil
}

// run builds the server and runs it until ctx ends.
func (o *options) run(ctx context.Context) error {
	cfg, err := kube.Config(o.kubeconfig, o.qps, o.burst)
	if err != nil {
		return err
	}
	clients, err := kube.NewClients(cfg, userAgent)
	if err != nil {
		return err
	}
	opts := o.server
	opts.Kube, opts.SME = clients.Kube, clients.SME
	if opts.ClientCAs == nil {
		klog.FromContext(ctx).Info("No --client-ca-file: every Subscription Manager request will be refused")
	}
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
