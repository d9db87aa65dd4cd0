package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// benchNamespace holds the application, its tenants and the controller's ServiceAccount.
const benchNamespace = "bench"

// controllerSA is the ServiceAccount the controller runs as: the audit policy logs exactly its
// requests, and API Priority and Fairness classifies them as a deployed operator's
// (FlowSchema service-accounts, priority level workload-low), not as the admin's (exempt).
const controllerSA = "capstan-controller"

// auditPolicy logs the controller's requests at level Metadata (verb, resource, user,
// response code; no bodies) once each, when they complete, and nothing else.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
- level: Metadata
  users: ["system:serviceaccount:` + benchNamespace + `:` + controllerSA + `"]
- level: None
`

// controllerKubeconfig creates the controller's ServiceAccount, bound to cluster-admin (the
// bench measures cost, not the chart's RBAC, which the end-to-end tests hold the controller
// to), and writes a kubeconfig with a token of it.
func (b *bench) controllerKubeconfig(ctx context.Context) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.ns}}
	if _, err := b.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: controllerSA}}
	if _, err := b.kube.CoreV1().ServiceAccounts(b.ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "capstan-bench-controller"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: controllerSA, Namespace: b.ns}},
	}
	if _, err := b.kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	tr, err := b.kube.CoreV1().ServiceAccounts(b.ns).CreateToken(ctx, controllerSA, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64((24 * time.Hour).Seconds()))},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token of the controller's ServiceAccount: %w", err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: b.env.Config.Host, CertificateAuthorityData: b.env.Config.CAData}
	kc.AuthInfos[controllerSA] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: controllerSA}
	kc.CurrentContext = "bench"
	path := filepath.Join(b.env.Dir, "controller.kubeconfig")
	return path, clientcmd.WriteToFile(*kc, path)
}

// auditEvent holds the fields of an audit event the bench counts by.
type auditEvent struct {
	Verb      string `json:"verb"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// auditOffset is the audit log's current size: requests logged after it belong to the phase
// that starts now.
func (b *bench) auditOffset() int64 {
	st, err := os.Stat(b.env.AuditLogPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// auditCounts counts the controller's requests logged since offset by verb and resource
// ("create jobs", "update captenants/status"); refused ones carry their status code
// ("update captenants/status 409").
func (b *bench) auditCounts(offset int64) (map[string]float64, error) {
	f, err := os.Open(b.env.AuditLogPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	counts := map[string]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // a line being written
		}
		key := e.Verb
		if r := e.ObjectRef; r != nil {
			key += " " + r.Resource
			if r.Subresource != "" {
				key += "/" + r.Subresource
			}
		}
		if s := e.ResponseStatus; s != nil && s.Code >= 300 {
			key += " " + strconv.Itoa(s.Code)
		}
		counts[key]++
	}
	return counts, sc.Err()
}
