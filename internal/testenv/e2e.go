package testenv

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/testenv/manifests"
	"github.com/capstan-io/capstan/internal/testenv/proc"
)

// e2eControllers are the kube-controller-manager controllers E2E tests need.
var e2eControllers = []string{
	"deployment-controller", "replicaset-controller", "job-controller",
	"namespace-controller", "garbage-collector-controller",
	"serviceaccount-controller", "endpointslice-controller",
	"node-lifecycle-controller",
}

// kwokNodeAnnotation marks the nodes kwok manages.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// startE2E starts kube-controller-manager, kube-scheduler and kwok, creates
// the fake node and waits until it is ready and untainted.
func (e *Env) startE2E(ctx context.Context) error {
	began := time.Now()
	stages, err := manifests.WriteKwokStages(ctx, e.Dir, FailPodLabel)
	if err != nil {
		return err
	}
	kc := "--kubeconfig=" + e.KubeconfigPath
	// --secure-port=0: no HTTPS endpoints, so no ports to collide. The client rate limits
	// are raised from the defaults (20 and 50 QPS), which would otherwise make the control
	// plane, not the operator, the bottleneck of tests and benchmarks with many Jobs.
	if _, err := e.startProcess("kube-controller-manager", "kube-controller-manager", kc,
		"--controllers="+strings.Join(e2eControllers, ","),
		"--leader-elect=false",
		"--kube-api-qps=1000", "--kube-api-burst=2000",
		"--concurrent-job-syncs=50", "--concurrent-deployment-syncs=20", "--concurrent-replicaset-syncs=20",
		"--service-account-private-key-file="+e.secrets.SAKeyFile,
		"--root-ca-file="+e.secrets.CAFile,
		"--secure-port=0",
	); err != nil {
		return err
	}
	if _, err := e.startProcess("kube-scheduler", "kube-scheduler", kc,
		"--leader-elect=false",
		"--kube-api-qps=1000", "--kube-api-burst=2000",
		"--secure-port=0",
	); err != nil {
		return err
	}
	if _, err := e.startProcess("kwok", "kwok", kc,
		"--config="+stages,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+kwokNodeAnnotation+"=fake",
	); err != nil {
		return err
	}
	if err := e.createFakeNode(ctx); err != nil {
		return err
	}
	e.opts.Logf("e2e components and node %s ready in %s", e.NodeName, time.Since(began).Round(time.Millisecond))
	return nil
}

// createFakeNode registers the kwok node and waits until it is Ready and
// has no taints. The node-lifecycle controller removes the not-ready taint;
// if it has not after a while, the taints are removed here.
func (e *Env) createFakeNode(ctx context.Context) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        "kwok-node-0",
		Annotations: map[string]string{kwokNodeAnnotation: "fake"},
		Labels: map[string]string{
			"kubernetes.io/hostname": "kwok-node-0",
			"kubernetes.io/os":       "linux",
			"kubernetes.io/arch":     "amd64",
			"type":                   "kwok",
		},
	}}
	nodes := e.clientset.CoreV1().Nodes()
	if _, err := nodes.Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating fake node: %w", err)
	}
	e.NodeName = node.Name
	readySince := time.Time{}
	return e.waitE2E(ctx, "fake node "+node.Name+" ready and untainted", func() (bool, error) {
		n, err := nodes.Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil || !nodeReady(n) {
			return false, err
		}
		if len(n.Spec.Taints) == 0 {
			return true, nil
		}
		if readySince.IsZero() {
			readySince = time.Now()
		} else if time.Since(readySince) > 20*time.Second {
			n.Spec.Taints = nil
			_, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
		}
		return false, err
	})
}

// nodeReady reports whether the node's Ready condition is true.
func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitE2E polls cond until it is true, failing early when any process of
// the environment exits and, on timeout, with the last error and log tails.
func (e *Env) waitE2E(ctx context.Context, what string, cond func() (bool, error)) error {
	var last error
	for {
		for _, p := range e.snapshotProcs() {
			if p.Exited() {
				return p.ExitError()
			}
		}
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)%s", what, ctx.Err(), last, e.logTails(10))
		case <-time.After(pollInterval):
		}
	}
}

// snapshotProcs returns a copy of the process list.
func (e *Env) snapshotProcs() []*proc.Process {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*proc.Process(nil), e.procs...)
}

// logTails returns the last n lines of every process log.
func (e *Env) logTails(n int) string {
	var b strings.Builder
	for _, p := range e.snapshotProcs() {
		fmt.Fprintf(&b, "\n--- last lines of %s:\n%s", p.LogPath, p.LogTail(n))
	}
	return b.String()
}
