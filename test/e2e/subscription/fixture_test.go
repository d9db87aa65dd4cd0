package subscription

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/server/servertest"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	"github.com/capstan-io/capstan/test/framework"
)

// Names shared by every fixture.
const (
	// timeout bounds every wait of these tests.
	timeout = 120 * time.Second
	// appName is the walk-through's btpAppName and CAPApplication name.
	appName = "cap-app-01"
	// xsappname is the xsappname of the application's xsuaa binding.
	xsappname = "cap-app-01!t1"
	// saasClientID is the client id of the saas-registry binding; tokens carry it.
	saasClientID = "sb-saas-registry!b12"
	// smsClientID is the client id of the subscription-manager binding (x509 credentials).
	smsClientID = "sb-sms!b56"
	// smsService and smsSecret add a subscription-manager binding to the walk-through's
	// application, which has none.
	smsService, smsSecret = "app-subscription-manager", "cap-app-01-sms-bind-cf"
	// primaryDomain is spec.domain of the walk-through's Domain, the application's first
	// domainRef: the callbacks' application URLs lie under it.
	primaryDomain = "my.cluster.shoot.url.k8s.example.com"
	// callbackPrefix is the SaaS registry's callback path prefix.
	callbackPrefix = "/saas-manager/v1/subscription-callback/"
)

// smsSubject is the subject of the Subscription Manager's client certificate.
var smsSubject = pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, OrganizationalUnit: []string{"SAP Cloud Platform Clients", "Canary"}, CommonName: "sms-callback"}

// fixture is the walk-through's application in its own namespace, with the fake SAP services
// its binding Secrets point at.
type fixture struct {
	t        *testing.T
	env      *testenv.Env
	ns       string
	account  string // provider subaccount of the application, unique per test
	kube     kubernetes.Interface
	sme      versioned.Interface
	ca       *servertest.CA
	xsuaa    *servertest.XSUAA
	receiver *servertest.Receiver
	smsCert  *servertest.Leaf
	// caFile holds the test CA's PEM; the server process trusts it through SSL_CERT_FILE (for
	// its outgoing HTTPS) and --client-ca-file (for the forwarded SMS client certificate).
	caFile string
	// ids are the chart's ServiceAccounts: the binaries run with their tokens, so a
	// permission the chart lacks fails the test.
	ids framework.Identities
}

// newFixture creates the namespace and the fake SAP services.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Current()
	f := &fixture{t: t, env: env, ns: env.NewNamespace(t), kube: env.Clientset()}
	f.sme = versioned.NewForConfigOrDie(env.Config)
	f.account = "subaccount-" + f.ns
	f.ids = framework.ChartIdentities(t, env, f.ns)
	f.ca = servertest.NewCA(t, pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, CommonName: "Test Client CA"})
	f.xsuaa = servertest.NewXSUAA(t, f.ca)
	f.xsuaa.AddClient(saasClientID, "saas-secret")
	f.xsuaa.AddClient(smsClientID, "")
	f.receiver = servertest.NewReceiver(t, f.ca)
	f.smsCert = f.ca.Issue(t, smsSubject)
	f.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f.caFile, f.ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// startController runs the controller binary with the application, version, tenant and
// tenant-operation controllers (the domain controllers are left out: createApp marks the
// domains Ready itself).
func (f *fixture) startController(args ...string) *framework.Process {
	f.t.Helper()
	base := []string{"--metrics-bind-address=127.0.0.1:0", "--leader-elect=false", "--operator-namespace=" + f.ns,
		"--controllers=capapplication,capapplicationversion,captenant,captenantoperation",
		"--retry-initial-delay=1s", "--retry-max-delay=4s"}
	return framework.StartAs(f.t, f.env, f.ids["controller"], "controller", append(base, args...), "POD_NAMESPACE="+f.ns)
}

// version1 is the walk-through's first version.
func (f *fixture) version1() *v1alpha1.CAPApplicationVersion {
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(f.t, "multitenant/cav-v1.yaml", f.ns, cav)
	return cav
}

