package testenv

import (
	"context"
	"errors"
	"fmt"

	"github.com/capstan-io/capstan/internal/testenv/proc"
)

// apiserverAddr is where kube-apiserver listens and which etcd it uses.
type apiserverAddr struct {
	etcdURL string
	port    int
	host    string
}

// RestartAPIServer stops kube-apiserver (SIGTERM, SIGKILL after a grace period), calls
// during while it is down (nil: nothing), starts it again with the same flags on the same
// address and waits until it is ready. Clients need no change: the address, the serving
// certificate, the tokens and the service-account signing keys stay the same, and etcd keeps
// the data. A test uses it to check that the operator rides out an API server outage.
func (e *Env) RestartAPIServer(ctx context.Context, during func() error) error {
	e.mu.Lock()
	old, stopped := e.apiserver, e.stopped
	e.mu.Unlock()
	if old == nil || stopped {
		return errors.New("testenv: no running kube-apiserver to restart")
	}
	if err := proc.Terminate([]*proc.Process{old}); err != nil {
		return fmt.Errorf("testenv: stopping kube-apiserver: %w", err)
	}
	var duringErr error
	if during != nil {
		duringErr = during()
	}
	a := e.apiserverAddr
	if err := e.startAPIServer(ctx, a.etcdURL, a.port, a.host); err != nil {
		return errors.Join(duringErr, fmt.Errorf("testenv: restarting kube-apiserver: %w", err))
	}
	return duringErr
}
