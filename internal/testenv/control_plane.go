package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/capstan-io/capstan/internal/testenv/proc"
)

// pollInterval is the interval of the package's readiness polls.
const pollInterval = 100 * time.Millisecond

// controlPlaneAttempts bounds the retries when a chosen port was taken by
// another process between choosing and binding it.
const controlPlaneAttempts = 3

// startControlPlane starts etcd and kube-apiserver, waits until the API
// server is ready and sets up the kubeconfig and clients.
func (e *Env) startControlPlane(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		host, err := e.tryStartControlPlane(ctx)
		if err == nil {
			return e.setupClients(host)
		}
		line := lineContaining(err.Error(), "address already in use")
		if attempt == controlPlaneAttempts || ctx.Err() != nil || line == "" {
			return err
		}
		e.opts.Logf("port collision, retrying (attempt %d): %s", attempt+1, line)
		if err := e.discardProcesses(); err != nil {
			return err
		}
	}
}

// tryStartControlPlane starts etcd and kube-apiserver on free ports and
// returns the API server URL once it is ready.
func (e *Env) tryStartControlPlane(ctx context.Context) (string, error) {
	ports, err := pickPorts(3)
	if err != nil {
		return "", err
	}
	etcdURL, err := e.startEtcd(ctx, ports[0], ports[1])
	if err != nil {
		return "", err
	}
	host := "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))
	return host, e.startAPIServer(ctx, etcdURL, ports[2], host)
}

// lineContaining returns the first line of s containing substr, trimmed,
// or "" if there is none.
func lineContaining(s, substr string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// discardProcesses stops every process started so far and forgets them.
func (e *Env) discardProcesses() error {
	e.mu.Lock()
	procs := e.procs
	e.procs = nil
	e.mu.Unlock()
	return proc.StopAll(procs)
}

// startEtcd starts etcd on the given loopback ports and waits until it is
// healthy. It returns the client URL.
func (e *Env) startEtcd(ctx context.Context, clientPort, peerPort int) (string, error) {
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	p, err := e.startProcess("etcd", "etcd",
		"--name=default",
		"--data-dir="+filepath.Join(e.Dir, fmt.Sprintf("etcd-%d", clientPort)),
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	)
	if err != nil {
		return "", err
	}
	err = waitHTTP(ctx, p, http.DefaultClient, clientURL+"/health", nil)
	return clientURL, err
}

// startAPIServer starts kube-apiserver on port and waits for /readyz.
func (e *Env) startAPIServer(ctx context.Context, etcdURL string, port int, host string) error {
	s := e.secrets
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(e.Dir, "apiserver-certs"),
		"--tls-cert-file=" + s.CertFile,
		"--tls-private-key-file=" + s.KeyFile,
		"--service-account-key-file=" + s.SAPubFile,
		"--service-account-signing-key-file=" + s.SAKeyFile,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--token-auth-file=" + s.TokensFile,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
	}
	audit, err := e.auditArgs()
	if err != nil {
		return err
	}
	p, err := e.startProcess("kube-apiserver", "kube-apiserver", append(args, audit...)...)
	if err != nil {
		return err
	}
	e.apiserver = p
	e.apiserverAddr = apiserverAddr{etcdURL: etcdURL, port: port, host: host}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CACertPEM)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	header := http.Header{"Authorization": {"Bearer " + s.AdminToken}}
	return waitHTTP(ctx, p, client, host+"/readyz", header)
}

// auditArgs writes the audit policy, when the options have one, and returns the API server
// flags that apply it; the log is appended to across restarts.
func (e *Env) auditArgs() ([]string, error) {
	if e.opts.AuditPolicy == "" {
		return nil, nil
	}
	policy := filepath.Join(e.Dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(e.opts.AuditPolicy), 0o600); err != nil {
		return nil, fmt.Errorf("writing the audit policy: %w", err)
	}
	e.AuditLogPath = filepath.Join(e.Dir, "audit.log")
	return []string{"--audit-policy-file=" + policy, "--audit-log-path=" + e.AuditLogPath, "--audit-log-format=json"}, nil
}

// waitHTTP polls url until it answers 200 OK. It fails early if p exits
// and, on timeout, reports the last response or error with p's log tail.
func waitHTTP(ctx context.Context, p *proc.Process, client *http.Client, url string, header http.Header) error {
	var last string
	for {
		if p.Exited() {
			return p.ExitError()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header = header
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %s; last lines of %s:\n%s",
				p.Name, url, last, p.LogPath, p.LogTail(30))
		case <-time.After(pollInterval):
		}
	}
}

// setupClients writes the admin kubeconfig and creates the admin clients.
func (e *Env) setupClients(host string) error {
	e.Config = e.restConfig(host, e.secrets.AdminToken)
	e.KubeconfigPath = filepath.Join(e.Dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["testenv"] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: e.secrets.CACertPEM}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: e.secrets.AdminToken}
	kc.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "admin"}
	kc.CurrentContext = "testenv"
	if err := clientcmd.WriteToFile(*kc, e.KubeconfigPath); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	var err error
	if e.clientset, err = kubernetes.NewForConfig(e.Config); err != nil {
		return err
	}
	if e.apiext, err = apiextensionsclient.NewForConfig(e.Config); err != nil {
		return err
	}
	if e.dynamic, err = dynamic.NewForConfig(e.Config); err != nil {
		return err
	}
	info, err := e.clientset.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("reading server version: %w", err)
	}
	e.ServerVersion = info.GitVersion
	return nil
}

// restConfig returns a client configuration for host with a bearer token.
func (e *Env) restConfig(host, token string) *rest.Config {
	return &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), e.secrets.CACertPEM...)},
		QPS:             100,
		Burst:           200,
	}
}

// pickPorts chooses the control plane's ports; tests replace it.
var pickPorts = freePorts

// freePorts returns n distinct free TCP ports on 127.0.0.1. All listeners
// are held until every port is chosen, so the ports differ from each other;
// another process may still grab one before it is used.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
