package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/klog/v2"
)

// testOptions are the flags of the test command.
type testOptions struct {
	port    int
	addr    string
	timeout time.Duration
	enabled bool
}

// testCommand returns a command with typical flags; run records what Run saw.
func testCommand(o *testOptions, runErr error, ran *bool) Command {
	return Command{
		Name:        "testcmd",
		Description: "A test command.",
		AddFlags: func(fs *FlagSet) {
			fs.IntVar(&o.port, "port", 4000, "Port of the API.")
			fs.Env("port", "TEST_PORT")
			fs.DurationVar(&o.timeout, "timeout", time.Second, "A timeout.")
			fs.Env("timeout", "TEST_TIMEOUT")
			fs.BoolVar(&o.enabled, "enabled", false, "A switch.")
			fs.Env("enabled", "TEST_ENABLED")
			o.addr = ":9090"
			AddMetricsAddressFlag(fs, &o.addr)
		},
		Validate: func(fs *FlagSet) error {
			if o.port > 65535 {
				return fmt.Errorf("%s: %d is not a port number", fs.Source("port"), o.port)
			}
			return nil
		},
		Run: func(ctx context.Context) error {
			*ran = true
			klog.FromContext(ctx).Info("Running", "port", o.port)
			return runErr
		},
	}
}

func TestExecute(t *testing.T) {
	tests := map[string]struct {
		args   []string
		env    map[string]string
		runErr error

		wantCode   int
		wantRun    bool
		wantStdout []string
		wantStderr []string
		want       testOptions
	}{
		"help lists flags and their variables": {
			args: []string{"--help"}, wantCode: ExitOK,
			wantStdout: []string{"Usage: testcmd [flags]", "A test command.", "--port int", "(env TEST_PORT)", "(env METRICS_PORT)", "(env LOG_FORMAT)", "--version"},
		},
		"short help": {args: []string{"-h"}, wantCode: ExitOK, wantStdout: []string{"Usage: testcmd"}},
		"version": {
			args: []string{"--version"}, env: map[string]string{"TEST_PORT": "bad"}, wantCode: ExitOK,
			wantStdout: []string{"testcmd version dev (revision "},
		},
		"unknown flag": {
			args: []string{"--nope"}, wantCode: ExitUsage,
			wantStderr: []string{"testcmd: unknown flag: --nope", "Run 'testcmd --help' for usage."},
		},
		"bad flag value": {
			args: []string{"--port=abc"}, wantCode: ExitUsage,
			wantStderr: []string{`testcmd: invalid argument "abc" for "--port" flag`, "Run 'testcmd --help'"},
		},
		"stray argument": {args: []string{"extra"}, wantCode: ExitUsage, wantStderr: []string{`unexpected argument "extra"`}},
		"bad env int": {
			env: map[string]string{"TEST_PORT": "abc"}, wantCode: ExitUsage,
			wantStderr: []string{`testcmd: invalid environment variable TEST_PORT="abc" (--port): not a valid int`},
		},
		"bad env bool": {
			env: map[string]string{"TEST_ENABLED": "yes please"}, wantCode: ExitUsage,
			wantStderr: []string{`TEST_ENABLED="yes please" (--enabled): not a valid bool`},
		},
		"bad env duration": {
			env: map[string]string{"TEST_TIMEOUT": "10"}, wantCode: ExitUsage,
			wantStderr: []string{`TEST_TIMEOUT="10" (--timeout): not a valid duration`},
		},
		"bad env port": {
			env: map[string]string{"METRICS_PORT": "http"}, wantCode: ExitUsage,
			wantStderr: []string{`METRICS_PORT="http" (--metrics-bind-address): "http" is not a port number`},
		},
		"validation names the variable": {
			env: map[string]string{"TEST_PORT": "70000"}, wantCode: ExitUsage,
			wantStderr: []string{"testcmd: TEST_PORT (--port): 70000 is not a port number"},
		},
		"validation names the flag": {
			args: []string{"--port=70000"}, wantCode: ExitUsage,
			wantStderr: []string{"testcmd: --port: 70000 is not a port number"},
		},
		"former flag name of the controller": {
			args: []string{"--logging-format=xml"}, wantCode: ExitUsage,
			wantStderr: []string{`--log-format must be "json" or "text", not "xml"`},
		},
		"bad log format": {
			env: map[string]string{"LOG_FORMAT": "xml"}, wantCode: ExitUsage,
			wantStderr: []string{`LOG_FORMAT (--log-format) must be "json" or "text", not "xml"`},
		},
		"defaults": {
			wantCode: ExitOK, wantRun: true,
			want: testOptions{port: 4000, addr: ":9090", timeout: time.Second},
		},
		"environment": {
			env:      map[string]string{"TEST_PORT": "4001", "TEST_TIMEOUT": "1m", "TEST_ENABLED": "true", "METRICS_PORT": "9191"},
			wantCode: ExitOK, wantRun: true,
			want: testOptions{port: 4001, addr: ":9191", timeout: time.Minute, enabled: true},
		},
		"empty variables are unset": {
			env:      map[string]string{"TEST_PORT": "", "METRICS_PORT": ""},
			wantCode: ExitOK, wantRun: true,
			want: testOptions{port: 4000, addr: ":9090", timeout: time.Second},
		},
		"flags win over the environment": {
			args: []string{"--port=4002", "--metrics-bind-address=127.0.0.1:0"},
			env:  map[string]string{"TEST_PORT": "4001", "METRICS_PORT": "9191"}, wantCode: ExitOK, wantRun: true,
			want: testOptions{port: 4002, addr: "127.0.0.1:0", timeout: time.Second},
		},
		"klog-style verbosity": {
			args: []string{"-v=2"}, wantCode: ExitOK, wantRun: true,
			want: testOptions{port: 4000, addr: ":9090", timeout: time.Second},
		},
		"negative verbosity": {
			env: map[string]string{"LOG_VERBOSITY": "-1"}, wantCode: ExitUsage,
			wantStderr: []string{"LOG_VERBOSITY (--v) must not be negative"},
		},
		"run failure": {
			runErr: errors.New("boom"), wantCode: ExitFailure, wantRun: true,
			wantStderr: []string{`"msg":"Exiting with an error"`, `"err":"boom"`},
			want:       testOptions{port: 4000, addr: ":9090", timeout: time.Second},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var o testOptions
			var ran bool
			var stdout, stderr bytes.Buffer
			code := Execute(context.Background(), testCommand(&o, tc.runErr, &ran), Streams{
				Args: tc.args, Stdout: &stdout, Stderr: &stderr,
				LookupEnv: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok },
			})
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			if ran != tc.wantRun {
				t.Errorf("Run called: %v, want %v", ran, tc.wantRun)
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if tc.wantCode == ExitUsage && stdout.Len() > 0 {
				t.Errorf("a usage error printed to stdout: %s", stdout.String())
			}
			if tc.wantRun && o != tc.want {
				t.Errorf("options %+v, want %+v", o, tc.want)
			}
		})
	}
}