// createApp creates the walk-through's Domain, a test-unique ClusterDomain (both marked
// Ready), the binding Secrets, the CAPApplication (identified by the fixture's provider
// subaccount, with a subscription-manager binding added) and the version, and waits until
// the version is Ready and the application carries its identifier label (so the server can
// find it). edits change the application before it is created. The controller must run.
func (f *fixture) createApp(cav *v1alpha1.CAPApplicationVersion, edits ...func(*v1alpha1.CAPApplication)) *v1alpha1.CAPApplication {
	f.t.Helper()
	ctx := context.Background()
	client := f.sme.SmeV1alpha1()
	dom := &v1alpha1.Domain{}
	framework.Example(f.t, "multitenant/domain.yaml", f.ns, dom)
	if _, err := client.Domains(f.ns).Create(ctx, dom, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	cdom := &v1alpha1.ClusterDomain{}
	framework.Example(f.t, "multitenant/clusterdomain.yaml", "", cdom)
	cdom.Name = f.ns + "-external"
	if _, err := client.ClusterDomains().Create(ctx, cdom, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = client.ClusterDomains().Delete(context.Background(), cdom.Name, metav1.DeleteOptions{}) })
	framework.MarkDomainReady(f.t, testenv.Current(), f.ns, dom.Name)
	framework.MarkDomainReady(f.t, testenv.Current(), "", cdom.Name)

	ca := &v1alpha1.CAPApplication{}
	framework.Example(f.t, "multitenant/capapplication.yaml", f.ns, ca)
	ca.Spec.DomainRefs[1].Name = cdom.Name
	ca.Spec.ProviderSubaccountId = f.account
	ca.Spec.BTP.Services = append(ca.Spec.BTP.Services, v1alpha1.ServiceInfo{Name: smsService, Secret: smsSecret, Class: "subscription-manager"})
	for _, edit := range edits {
		edit(ca)
	}
	f.createSecrets(ca)
	if _, err := client.CAPApplications(f.ns).Create(ctx, ca, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	cav.Namespace = f.ns
	if _, err := client.CAPApplicationVersions(f.ns).Create(ctx, cav, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	wantHash := identity.AppHash(f.account, appName)
	testenv.Eventually(f.t, timeout, func() (bool, error) {
		cur, err := client.CAPApplications(f.ns).Get(ctx, ca.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ca = cur
		return cur.Labels[v1alpha1.LabelAppIdentifierHash] == wantHash, nil
	})
	testenv.Eventually(f.t, timeout, func() (bool, error) {
		cur, err := client.CAPApplicationVersions(f.ns).Get(ctx, cav.Name, metav1.GetOptions{})
		return err == nil && cur.Status.State == v1alpha1.CAPApplicationVersionStateReady, err
	})
	return ca
}

// createSecrets writes a binding Secret (single `credentials` key) for every service of the
// application: xsuaa, saas-registry and subscription-manager point at the fake XSUAA and
// callback receiver (uaadomain localhost: the tokens' jku host is localhost:<port>), the
// others get placeholder credentials.
func (f *fixture) createSecrets(ca *v1alpha1.CAPApplication) {
	f.t.Helper()
	issuer, _ := json.Marshal(map[string]any{"C": "DE", "O": "SAP SE", "CN": "Test Client CA"})
	subject, _ := json.Marshal(map[string]any{"C": "DE", "O": "SAP SE", "OU": []string{"Canary", "SAP Cloud Platform Clients"}, "CN": "sms-callback"})
	for _, svc := range ca.Spec.BTP.Services {
		var creds map[string]any
		switch svc.Class {
		case "xsuaa":
			creds = map[string]any{"clientid": "sb-" + xsappname, "clientsecret": "uaa-secret", "xsappname": xsappname,
				"url": f.xsuaa.URL, "uaadomain": "localhost", "tenantmode": "shared"}
		case "saas-registry":
			creds = map[string]any{"clientid": saasClientID, "clientsecret": "saas-secret", "url": f.xsuaa.URL, "uaadomain": "localhost",
				"saas_registry_url": f.receiver.URL, "xsappname": "cap-app-01!b1", "appUrls": `{"callbackTimeoutMillis":"600000"}`}
		case "subscription-manager":
			creds = map[string]any{"clientid": smsClientID, "credential-type": "x509", "certurl": f.xsuaa.URL,
				"certificate": string(f.smsCert.CertPEM), "key": string(f.smsCert.KeyPEM), "subscription_manager_url": f.receiver.URL,
				"callback_certificate_issuer": string(issuer), "callback_certificate_subject": string(subject),
				"app_urls": `{"subscriptionCallbacks":{"async":{"timeoutInMillis":600000}}}`}
		default:
			creds = map[string]any{"url": "https://" + svc.Name + ".example.com", "xsappname": svc.Name + "!b1", "clientid": "sb-" + svc.Name}
		}
		data, _ := json.Marshal(creds)
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: svc.Secret, Namespace: f.ns},
			Data:       map[string][]byte{"credentials": data},
		}
		if _, err := f.kube.CoreV1().Secrets(f.ns).Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
			f.t.Fatalf("creating binding secret %s: %v", svc.Secret, err)
		}
	}
}

