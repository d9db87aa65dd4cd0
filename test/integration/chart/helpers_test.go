package chart

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/capstan-io/capstan/internal/testenv"
)

// fieldManager is the server-side-apply field manager of the dry-run requests.
const fieldManager = "capstan-chart-test"

// chartDir is the chart under test.
func chartDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(testenv.Current().RepoRoot, "chart")
}

// helm runs the helm binary with its cache, config and data directories in a temporary
// directory and the test environment's kubeconfig. It returns stdout; a failure returns an
// error that includes stderr.
func helm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	env := testenv.Current()
	bin := filepath.Join(env.BinDir, "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm binary missing (run hack/install-tools.sh): %v", err)
	}
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+env.KubeconfigPath,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.String(), nil
}

// mustHelm is helm failing the test on error.
func mustHelm(t testing.TB, args ...string) string {
	t.Helper()
	out, err := helm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// manifests are the objects of one rendering.
type manifests []*unstructured.Unstructured

// template runs helm template for release in namespace with extra arguments. It passes the
// API server's version: without a cluster, a helm built by `go install` (hack/install-tools.sh)
// assumes Kubernetes 1.20, which the chart's kubeVersion refuses.
func template(t testing.TB, release, namespace string, args ...string) (string, error) {
	t.Helper()
	v, err := testenv.Current().Clientset().Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("API server version: %v", err)
	}
	return helm(t, append([]string{"template", release, chartDir(t), "--namespace", namespace, "--kube-version", v.GitVersion}, args...)...)
}

// render runs helm template (see template) and decodes the output.
func render(t testing.TB, release, namespace string, args ...string) manifests {
	t.Helper()
	out, err := template(t, release, namespace, args...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decode(out)
	if err != nil {
		t.Fatalf("decoding the rendered manifests: %v\n%s", err, out)
	}
	if len(objs) == 0 {
		t.Fatal("helm template rendered no objects")
	}
	return objs
}

// decode splits a multi-document YAML stream into objects, skipping empty documents.
func decode(s string) (manifests, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(s), 4096)
	var objs manifests
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("document without kind or apiVersion: %v", m)
		}
		objs = append(objs, u)
	}
}

// find returns the object of kind and name, or nil.
func (ms manifests) find(kind, name string) *unstructured.Unstructured {
	for _, u := range ms {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	return nil
}

// ofKind returns the objects of kind.
func (ms manifests) ofKind(kind string) manifests {
	var out manifests
	for _, u := range ms {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// get converts the object of kind and name into out, failing the test when it is missing.
func (ms manifests) get(t testing.TB, kind, name string, out any) {
	t.Helper()
	u := ms.find(kind, name)
	if u == nil {
		t.Fatalf("no %s %q rendered; have %s", kind, name, ms)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s %q does not convert into %T: %v", kind, name, out, err)
	}
}

// String lists the objects as kind/name.
func (ms manifests) String() string {
	names := make([]string, 0, len(ms))
	for _, u := range ms {
		names = append(names, u.GetKind()+"/"+u.GetName())
	}
	return strings.Join(names, ", ")
}

// dryRunApply sends every object to the API server with server-side apply and dry-run, and
// fails the test for each object the server rejects.
func dryRunApply(t *testing.T, objs manifests) {
	t.Helper()
	for _, err := range dryRunApplyErrors(objs) {
		t.Error(err)
	}
}

// dryRunApplyErrors sends every object to the API server with server-side apply and dry-run
// and returns one error per rejected or unmappable object.
func dryRunApplyErrors(objs manifests) []error {
	env := testenv.Current()
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(env.Clientset().Discovery()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}
	var errs []error
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: no API resource: %w", gvk, u.GetName(), err))
			continue
		}
		client := env.Dynamic().Resource(mapping.Resource)
		namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
		switch {
		case namespaced && u.GetNamespace() == "":
			errs = append(errs, fmt.Errorf("%s %s is namespaced but rendered without a namespace", gvk.Kind, u.GetName()))
			continue
		case !namespaced && u.GetNamespace() != "":
			errs = append(errs, fmt.Errorf("%s %s is cluster-scoped but rendered with namespace %q", gvk.Kind, u.GetName(), u.GetNamespace()))
			continue
		case namespaced:
			_, err = client.Namespace(u.GetNamespace()).Apply(ctx, u.GetName(), u, opts)
		default:
			_, err = client.Apply(ctx, u.GetName(), u, opts)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("server-side dry-run of %s %s/%s rejected: %w", gvk.Kind, u.GetNamespace(), u.GetName(), err))
		}
	}
	return errs
}

// container returns the named container of a Deployment.
func container(t testing.TB, d *appsv1.Deployment, name string) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container %q", d.Name, name)
	return corev1.Container{}
}

// envVar returns the named variable of a container and whether it is set.
func envVar(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// envValue returns the literal value of a variable, failing when it is missing.
func envValue(t testing.TB, c corev1.Container, name string) string {
	t.Helper()
	e, ok := envVar(c, name)
	if !ok {
		t.Fatalf("container %s has no env %s; env: %v", c.Name, name, c.Env)
	}
	return e.Value
}

// containerPort returns the number of the named container port.
func containerPort(t testing.TB, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port %q; ports: %v", c.Name, name, c.Ports)
	return 0
}

// parseCert decodes one PEM certificate.
func parseCert(t testing.TB, pemBytes []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", pemBytes)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parsing certificate: %v", err)
	}
	return cert
}

// verifyServing checks that the serving certificate chains to the CA bundle and is valid for
// each DNS name.
func verifyServing(t testing.TB, caBundle, servingPEM []byte, names ...string) *x509.Certificate {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caBundle) {
		t.Fatalf("CA bundle holds no certificate: %q", caBundle)
	}
	cert := parseCert(t, servingPEM)
	for _, name := range names {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("serving certificate not valid for %q under the CA bundle: %v", name, err)
		}
	}
	return cert
}

// b64 decodes a base64 Secret value as rendered in a manifest.
func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("invalid base64 %q: %v", s, err)
	}
	return b
}

// newNamespace creates a namespace with a generated name and removes it after the test.
func newNamespace(t *testing.T) string {
	t.Helper()
	return testenv.Current().NewNamespace(t)
}