// TestJSONLogKeys checks the keys of the default log format.
func TestJSONLogKeys(t *testing.T) {
	var o testOptions
	var ran bool
	var stderr bytes.Buffer
	code := Execute(context.Background(), testCommand(&o, nil, &ran), Streams{Stdout: &bytes.Buffer{}, Stderr: &stderr,
		LookupEnv: func(string) (string, bool) { return "", false }})
	if code != ExitOK {
		t.Fatalf("exit code %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var running map[string]any
	for _, line := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		if entry["msg"] == "Running" {
			running = entry
		}
	}
	if running == nil {
		t.Fatalf("no Running entry in %q", lines)
	}
	for _, key := range []string{"ts", "level", "caller", "msg", "v", "port"} {
		if _, ok := running[key]; !ok {
			t.Errorf("log entry %v lacks key %q", running, key)
		}
	}
	if running["level"] != "info" || running["port"] != float64(4000) {
		t.Errorf("entry %v, want level info and port 4000", running)
	}
	if _, err := time.Parse(time.RFC3339, running["ts"].(string)); err != nil {
		t.Errorf("ts %v is not RFC 3339: %v", running["ts"], err)
	}
}

// TestTextLogs checks the text option.
func TestTextLogs(t *testing.T) {
	var o testOptions
	var ran bool
	var stderr bytes.Buffer
	code := Execute(context.Background(), testCommand(&o, nil, &ran), Streams{Args: []string{"--log-format=text"},
		Stdout: &bytes.Buffer{}, Stderr: &stderr, LookupEnv: func(string) (string, bool) { return "", false }})
	if code != ExitOK {
		t.Fatalf("exit code %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), `"Running" port=4000`) || strings.Contains(stderr.String(), `{"ts"`) {
		t.Errorf("not klog text:\n%s", stderr.String())
	}
}

// TestExecuteCancelled checks that Run sees a context cancelled by a signal.
func TestExecuteCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := Command{Name: "testcmd", AddFlags: func(*FlagSet) {}, Run: func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("context not cancelled")
		}
	}}
	var stderr bytes.Buffer
	if code := Execute(ctx, c, Streams{Stdout: &bytes.Buffer{}, Stderr: &stderr, LookupEnv: func(string) (string, bool) { return "", false }}); code != ExitOK {
		t.Errorf("exit code %d: %s", code, stderr.String())
	}
}
