// Package server tests the subscription server against a real kube-apiserver, with loopback
// HTTPS servers playing XSUAA (token endpoint, OIDC discovery, key set) and the SaaS registry's
// or Subscription Manager's callback receiver. The controller is played by the tests, which set
// CAPTenant status themselves.
package server

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/server"
	"github.com/capstan-io/capstan/internal/server/pending"
	"github.com/capstan-io/capstan/internal/server/servertest"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	"github.com/capstan-io/capstan/test/framework"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{})
}

// Names used by every fixture.
const (
	appName        = "cap-app"
	saasClientID   = "sb-saas-registry!b12"
	xsappname      = "cap-app!t34"
	smsClientID    = "sb-sms!b56"
	appDomain      = "apps.example.com"
	waitTimeout    = 30 * time.Second
	callbackPrefix = "/saas-manager/v1/subscription-callback/"
)

// smsSubject is the subject of the Subscription Manager's client certificate.
var smsSubject = pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, OrganizationalUnit: []string{"SAP Cloud Platform Clients", "Canary"}, CommonName: "sms-callback"}

// fixture is one application in its own namespace with its fake SAP services.
type fixture struct {
	t        *testing.T
	ns       string
	account  string // provider subaccount, unique per test
	kube     kubernetes.Interface
	sme      smeclient.Interface
	ca       *servertest.CA
	xsuaa    *servertest.XSUAA
	receiver *servertest.Receiver
	smsCert  *servertest.Leaf
	app      *v1alpha1.CAPApplication
}

// newFixture creates the namespace, binding Secrets, a Domain and the CAPApplication.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Current()
	f := &fixture{t: t, ns: env.NewNamespace(t), kube: env.Clientset()}
	var err error
	if f.sme, err = smeclient.NewForConfig(env.Config); err != nil {
		t.Fatal(err)
	}
	f.account = "subaccount-" + f.ns
	f.ca = servertest.NewCA(t, pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, CommonName: "Test Client CA"})
	f.xsuaa = servertest.NewXSUAA(t, f.ca)
	f.xsuaa.AddClient(saasClientID, "saas-secret")
	f.xsuaa.AddClient(smsClientID, "")
	f.receiver = servertest.NewReceiver(t, f.ca)
	f.smsCert = f.ca.Issue(t, smsSubject)
	f.createSecrets()
	f.create(&v1alpha1.Domain{
		ObjectMeta: metav1.ObjectMeta{Name: "primary", Namespace: f.ns},
		Spec:       v1alpha1.DomainSpec{Domain: appDomain, IngressSelector: map[string]string{"istio": "ingressgateway"}},
	})
	f.app = f.createApp()
	return f
}

// createSecrets writes the bindings of xsuaa, saas-registry and subscription-manager.
func (f *fixture) createSecrets() {
	issuer, _ := json.Marshal(map[string]any{"C": "DE", "O": "SAP SE", "CN": "Test Client CA"})
	subject, _ := json.Marshal(map[string]any{"C": "DE", "O": "SAP SE", "OU": []string{"Canary", "SAP Cloud Platform Clients"}, "CN": "sms-callback"})
	creds := map[string]map[string]any{
		"uaa-bind": {"clientid": "sb-" + xsappname, "clientsecret": "uaa-secret", "xsappname": xsappname,
			"url": f.xsuaa.URL, "uaadomain": "localhost"},
		"saas-bind": {"clientid": saasClientID, "clientsecret": "saas-secret", "url": f.xsuaa.URL, "uaadomain": "localhost",
			"saas_registry_url": f.receiver.URL, "xsappname": "saas!b1", "appUrls": `{"callbackTimeoutMillis":"600000"}`},
		"sms-bind": {"clientid": smsClientID, "credential-type": "x509", "certurl": f.xsuaa.URL,
			"certificate": string(f.smsCert.CertPEM), "key": string(f.smsCert.KeyPEM), "subscription_manager_url": f.receiver.URL,
			"callback_certificate_issuer": string(issuer), "callback_certificate_subject": string(subject),
			"app_urls": `{"subscriptionCallbacks":{"async":{"timeoutInMillis":600000}}}`},
		"dest-bind":  {"xsappname": "dest-xsapp"},
		"audit-bind": {"uaa": map[string]any{"xsappname": "audit-xsapp"}},
		"html5-bind": {"xsappname": "html5-xsapp", "saasregistryenabled": true},
	}
	for name, c := range creds {
		data, _ := json.Marshal(c)
		f.create(&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
			Data:       map[string][]byte{"credentials": data},
		})
	}
	// The audit log binding in the per-property form, to carry its plan.
	f.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "audit-meta-bind", Namespace: f.ns},
		StringData: map[string]string{
			".metadata": `{"metaDataProperties":[{"name":"plan","format":"text"}],"credentialProperties":[{"name":"uaa","format":"json"}]}`,
			"plan":      "oauth2",
			"uaa":       `{"xsappname":"audit-xsapp"}`,
		},
	})
}

