package testenv

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRestartAPIServer checks that the API server is really down during the restart, that
// the clients work afterwards without change, that the data survived, and that Stop ends
// both the old and the new process.
func TestRestartAPIServer(t *testing.T) {
	env, err := Start(minimalOptions)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cms := env.Clientset().CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survivor"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = env.RestartAPIServer(ctx, func() error {
		if _, err := cms.Get(ctx, "survivor", metav1.GetOptions{}); err == nil {
			return errors.New("the API server answered while stopped")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "survivor", metav1.GetOptions{}); err != nil {
		t.Errorf("reading after the restart: %v", err)
	}
	procs := env.Processes()
	if err := env.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if len(procs) != 3 {
		t.Errorf("processes %v, want etcd and two kube-apiservers", procs)
	}
	for _, p := range procs {
		assertGone(t, p.Name, p.PID)
	}
}
