package main

import (
	"fmt"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/capstan-io/capstan/internal/cli"
	"github.com/capstan-io/capstan/internal/webhook/certrenewal"
)

// renewalOptions configure the renewal of the serving certificate (certrenewal).
type renewalOptions struct {
	secretName string
	cfg        certrenewal.Config
	interval   time.Duration
}

// newRenewalOptions returns the defaults.
func newRenewalOptions() renewalOptions {
	return renewalOptions{interval: time.Hour,
		cfg: certrenewal.Config{Validity: 1000 * 24 * time.Hour, RenewBefore: 60 * 24 * time.Hour}}
}

// addFlags registers the renewal flags and the variables the chart sets.
func (o *renewalOptions) addFlags(fs *cli.FlagSet) {
	cli.Var(fs, &o.secretName, "cert-secret-name", "CERT_SECRET_NAME", "Secret (in --cert-secret-namespace) whose serving certificate the webhook renews before it expires, re-signed by the CA in it; empty: no renewal.")
	cli.Var(fs, &o.cfg.Namespace, "cert-secret-namespace", "POD_NAMESPACE", "Namespace of the certificate Secret (the pod's namespace).")
	cli.Var(fs, &o.cfg.ServiceName, "cert-service-name", "CERT_SERVICE_NAME", "Service whose DNS names a renewed certificate holds.")
	cli.Var(fs, &o.cfg.Validity, "cert-validity", "CERT_VALIDITY", "Validity of a renewed certificate.")
	cli.Var(fs, &o.cfg.RenewBefore, "cert-renew-before", "CERT_RENEW_BEFORE", "Renew the certificate when it expires within this time.")
	cli.Var(fs, &o.interval, "cert-check-interval", "", "How often the certificate in the Secret is checked.")
}

// validate checks the options when renewal is enabled.
func (o *renewalOptions) validate(fs *cli.FlagSet) error {
	if o.secretName == "" {
		return nil
	}
	switch {
	case o.cfg.Namespace == "":
		return fmt.Errorf("certificate renewal needs --cert-secret-namespace (env POD_NAMESPACE), the namespace of the Secret %s", o.secretName)
	case o.cfg.ServiceName == "":
		return fmt.Errorf("certificate renewal needs --cert-service-name (env CERT_SERVICE_NAME)")
	case o.cfg.Validity <= o.cfg.RenewBefore:
		return fmt.Errorf("%s (%s) must exceed %s (%s)", fs.Source("cert-validity"), o.cfg.Validity, fs.Source("cert-renew-before"), o.cfg.RenewBefore)
	case o.interval <= 0:
		return fmt.Errorf("%s must be positive", fs.Source("cert-check-interval"))
	}
	return nil
}

// renewer builds the Renewer, nil when renewal is off.
func (o *renewalOptions) renewer(cfg *rest.Config) (*certrenewal.Renewer, error) {
	if o.secretName == "" {
		return nil, nil
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("Kubernetes client: %w", err)
	}
	r := certrenewal.NewRenewer(kube, o.secretName, o.cfg)
	r.Interval = o.interval
	return r, nil
}
