package testenv

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// TestMain starts one plain environment for the package, unless the binary
// runs as a helper process for the signal tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		runHelper(mode)
		return
	}
	RunMain(m, Options{})
}

// TestServerVersion checks the API server reports the pinned release.
func TestServerVersion(t *testing.T) {
	env := Current()
	if !strings.HasPrefix(env.ServerVersion, "v1.36.") {
		t.Fatalf("server version %q, want v1.36.x", env.ServerVersion)
	}
	info, err := env.Clientset().Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if info.Major != "1" || info.Minor != "36" {
		t.Errorf("server version major/minor %q/%q, want 1/36", info.Major, info.Minor)
	}
}

// TestThirdPartyCRDsServed checks a resource of every third-party project
// can be listed.
func TestThirdPartyCRDsServed(t *testing.T) {
	env := Current()
	ns := env.NewNamespace(t)
	resources := []schema.GroupVersionResource{
		{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"},
		{Group: "networking.istio.io", Version: "v1", Resource: "gateways"},
		{Group: "security.istio.io", Version: "v1", Resource: "authorizationpolicies"},
		{Group: "cert-manager.io", Version: "v1", Resource: "certificates"},
		{Group: "cert-manager.io", Version: "v1", Resource: "certificaterequests"},
		{Group: "cert-manager.io", Version: "v1", Resource: "issuers"},
		{Group: "dns.gardener.cloud", Version: "v1alpha1", Resource: "dnsentries"},
		{Group: "cert.gardener.cloud", Version: "v1alpha1", Resource: "certificates"},
		{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"},
		{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"},
	}
	for _, gvr := range resources {
		if _, err := env.Dynamic().Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{}); err != nil {
			t.Errorf("listing %s: %v", gvr, err)
		}
	}
	gvr := schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "clusterissuers"}
	if _, err := env.Dynamic().Resource(gvr).List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Errorf("listing %s: %v", gvr, err)
	}
}

// TestNonAdminConfig checks token users authenticate but have no rights.
func TestNonAdminConfig(t *testing.T) {
	env := Current()
	ns := env.NewNamespace(t)
	cfg, err := env.NonAdminConfig("carol", "capstan-testers")
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := review.Status.UserInfo; u.Username != "carol" || !slices.Contains(u.Groups, "capstan-testers") {
		t.Errorf("authenticated as %q %v, want carol in capstan-testers", u.Username, u.Groups)
	}
	_, err = cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("listing config maps as carol: got %v, want Forbidden", err)
	}
	if _, err := env.NonAdminConfig("alice", "system:masters"); err == nil {
		t.Error("NonAdminConfig accepted groups the user was not declared with")
	}
	if _, err := env.NonAdminConfig("mallory"); err == nil {
		t.Error("NonAdminConfig accepted an undeclared user")
	}
}

// TestKubectl checks kubectl reaches the environment.
func TestKubectl(t *testing.T) {
	out, err := Current().Kubectl("get", "namespace", "default", "-o", "name")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.TrimSpace(out) != "namespace/default" {
		t.Errorf("kubectl output %q", out)
	}
}

// TestNewNamespaceAndEventually checks the namespace helper and polling.
func TestNewNamespaceAndEventually(t *testing.T) {
	env := Current()
	ns := env.NewNamespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"k": "v"}}
	if _, err := env.Clientset().CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, func() (bool, error) {
		got, err := env.Clientset().CoreV1().ConfigMaps(ns).Get(context.Background(), "cm", metav1.GetOptions{})
		return err == nil && got.Data["k"] == "v", err
	})
	err := Poll(300*time.Millisecond, func() (bool, error) { return false, apierrors.NewNotFound(schema.GroupResource{Resource: "x"}, "y") })
	if err == nil || !apierrors.IsNotFound(err) {
		t.Errorf("Poll error %v, want a timeout wrapping NotFound", err)
	}
}
