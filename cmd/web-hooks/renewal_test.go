package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/capstan-io/capstan/internal/cli"
)

// parse runs the command's flag and environment handling without running it.
func parse(t *testing.T, env map[string]string, args ...string) (*options, int, string) {
	t.Helper()
	o := newOptions()
	c := newCommand(o)
	c.Run = func(context.Context) error { return nil }
	var stderr bytes.Buffer
	code := cli.Execute(context.Background(), c, cli.Streams{Args: args, Stdout: &bytes.Buffer{}, Stderr: &stderr,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	return o, code, stderr.String()
}

func TestRenewalFromEnv(t *testing.T) {
	o, code, stderr := parse(t, map[string]string{"CERT_SECRET_NAME": "capop-webhook-tls", "CERT_SERVICE_NAME": "capop-webhook",
		"POD_NAMESPACE": "ops", "CERT_VALIDITY": "240h", "CERT_RENEW_BEFORE": "24h"})
	if code != cli.ExitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	r := o.renewal
	if r.secretName != "capop-webhook-tls" || r.cfg.ServiceName != "capop-webhook" || r.cfg.Namespace != "ops" ||
		r.cfg.Validity != 240*time.Hour || r.cfg.RenewBefore != 24*time.Hour || r.interval != time.Hour {
		t.Errorf("options %+v", r)
	}
	if renewer, err := r.renewer(&rest.Config{Host: "https://127.0.0.1:1"}); err != nil || renewer == nil {
		t.Errorf("valid options gave %v, %v", renewer, err)
	}
}

func TestRenewalOptionsRefused(t *testing.T) {
	valid := map[string]string{"CERT_SECRET_NAME": "s", "CERT_SERVICE_NAME": "svc", "POD_NAMESPACE": "ops",
		"CERT_VALIDITY": "240h", "CERT_RENEW_BEFORE": "24h"}
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"malformed validity":      {env: map[string]string{"CERT_VALIDITY": "ten days"}, want: `CERT_VALIDITY="ten days"`},
		"no namespace":            {env: map[string]string{"POD_NAMESPACE": ""}, want: "POD_NAMESPACE"},
		"no service":              {env: map[string]string{"CERT_SERVICE_NAME": ""}, want: "--cert-service-name"},
		"renewal window too long": {env: map[string]string{"CERT_RENEW_BEFORE": "240h"}, want: "must exceed"},
		"non-positive interval":   {args: []string{"--cert-check-interval=0s"}, want: "--cert-check-interval must be positive"},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range valid {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			_, code, stderr := parse(t, env, tc.args...)
			if code != cli.ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit code %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}