// createApp creates the CAPApplication with the identity label the controller would add.
func (f *fixture) createApp() *v1alpha1.CAPApplication {
	never := v1alpha1.SubscriptionDependencyNever
	always := v1alpha1.SubscriptionDependencyAlways
	ca := &v1alpha1.CAPApplication{
		ObjectMeta: metav1.ObjectMeta{
			Name: appName, Namespace: f.ns,
			Labels: map[string]string{v1alpha1.LabelAppIdentifierHash: identity.AppHash(f.account, appName)},
		},
		Spec: v1alpha1.CAPApplicationSpec{
			ProviderSubaccountId: f.account,
			GlobalAccountId:      "global-" + f.ns,
			BTPAppName:           appName,
			DomainRefs:           []v1alpha1.DomainRef{{Kind: v1alpha1.DomainRefKindDomain, Name: "primary"}},
			BTP: v1alpha1.BTP{Services: []v1alpha1.ServiceInfo{
				{Name: "app-uaa", Secret: "uaa-bind", Class: "xsuaa"},
				{Name: "app-saas", Secret: "saas-bind", Class: "saas-registry"},
				{Name: "app-sms", Secret: "sms-bind", Class: "subscription-manager"},
				{Name: "app-dest", Secret: "dest-bind", Class: "destination"},
				{Name: "app-audit", Secret: "audit-meta-bind", Class: "auditlog"},
				{Name: "app-html5", Secret: "html5-bind", Class: "html5-apps-repo"},
				{Name: "app-dest-2", Secret: "dest-bind", Class: "destination", SubscriptionDependency: &never},
				{Name: "app-custom", Secret: "uaa-bind", Class: "custom", SubscriptionDependency: &always},
			}},
		},
	}
	return f.create(ca).(*v1alpha1.CAPApplication)
}

