package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/capstan-io/capstan/internal/testenv/proc"
	"github.com/capstan-io/capstan/internal/testenv/promserver"
	"github.com/capstan-io/capstan/internal/testenv/tools"
)

// prometheusSeq numbers the Prometheus servers of a test binary (their logs and data).
var prometheusSeq atomic.Int32

// StartPrometheus builds Prometheus if needed (hack/install-tools.sh prometheus), starts it
// with a generated configuration scraping opts.Targets (promserver.Config), and returns once
// every target has been scraped successfully. The server stops with the environment, or earlier with Stop.
func (e *Env) StartPrometheus(opts promserver.Options) (*promserver.Server, error) {
	if len(opts.Targets) == 0 {
		return nil, errors.New("testenv: StartPrometheus needs at least one target")
	}
	if opts.ScrapeInterval <= 0 {
		opts.ScrapeInterval = time.Second
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = time.Minute
	}
	if err := tools.Ensure(e.RepoRoot, e.BinDir, []string{"prometheus"}); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	name := fmt.Sprintf("prometheus-%d", prometheusSeq.Add(1))
	dir := filepath.Join(e.Dir, name)
	config, err := promserver.Config(opts)
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
			err = p.WaitTargets(ctx, len(opts.Targets))
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
func (e *Env) tryStartPrometheus(ctx context.Context, name, dir string) (*promserver.Server, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	address := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	pr, err := e.startProcess(name, "prometheus",
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+address,
	)
	if err != nil {
		return nil, err
	}
	p, err := promserver.New("http://"+address, pr)
	if err != nil {
		return nil, errors.Join(err, proc.Terminate([]*proc.Process{pr}))
	}
	if err := waitHTTP(ctx, pr, http.DefaultClient, p.URL+"/-/ready", http.Header{}); err != nil {
		return nil, errors.Join(err, p.Stop())
	}
	return p, nil
}
