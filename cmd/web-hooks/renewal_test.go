package main

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/capstan-io/capstan/internal/webhook/certrenewal"
)

func TestRenewalFromEnv(t *testing.T) {
	t.Setenv("CERT_SECRET_NAME", "capop-webhook-tls")
	t.Setenv("CERT_SERVICE_NAME", "capop-webhook")
	t.Setenv("POD_NAMESPACE", "ops")
	t.Setenv("CERT_VALIDITY", "240h")
	t.Setenv("CERT_RENEW_BEFORE", "24h")
	o, err := renewalFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if o.secretName != "capop-webhook-tls" || o.cfg.ServiceName != "capop-webhook" || o.cfg.Namespace != "ops" ||
		o.cfg.Validity != 240*time.Hour || o.cfg.RenewBefore != 24*time.Hour {
		t.Errorf("options %+v", o)
	}
	o.interval = time.Hour
	if _, err := o.renewer(&rest.Config{Host: "https://127.0.0.1:1"}); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
}

func TestRenewalOptionsRefused(t *testing.T) {
	t.Setenv("CERT_VALIDITY", "ten days")
	if _, err := renewalFromEnv(); err == nil || !strings.Contains(err.Error(), "CERT_VALIDITY") {
		t.Errorf("a malformed CERT_VALIDITY gave %v", err)
	}
	valid := renewalOptions{secretName: "s", interval: time.Hour,
		cfg: certrenewal.Config{Namespace: "ops", ServiceName: "svc", Validity: 240 * time.Hour, RenewBefore: 24 * time.Hour}}
	for name, tc := range map[string]struct {
		edit func(*renewalOptions)
		want string
	}{
		"no namespace":            {func(o *renewalOptions) { o.cfg.Namespace = "" }, "POD_NAMESPACE"},
		"no service":              {func(o *renewalOptions) { o.cfg.ServiceName = "" }, "CERT_SERVICE_NAME"},
		"renewal window too long": {func(o *renewalOptions) { o.cfg.RenewBefore = o.cfg.Validity }, "must exceed"},
		"non-positive interval":   {func(o *renewalOptions) { o.interval = 0 }, "cert-check-interval"},
	} {
		t.Run(name, func(t *testing.T) {
			o := valid
			tc.edit(&o)
			if _, err := o.renewer(&rest.Config{Host: "https://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
