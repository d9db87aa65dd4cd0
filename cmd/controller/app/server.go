package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
)

// health backs /healthz.
type health struct {
	leader *leaderelection.HealthzAdaptor
}

// newHealth returns health checks; the leader check fails when this instance holds the Lease
// but stopped renewing it.
func newHealth() *health {
	return &health{leader: leaderelection.NewLeaderHealthzAdaptor(20 * time.Second)}
}

// serveMetrics serves /metrics, /healthz and /readyz on its own mux and listener.
func serveMetrics(ctx context.Context, addr string, metrics *controller.Metrics, h *health) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := h.leader.Check(r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		// A standby waiting for the Lease is ready: it serves metrics and can take over.
		_, _ = w.Write([]byte("ok"))
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.FromContext(ctx).Error(err, "Metrics server failed", "address", addr)
		}
	}()
	return srv
}

// shutdownServer stops the metrics server, letting running scrapes finish.
func shutdownServer(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}
