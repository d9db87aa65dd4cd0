package app

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/capstan-io/capstan/internal/cli"
)

// TestCommandInput checks the controller's flags and variables through the shared start-up:
// every registered controller's worker variable is listed and validated.
func TestCommandInput(t *testing.T) {
	tests := map[string]struct {
		args       []string
		env        map[string]string
		wantStdout []string
		wantStderr string
	}{
		"help lists the worker variables": {args: []string{"--help"}, wantStdout: []string{
			"MAX_CONCURRENT_RECONCILES_CAP_APPLICATION)", "MAX_CONCURRENT_RECONCILES_CAP_APPLICATION_VERSION)",
			"MAX_CONCURRENT_RECONCILES_CAP_TENANT)", "MAX_CONCURRENT_RECONCILES_CAP_TENANT_OPERATION)",
			"MAX_CONCURRENT_RECONCILES_DOMAIN)", "MAX_CONCURRENT_RECONCILES_CLUSTER_DOMAIN)",
			"(env CLIENT_QPS)", "(env DETAILED_OPERATIONAL_METRICS)", "(env TENANT_OPERATION_RETRY_INITIAL_DELAY)",
		}},
		"zero workers": {env: map[string]string{"MAX_CONCURRENT_RECONCILES_CAP_TENANT": "0"},
			wantStderr: "controller: MAX_CONCURRENT_RECONCILES_CAP_TENANT (--captenant-workers) must be at least 1"},
		"workers not a number": {env: map[string]string{"MAX_CONCURRENT_RECONCILES_DOMAIN": "one"},
			wantStderr: `controller: invalid environment variable MAX_CONCURRENT_RECONCILES_DOMAIN="one" (--domain-workers): not a valid int`},
		"unknown certificate manager": {env: map[string]string{"CERT_MANAGER": "acme"},
			wantStderr: `controller: CERT_MANAGER (--cert-manager) must be "gardener" or "cert-manager.io", not "acme"`},
		"bad retry delay": {env: map[string]string{"TENANT_OPERATION_RETRY_INITIAL_DELAY": "30"},
			wantStderr: `TENANT_OPERATION_RETRY_INITIAL_DELAY="30" (--retry-initial-delay): not a valid duration`},
		"unknown controller": {args: []string{"--controllers=capapplication,nope"},
			wantStderr: `controller: --controllers: unknown controller "nope"`},
		"renew deadline within the jittered retry period": {args: []string{"--leader-elect-renew-deadline=5s"},
			wantStderr: "controller: --leader-elect-renew-deadline must exceed 1.2 times --leader-elect-retry-period"},
		"lease not longer than the renew deadline": {args: []string{"--leader-elect-lease-duration=10s"},
			wantStderr: "controller: --leader-elect-lease-duration must exceed --leader-elect-renew-deadline"},
		"shorter leader election": {args: []string{"--help", "--leader-elect-lease-duration=8s", "--leader-elect-renew-deadline=6s", "--leader-elect-retry-period=2s"},
			wantStdout: []string{"--leader-elect-lease-duration"}},
		"removed grace period flag": {args: []string{"--shutdown-grace-period=10s"},
			wantStderr: "controller: unknown flag: --shutdown-grace-period"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cli.Execute(context.Background(), NewCommand(), cli.Streams{Args: tc.args, Stdout: &stdout, Stderr: &stderr,
				LookupEnv: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }})
			wantCode := cli.ExitOK
			if tc.wantStderr != "" {
				wantCode = cli.ExitUsage
			}
			if code != wantCode {
				t.Errorf("exit code %d, want %d; stderr: %s", code, wantCode, stderr.String())
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}
