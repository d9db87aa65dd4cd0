// Command server is the subscription server: it receives the subscription callbacks of the
// SAP SaaS provisioning service and the Subscription Manager and turns them into CAPTenants.
//
// Configuration (environment, as the previous implementation; flags for the rest):
//
//	PORT            API port (default 4000)
//	TLS_ENABLED     "true" serves the API over HTTPS with TLS_CERT and TLS_KEY (file paths)
//	METRICS_PORT    metrics and health port (default 9090)
//	POD_NAME        names this instance in pending-callback claims (default: random)
//	MAX_REQUESTS_IN_FLIGHT  default of --max-requests-in-flight
//	CLIENT_CA_FILE          default of --client-ca-file
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/internal/server"
	"github.com/capstan-io/capstan/internal/server/clientcert"
)

// userAgent identifies the server's API requests.
const userAgent = "capstan-subscription-server"

// flags are the command-line options.
type flags struct {
	kubeconfig             string
	qps                    float64
	burst                  int
	clientTimeout          time.Duration
	requestTimeout         time.Duration
	shutdownTimeout        time.Duration
	defaultCallbackTimeout time.Duration
	maxBodyBytes           int64
	maxRequestsInFlight    int
	clientCAFile           string
}

func main() {
	klog.InitFlags(nil)
	var f flags
	flag.StringVar(&f.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; default: KUBECONFIG, ~/.kube/config, then in-cluster.")
	flag.Float64Var(&f.qps, "client-qps", 25, "Kubernetes client queries per second.")
	flag.IntVar(&f.burst, "client-burst", 50, "Kubernetes client burst.")
	flag.DurationVar(&f.clientTimeout, "client-timeout", 30*time.Second, "Timeout of each outgoing HTTP request (XSUAA, token service, callbacks).")
	flag.DurationVar(&f.requestTimeout, "request-timeout", server.DefaultRequestTimeout, "Time limit for handling one incoming request.")
	flag.DurationVar(&f.shutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "Time allowed for in-flight requests and callbacks at shutdown.")
	flag.DurationVar(&f.defaultCallbackTimeout, "default-callback-timeout", server.DefaultCallbackTimeout, "How long a tenant operation may take when the credentials do not say.")
	flag.Int64Var(&f.maxBodyBytes, "max-body-bytes", server.DefaultMaxBodyBytes, "Maximum request body size.")
	flag.IntVar(&f.maxRequestsInFlight, "max-requests-in-flight", 0,
		fmt.Sprintf("API requests handled at once; more are answered 429. Default: env MAX_REQUESTS_IN_FLIGHT, else %d.", server.DefaultMaxRequestsInFlight))
	flag.StringVar(&f.clientCAFile, "client-ca-file", os.Getenv("CLIENT_CA_FILE"),
		"PEM bundle of the CAs the Subscription Manager's forwarded client certificate must chain to; every certificate in it is a trust anchor. Empty refuses all SMS requests (env CLIENT_CA_FILE).")
	flag.Parse()
	if err := run(f); err != nil {
		klog.ErrorS(err, "Subscription server failed")
		klog.FlushAndExit(klog.ExitFlushTimeout, 1)
	}
	klog.Flush()
}

// run builds the server from flags and environment and runs it until SIGINT or SIGTERM.
func run(f flags) error {
	opts, err := optionsFromEnv()
	if err != nil {
		return err
	}
	cfg, err := kube.Config(f.kubeconfig, float32(f.qps), f.burst)
	if err != nil {
		return err
	}
	clients, err := kube.NewClients(cfg, userAgent)
	if err != nil {
		return err
	}
	opts.Kube, opts.SME = clients.Kube, clients.SME
	opts.ClientTimeout = f.clientTimeout
	opts.RequestTimeout = f.requestTimeout
	opts.ShutdownTimeout = f.shutdownTimeout
	opts.DefaultCallbackTimeout = f.defaultCallbackTimeout
	opts.MaxBodyBytes = f.maxBodyBytes
	if f.maxRequestsInFlight == 0 {
		if f.maxRequestsInFlight, err = envInt("MAX_REQUESTS_IN_FLIGHT", server.DefaultMaxRequestsInFlight); err != nil {
			return err
		}
	}
	if f.maxRequestsInFlight < 1 {
		return fmt.Errorf("--max-requests-in-flight=%d: must be at least 1", f.maxRequestsInFlight)
	}
	opts.MaxRequestsInFlight = f.maxRequestsInFlight
	if f.clientCAFile != "" {
		data, err := os.ReadFile(f.clientCAFile)
		if err != nil {
			return fmt.Errorf("--client-ca-file: %w", err)
		}
		if opts.ClientCAs, err = clientcert.LoadPool(data); err != nil {
			return fmt.Errorf("--client-ca-file %s: %w", f.clientCAFile, err)
		}
	} else {
		klog.InfoS("No --client-ca-file: every Subscription Manager request will be refused")
	}
	opts.Identity = os.Getenv("POD_NAME")
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return srv.Run(klog.NewContext(ctx, klog.Background()))
}

// optionsFromEnv reads PORT, METRICS_PORT, TLS_ENABLED, TLS_CERT and TLS_KEY.
func optionsFromEnv() (server.Options, error) {
	var opts server.Options
	port, err := envPort("PORT", 4000)
	if err != nil {
		return opts, err
	}
	metricsPort, err := envPort("METRICS_PORT", 9090)
	if err != nil {
		return opts, err
	}
	opts.Addr, opts.MetricsAddr = fmt.Sprintf(":%d", port), fmt.Sprintf(":%d", metricsPort)
	if enabled, _ := strconv.ParseBool(os.Getenv("TLS_ENABLED")); enabled {
		opts.TLSCertFile, opts.TLSKeyFile = os.Getenv("TLS_CERT"), os.Getenv("TLS_KEY")
		if opts.TLSCertFile == "" || opts.TLSKeyFile == "" {
			return opts, errors.New("TLS_ENABLED needs TLS_CERT and TLS_KEY")
		}
	}
	return opts, nil
}

// envInt reads an integer from the environment, def when unset.
func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not an integer", name, v)
	}
	return n, nil
}

// envPort reads a port number from the environment.
func envPort(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	port, err := strconv.Atoi(v)
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port number", name, v)
	}
	return port, nil
}
