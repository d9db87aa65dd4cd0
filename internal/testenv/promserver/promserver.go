// Package promserver describes the Prometheus servers of a test environment: the targets a
// test serves, the configuration that scrapes them, and a running server's API client,
// readiness wait and stop. testenv.Env.StartPrometheus runs one.
package promserver

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/internal/testenv/proc"
)

// pollInterval is how often WaitTargets asks for the targets.
const pollInterval = 100 * time.Millisecond

// Target is a metrics endpoint a test serves for a test Prometheus to scrape.
type Target struct {
	// URL of the endpoint, for example an httptest server's URL plus "/metrics".
	URL string
	// Job and Namespace become the job and namespace labels of every series scraped from the
	// endpoint, as a ServiceMonitor's targets carry them in a cluster: the job is the name of
	// the Service the operator creates for a workload (<cav>-<workload>-svc).
	Job       string
	Namespace string
}

// Options configure a server (testenv.Env.StartPrometheus starts one).
type Options struct {
	// Targets are scraped from the start; at least one is required.
	Targets []Target
	// ScrapeInterval defaults to one second.
	ScrapeInterval time.Duration
	// ReadyTimeout bounds the wait for the server and for every target to be up; default one
	// minute.
	ReadyTimeout time.Duration
}

// Server is a Prometheus server of an environment, listening on loopback.
type Server struct {
	// URL is the server's address, for example http://127.0.0.1:40123.
	URL string
	// API is a client of its HTTP API.
	API  promv1.API
	proc *proc.Process
}

// New returns the server run by p at baseURL with its API client.
func New(baseURL string, p *proc.Process) (*Server, error) {
	client, err := api.NewClient(api.Config{Address: baseURL})
	if err != nil {
		return nil, err
	}
	return &Server{URL: baseURL, API: promv1.NewAPI(client), proc: p}, nil
}

// WaitTargets waits until want targets are active and were last scraped successfully.
func (p *Server) WaitTargets(ctx context.Context, want int) error {
	var last string
	for {
		if p.proc.Exited() {
			return p.proc.ExitError()
		}
		res, err := p.API.Targets(ctx)
		if err == nil {
			up := 0
			for _, t := range res.Active {
				if t.Health == promv1.HealthGood {
					up++
				} else {
					last = fmt.Sprintf("target %s is %s: %s", t.ScrapeURL, t.Health, t.LastError)
				}
			}
			if up == want {
				return nil
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d targets not up in time (last: %s)", want, last)
		case <-time.After(pollInterval):
		}
	}
}

// Stop stops the server (SIGTERM, then SIGKILL) and waits until it has exited, for tests
// that need Prometheus to go away. It is safe to call more than once.
func (p *Server) Stop() error {
	if p.proc.Exited() {
		return nil
	}
	return proc.Terminate([]*proc.Process{p.proc})
}

// promConfig is the part of Prometheus' configuration file that Config renders.
type promConfig struct {
	Global        promGlobal     `json:"global"`
	ScrapeConfigs []scrapeConfig `json:"scrape_configs"`
}

type promGlobal struct {
	ScrapeInterval     string `json:"scrape_interval"`
	ScrapeTimeout      string `json:"scrape_timeout"`
	EvaluationInterval string `json:"evaluation_interval"`
}

type scrapeConfig struct {
	JobName        string         `json:"job_name"`
	Scheme         string         `json:"scheme"`
	MetricsPath    string         `json:"metrics_path"`
	StaticConfigs  []staticConfig `json:"static_configs"`
	RelabelConfigs []relabel      `json:"relabel_configs"`
}

type staticConfig struct {
	Targets []string `json:"targets"`
}

type relabel struct {
	TargetLabel string `json:"target_label"`
	Replacement string `json:"replacement"`
}

// Config renders the configuration: one scrape job per target, whose relabelling
// replaces the job label and adds the namespace label.
func Config(opts Options) ([]byte, error) {
	interval := promDuration(opts.ScrapeInterval)
	cfg := promConfig{Global: promGlobal{ScrapeInterval: interval, ScrapeTimeout: interval, EvaluationInterval: interval}}
	for i, t := range opts.Targets {
		u, err := url.Parse(t.URL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("target %d: %q is not an http URL", i, t.URL)
		}
		if t.Job == "" || t.Namespace == "" {
			return nil, fmt.Errorf("target %d (%s): job and namespace are required", i, t.URL)
		}
		path := u.Path
		if path == "" {
			path = "/metrics"
		}
		cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, scrapeConfig{
			JobName: fmt.Sprintf("target-%d", i), Scheme: u.Scheme, MetricsPath: path,
			StaticConfigs:  []staticConfig{{Targets: []string{u.Host}}},
			RelabelConfigs: []relabel{{TargetLabel: "job", Replacement: t.Job}, {TargetLabel: "namespace", Replacement: t.Namespace}},
		})
	}
	return yaml.Marshal(cfg)
}

// promDuration formats a duration in Prometheus' syntax, in whole milliseconds.
func promDuration(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "ms"
}