// serverProcess is a running subscription server binary.
type serverProcess struct {
	*framework.Process
	// addr is the host:port of its API (plain HTTP on loopback).
	addr string
}

// startServer runs the subscription server binary on free loopback ports, trusting the test
// CA for its outgoing HTTPS, and waits until it is ready.
func (f *fixture) startServer(name string) *serverProcess {
	f.t.Helper()
	port, metricsPort := freePort(f.t), freePort(f.t)
	p := framework.StartAs(f.t, f.env, f.ids["server"], "server", []string{"--client-timeout=5s", "--client-ca-file=" + f.caFile},
		"PORT="+strconv.Itoa(port), "METRICS_PORT="+strconv.Itoa(metricsPort), "TLS_ENABLED=false",
		"SSL_CERT_FILE="+f.caFile, "POD_NAME="+name)
	s := &serverProcess{Process: p, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	client := &http.Client{Timeout: 2 * time.Second}
	testenv.Eventually(f.t, timeout, func() (bool, error) {
		if exited, code := p.Exited(); exited {
			f.t.Fatalf("server %s exited with code %d", name, code)
		}
		resp, err := client.Get("http://" + s.addr + "/readyz")
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("readyz: %s", resp.Status)
	})
	return s
}

// freePort returns a TCP port that is free on loopback.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// response is an HTTP answer.
type response struct {
	code int
	body string
}

// message decodes the Message of a provisioning answer.
func (r response) message(t *testing.T) string {
	t.Helper()
	var body struct {
		Tenant  any
		Message string
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("answer %d %q is not a provisioning response: %v", r.code, r.body, err)
	}
	return body.Message
}

// do sends a request to the server's API port.
func (s *serverProcess) do(t *testing.T, method, path string, body any, headers map[string]string) response {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "http://"+s.addr+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, body: string(data)}
}

// guid makes a subscription GUID unique to the fixture: the server finds tenants by GUID in
// all namespaces.
func (f *fixture) guid(s string) string { return s + "-" + f.ns }

// saasPayload is a SaaS registry subscription payload for the fixture's application.
func (f *fixture) saasPayload(tenantID, guid, subdomain string) map[string]any {
	return map[string]any{
		"subscriptionGUID": f.guid(guid), "subscribedTenantId": tenantID, "subscribedSubdomain": subdomain,
		"globalAccountGUID": "consumer-global", "providerSubaccountId": f.account, "subscriptionAppName": appName,
		"eventType": "CREATE", "subscribedZoneId": tenantID,
	}
}

// smsPayload is a Subscription Manager subscription payload for the fixture's application.
func (f *fixture) smsPayload(tenantID, guid, subdomain string) map[string]any {
	return map[string]any{
		"subscriber": map[string]any{"subscriptionGUID": f.guid(guid), "app_tid": tenantID, "subaccountSubdomain": subdomain,
			"globalAccountId": "consumer-global"},
		"rootApplication": map[string]any{"providerSubaccountId": f.account, "appName": appName},
	}
}

// saasHeaders are the headers of a SaaS registry request: a valid XSUAA token and the
// asynchronous callback path.
func (f *fixture) saasHeaders(callbackPath string) map[string]string {
	token := f.xsuaa.Sign(f.t, servertest.Claims(saasClientID, xsappname), servertest.TokenOptions{})
	return map[string]string{"Authorization": "Bearer " + token, "STATUS_CALLBACK": callbackPath}
}

// smsHeaders are the headers of a Subscription Manager request: the forwarded client
// certificate and the asynchronous callback path.
func (f *fixture) smsHeaders(callbackPath string) map[string]string {
	return map[string]string{"X-Forwarded-Client-Cert": url.PathEscape(string(f.smsCert.CertPEM)), "STATUS_CALLBACK": callbackPath}
}
