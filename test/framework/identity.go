package framework

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/testenv"
)

// rbacTemplates are the chart templates holding the ServiceAccounts, roles and bindings.
var rbacTemplates = []string{"controller-rbac.yaml", "subscription-server-rbac.yaml", "webhook-rbac.yaml", "webhook-certificate-rbac.yaml"}

// forbiddenPattern matches an API error that denies a ServiceAccount a request, as logged
// plainly or inside a quoted klog value (with escaped quotes).
var forbiddenPattern = regexp.MustCompile(`is forbidden: User \\?"system:serviceaccount:`)

// Identity is a kubeconfig that authenticates as one ServiceAccount of the chart.
type Identity struct {
	// ServiceAccount is the account's name, e.g. "capop-1a2b3c-controller".
	ServiceAccount string
	// Kubeconfig is the file with a token of the account.
	Kubeconfig string
}

// Identities are the chart's ServiceAccounts as applied by ChartIdentities, one per command
// ("controller", "server", "web-hooks").
type Identities map[string]Identity

// ChartIdentities renders the chart's RBAC (ServiceAccounts, ClusterRoles, the
// leader-election Role and their bindings) for a fresh release in namespace ns, applies it
// with the admin credentials, and returns for each binary a kubeconfig with a token of its
// ServiceAccount (TokenRequest API). The cluster-scoped objects are deleted when the test
// ends. Run a binary with StartAs to hold it to exactly the chart's permissions.
func ChartIdentities(t testing.TB, env *testenv.Env, ns string) Identities {
	t.Helper()
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	release := "capop-" + hex.EncodeToString(b)
	args := []string{"template", release, filepath.Join(env.RepoRoot, "chart"), "--namespace", ns, "--kube-version", env.ServerVersion}
	for _, tpl := range rbacTemplates {
		args = append(args, "--show-only", "templates/"+tpl)
	}
	manifest := filepath.Join(t.TempDir(), "rbac.yaml")
	if err := os.WriteFile(manifest, []byte(runHelm(t, env, args...)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := env.Kubectl("apply", "--server-side", "--field-manager=capstan-e2e", "-f", manifest); err != nil {
		t.Fatalf("applying the chart's RBAC: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := env.Kubectl("delete", "--ignore-not-found", "--wait=false", "-f", manifest); err != nil {
			t.Errorf("deleting the chart's RBAC: %v\n%s", err, out)
		}
	})
	ids := Identities{}
	for command, suffix := range map[string]string{"controller": "controller", "server": "subscription-server", "web-hooks": "webhook"} {
		sa := release + "-" + suffix
		ids[command] = Identity{ServiceAccount: sa, Kubeconfig: tokenKubeconfig(t, env, ns, sa)}
	}
	return ids
}

// tokenKubeconfig requests a token of a ServiceAccount and writes a kubeconfig using it.
func tokenKubeconfig(t testing.TB, env *testenv.Env, ns, sa string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := env.Clientset().CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token of ServiceAccount %s/%s: %v", ns, sa, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["testenv"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	kc.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: sa}
	kc.CurrentContext = "testenv"
	path := filepath.Join(t.TempDir(), sa+".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// runHelm runs the helm binary of the tools directory with private cache, config and data
// directories and returns its stdout.
func runHelm(t testing.TB, env *testenv.Env, args ...string) string {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(env.BinDir, "helm"), args...)
	cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// StartAs is Start with the credentials of id instead of the admin's. When the test ends it
// fails the test if the API server forbade the process any request: its log must not hold
// a "forbidden" error for its ServiceAccount, so a permission the chart lacks cannot hide
// behind a retry.
func StartAs(t testing.TB, env *testenv.Env, id Identity, command string, args []string, extraEnv ...string) *Process {
	t.Helper()
	// A later --kubeconfig overrides the admin one Start passes first.
	p := Start(t, env, command, append([]string{"--kubeconfig=" + id.Kubeconfig}, args...), extraEnv...)
	t.Cleanup(func() {
		if lines := p.forbidden(); len(lines) > 0 {
			t.Errorf("the API server forbade %s (ServiceAccount %s) %d requests, e.g.:\n%s",
				command, id.ServiceAccount, len(lines), strings.Join(lines[:min(len(lines), 5)], "\n"))
		}
	})
	return p
}

// LogLines returns the lines of the process's log that contain substr.
func (p *Process) LogLines(substr string) []string {
	return p.logLinesMatching(regexp.MustCompile(regexp.QuoteMeta(substr)))
}

// logLinesMatching returns the lines of the process's log that match re.
func (p *Process) logLinesMatching(re *regexp.Regexp) []string {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return []string{fmt.Sprintf("(cannot read the log of %s: %v)", p.Name, err)}
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if re.MatchString(sc.Text()) {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

// AllowForbiddenUntil makes StartAs's check ignore the "forbidden" errors the process logged
// before ts: a kube-apiserver that has just started answers requests before its authorizer
// has loaded the RBAC objects, so it briefly forbids everything.
func (p *Process) AllowForbiddenUntil(ts time.Time) {
	p.forbiddenUntil.Store(&ts)
}

// forbidden returns the "forbidden" errors of the process's ServiceAccount it logged,
// except those AllowForbiddenUntil excuses.
func (p *Process) forbidden() []string {
	lines := p.logLinesMatching(forbiddenPattern)
	until := p.forbiddenUntil.Load()
	if until == nil {
		return lines
	}
	var kept []string
	for _, l := range lines {
		if ts, ok := LogTime(l, *until); !ok || !ts.Before(*until) {
			kept = append(kept, l)
		}
	}
	return kept
}

// LogTime returns the time of a log line: the "ts" field of a JSON line (the binaries'
// default format), else the header of a klog text line ("Lmmdd hh:mm:ss.uuuuuu ...", local
// time, in the year of near); false when the line has neither.
func LogTime(line string, near time.Time) (time.Time, bool) {
	var entry struct {
		TS string `json:"ts"`
	}
	if json.Unmarshal([]byte(line), &entry) == nil && entry.TS != "" {
		ts, err := time.Parse(time.RFC3339Nano, entry.TS)
		return ts, err == nil
	}
	if len(line) < 21 {
		return time.Time{}, false
	}
	ts, err := time.ParseInLocation("0102 15:04:05.000000", line[1:21], time.Local)
	if err != nil {
		return time.Time{}, false
	}
	return ts.AddDate(near.Year(), 0, 0), true
}
