package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/capstan-io/capstan/internal/testenv/tools"
)

// TestNamespaceLabel is set on every namespace created by NewNamespace.
const TestNamespaceLabel = "capstan.io/testenv"

// invalidNameChars matches characters not allowed in a namespace name.
var invalidNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// NewNamespace creates a namespace with a unique name derived from the test
// name and deletes it when the test finishes. It returns the name.
//
// Without the namespace controller (plain environments) a deleted namespace
// stays Terminating; unique names keep tests independent anyway.
func (e *Env) NewNamespace(t testing.TB) string {
	t.Helper()
	prefix := strings.Trim(invalidNameChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(prefix) > 40 {
		prefix = strings.TrimRight(prefix[:40], "-")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "t-" + prefix + "-",
		Labels:       map[string]string{TestNamespaceLabel: "true"},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	created, err := e.clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("testenv: creating namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := e.clientset.CoreV1().Namespaces().Delete(ctx, created.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("testenv: deleting namespace %s: %v", created.Name, err)
		}
	})
	return created.Name
}

// Kubectl runs kubectl (the one hack/install-tools.sh built, else /usr/bin/kubectl, else the
// one on PATH) against
// the environment with the admin kubeconfig and returns its combined output.
func (e *Env) Kubectl(args ...string) (string, error) {
	bin := filepath.Join(e.BinDir, "kubectl")
	if !tools.Executable(bin) {
		bin = "/usr/bin/kubectl"
	}
	if !tools.Executable(bin) {
		var err error
		if bin, err = exec.LookPath("kubectl"); err != nil {
			return "", fmt.Errorf("kubectl not found: %w", err)
		}
	}
	cmd := exec.Command(bin, append([]string{"--kubeconfig=" + e.KubeconfigPath}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// NonAdminConfig returns a client configuration authenticating with the
// bearer token of user, which has no RBAC rights unless a test grants some.
// The user must be one of DefaultUsers or Options.Users, and groups must
// equal the groups it was declared with (tokens are fixed at start).
func (e *Env) NonAdminConfig(user string, groups ...string) (*rest.Config, error) {
	token, ok := e.secrets.UserTokens[user]
	if !ok {
		return nil, fmt.Errorf("testenv: no token user %q; declare it in Options.Users (known: %v)", user, e.UserNames())
	}
	if want := e.secrets.UserGroups[user]; !slices.Equal(want, groups) && (len(want) > 0 || len(groups) > 0) {
		return nil, fmt.Errorf("testenv: user %q has groups %v, not %v", user, want, groups)
	}
	return e.restConfig(e.Config.Host, token), nil
}

// UserNames lists the non-admin token users of the environment.
func (e *Env) UserNames() []string {
	names := make([]string, 0, len(e.opts.Users))
	for _, u := range e.opts.Users {
		names = append(names, u.Name)
	}
	return names
}
