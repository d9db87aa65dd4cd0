package testenv

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestAuditPolicy checks an environment with an audit policy logs the requests it selects
// (here: user alice's) to AuditLogPath, and not the others.
func TestAuditPolicy(t *testing.T) {
	env, err := Start(Options{CRDDirs: []string{}, SkipThirdPartyCRDs: true, AuditPolicy: `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  users: ["alice"]
- level: None
`})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := env.NonAdminConfig("alice")
	if err != nil {
		t.Fatal(err)
	}
	// Forbidden (alice has no RBAC rights), and audited all the same.
	if _, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().ConfigMaps("default").Get(ctx, "audited-by-alice", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("alice's read: %v, want forbidden", err)
	}
	if _, err := env.Clientset().CoreV1().ConfigMaps("default").Get(ctx, "read-by-admin", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the admin's read: %v, want not found", err)
	}
	Eventually(t, 30*time.Second, func() (bool, error) {
		data, err := os.ReadFile(env.AuditLogPath)
		if err != nil {
			return false, err
		}
		if strings.Contains(string(data), "read-by-admin") {
			t.Fatalf("the admin's request was audited:\n%s", data)
		}
		return strings.Contains(string(data), `"name":"audited-by-alice"`), nil
	})
}
