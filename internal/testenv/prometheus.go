package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"sigs.k8s.io/yaml"
)

// PrometheusTarget is a metrics endpoint a test serves for a test Prometheus to scrape.
type PrometheusTarget struct {
	// URL of the endpoint, for example an httptest server's URL plus "/metrics".
	URL string
	// Job and Namespace become the job and namespace labels of every series scraped from the
	// endpoint, as a ServiceMonitor's targets carry them in a cluster: the job is the name of
	// the Service the operator creates for a workload (<cav>-<workload>-svc).
	Job       string
	Namespace string
}

// PrometheusOptions configure StartPrometheus.
type PrometheusOptions struct {
	// Targets are scraped from the start; at least one is required.
	Targets []PrometheusTarget
	// ScrapeInterval defaults to one second.
	ScrapeInterval time.Duration
	// ReadyTimeout bounds the wait for the server and for every target to be up; default one
	// minute.
	ReadyTimeout time.Duration
}

// Prometheus is a Prometheus server of an environment, listening on loopback.
type Prometheus struct {
	// URL is the server's address, for example http://127.0.0.1:40123.
	URL string
	// API is a client of its HTTP API.
	API  promv1.API
	proc *process
}

// prometheusSeq numbers the Prometheus servers of a test binary (their logs and data).
var prometheusSeq atomic.Int32

// StartPrometheus builds Prometheus if needed (hack/install-tools.sh prometheus), starts it
// with a generated configuration scraping opts.Targets, and returns once every target has
// been scraped successfully. The server stops with the environment, or earlier with Stop.
func (e *Env) StartPrometheus(opts PrometheusOptions) (*Prometheus, error) {
	if len(opts.Targets) == 0 {
		return nil, errors.New("testenv: StartPrometheus needs at least one target")
	}
	if opts.ScrapeInterval <= 0 {
		opts.ScrapeInterval = time.Second
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = time.Minute
	}
	if err := ensureTools(e.RepoRoot, e.BinDir, []string{"prometheus"}); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	name := fmt.Sprintf("prometheus-%d", prometheusSeq.Add(1))
	dir := filepath.Join(e.Dir, name)
	config, err := prometheusConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), config, 0o644); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.ReadyTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		p, err := e.tryStartPrometheus(ctx, name, dir)
		if err == nil {
			err = p.waitTargets(ctx, len(opts.Targets))
			if err != nil {
				err = errors.Join(err, p.Stop())
				return nil, fmt.Errorf("testenv: %s: %w", name, err)
			}
			e.opts.Logf("%s ready at %s", name, p.URL)
			return p, nil
		}
		if attempt == controlPlaneAttempts || ctx.Err() != nil || lineContaining(err.Error(), "address already in use") == "" {
			return nil, fmt.Errorf("testenv: %s: %w", name, err)
		}
	}
}

// tryStartPrometheus starts the server on a free port and waits until it is ready.
func (e *Env) tryStartPrometheus(ctx context.Context, name, dir string) (*Prometheus, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	address := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	proc, err := e.startProcess(name, "prometheus",
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+address,
	)
	if err != nil {
		return nil, err
	}
	p := &Prometheus{URL: "http://" + address, proc: proc}
	client, err := api.NewClient(api.Config{Address: p.URL})
	if err != nil {
		return nil, errors.Join(err, p.Stop())
	}
	p.API = promv1.NewAPI(client)
	if err := waitHTTP(ctx, proc, http.DefaultClient, p.URL+"/-/ready", http.Header{}); err != nil {
		return nil, errors.Join(err, p.Stop())
	}
	return p, nil
}

// waitTargets waits until want targets are active and were last scraped successfully.
func (p *Prometheus) waitTargets(ctx context.Context, want int) error {
	var last string
	for {
		if p.proc.exited() {
			return p.proc.exitError()
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
func (p *Prometheus) Stop() error {
	if p.proc.exited() {
		return nil
	}
	return terminate([]*process{p.proc})
}

// promConfig is the part of Prometheus' configuration file that StartPrometheus writes.
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

// prometheusConfig renders the configuration: one scrape job per target, whose relabelling
// replaces the job label and adds the namespace label.
func prometheusConfig(opts PrometheusOptions) ([]byte, error) {
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