// create creates an object with the matching client.
func (f *fixture) create(obj any) any {
	f.t.Helper()
	ctx := context.Background()
	var out any
	var err error
	switch o := obj.(type) {
	case *corev1.Secret:
		out, err = f.kube.CoreV1().Secrets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *v1alpha1.Domain:
		out, err = f.sme.SmeV1alpha1().Domains(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *v1alpha1.CAPApplication:
		out, err = f.sme.SmeV1alpha1().CAPApplications(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *v1alpha1.CAPTenantOutput:
		out, err = f.sme.SmeV1alpha1().CAPTenantOutputs(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	default:
		f.t.Fatalf("create: unsupported %T", obj)
	}
	if err != nil {
		f.t.Fatalf("create %T: %v", obj, err)
	}
	return out
}

// startServer starts a subscription server on loopback ports and stops it at cleanup.
func (f *fixture) startServer(identity string) *server.Server {
	f.t.Helper()
	srv := f.newServer(identity, server.Options{})
	f.t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return srv
}

// newServer starts a server with extra options (not stopped at cleanup).
func (f *fixture) newServer(identity string, opts server.Options) *server.Server {
	f.t.Helper()
	opts.Addr, opts.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0"
	if opts.Kube == nil {
		opts.Kube = f.kube
	}
	if opts.SME == nil {
		opts.SME = f.sme
	}
	opts.RootCAs = f.ca.Pool
	if opts.ClientCAs == nil {
		opts.ClientCAs = f.ca.Pool // the chart's additionalCACertificate
	}
	opts.ClientTimeout = 5 * time.Second
	opts.Identity = identity
	srv, err := server.New(opts)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	return srv
}

// guid makes a subscription GUID unique to the fixture: tenants are found by GUID across all
// namespaces, so tests must not share GUIDs.
func (f *fixture) guid(s string) string { return s + "-" + f.ns[len(f.ns)-5:] }

// saasPayload is a SaaS registry subscription payload for the fixture's app.
func (f *fixture) saasPayload(tenantID, guid, subdomain string) map[string]any {
	return map[string]any{
		"subscriptionGUID": f.guid(guid), "subscribedTenantId": tenantID, "subscribedSubdomain": subdomain,
		"globalAccountGUID": "consumer-global", "providerSubaccountId": f.account, "subscriptionAppName": appName,
		"eventType": "CREATE", "subscribedZoneId": tenantID,
	}
}

// smsPayload is a Subscription Manager subscription payload for the fixture's app.
func (f *fixture) smsPayload(tenantID, guid, subdomain string) map[string]any {
	return map[string]any{
		"subscriber": map[string]any{"subscriptionGUID": f.guid(guid), "app_tid": tenantID, "subaccountSubdomain": subdomain,
			"globalAccountId": "consumer-global"},
		"rootApplication": map[string]any{"providerSubaccountId": f.account, "appName": appName},
	}
}

// token is a valid SaaS registry token.
func (f *fixture) token() string {
	return "Bearer " + f.xsuaa.Sign(f.t, servertest.Claims(saasClientID, xsappname), servertest.TokenOptions{})
}

// smsHeader is the forwarded client certificate of the Subscription Manager.
func (f *fixture) smsHeader() string { return url.PathEscape(string(f.smsCert.CertPEM)) }

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
func do(t *testing.T, srv *server.Server, method, path string, body any, headers map[string]string) response {
	t.Helper()
	r, err := send(srv, method, path, body, headers, waitTimeout)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is do for callers that handle the error themselves (other goroutines than the test's,
// requests meant to time out), with the client timeout given.
func send(srv *server.Server, method, path string, body any, headers map[string]string, timeout time.Duration) (response, error) {
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "http://"+srv.Addr()+path, reader)
	if err != nil {
		return response{}, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, body: string(data)}, err
}

// tenant returns the tenant with the tenant id in the fixture's namespace (nil when none).
func (f *fixture) tenant(tenantID string) *v1alpha1.CAPTenant {
	f.t.Helper()
	return framework.TenantByID(f.t, f.sme, f.ns, tenantID)
}

// setState plays the controller: it sets the tenant's status state.
func (f *fixture) setState(cat *v1alpha1.CAPTenant, state v1alpha1.CAPTenantState) {
	f.t.Helper()
	testenv.Eventually(f.t, waitTimeout, func() (bool, error) {
		cur, err := f.sme.SmeV1alpha1().CAPTenants(cat.Namespace).Get(context.Background(), cat.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cur.Status.State = state
		_, err = f.sme.SmeV1alpha1().CAPTenants(cat.Namespace).UpdateStatus(context.Background(), cur, metav1.UpdateOptions{})
		return err == nil, nil
	})
}

// records returns the pending-callback ConfigMaps of the namespace.
func (f *fixture) records() []corev1.ConfigMap {
	f.t.Helper()
	list, err := f.kube.CoreV1().ConfigMaps(f.ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: pending.LabelCallback,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return list.Items
}

// awaitCallbacks waits until the receiver got n callbacks for path and no record is left.
func (f *fixture) awaitCallbacks(path string, n int) []servertest.Callback {
	f.t.Helper()
	testenv.Eventually(f.t, waitTimeout, func() (bool, error) {
		got := len(f.receiver.ForPath(path))
		if got > n {
			return false, fmt.Errorf("%d callbacks for %s, want %d", got, path, n)
		}
		return got == n && len(f.records()) == 0, nil
	})
	return f.receiver.ForPath(path)
}

// assertNoCallback checks that nothing was received for path.
func (f *fixture) assertNoCallback(path string) {
	f.t.Helper()
	if got := f.receiver.ForPath(path); len(got) != 0 {
		f.t.Fatalf("unexpected callbacks for %s: %+v", path, got)
	}
}
