package server

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/server"
	"github.com/capstan-io/capstan/internal/server/servertest"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestSMSForgedCertificate is the attack on the Subscription Manager endpoints: a pod that
// reaches the server's Service sends a certificate of its own making that carries the trusted
// CA's name as issuer and the expected subject. Names match; nothing else does. It must not
// create, re-subscribe or deprovision a tenant, nor read the dependencies.
func TestSMSForgedCertificate(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	forged := servertest.NewCA(t, f.ca.Cert.Subject).Issue(t, smsSubject)
	forgedHeaders := map[string]string{"X-Forwarded-Client-Cert": url.PathEscape(string(forged.CertPEM)), "STATUS_CALLBACK": "/forged"}
	xfcc := map[string]string{"X-Forwarded-Client-Cert": `Hash=x;Cert="` + url.QueryEscape(string(forged.CertPEM)) + `";Subject="CN=sms-callback"`}

	resp := do(t, srv, http.MethodPut, "/sms/provision/tenants/forged-new", f.smsPayload("forged-new", "g-1", "sub"), forgedHeaders)
	if resp.code != http.StatusNotAcceptable || resp.message(t) != "authorization check failed" {
		t.Fatalf("forged PUT = %d %s, want 406 authorization check failed", resp.code, resp.body)
	}
	resp = do(t, srv, http.MethodPut, "/sms/provision/tenants/forged-new", f.smsPayload("forged-new", "g-1", "sub"), xfcc)
	if resp.code != http.StatusNotAcceptable {
		t.Fatalf("forged PUT in an XFCC element = %d %s, want 406", resp.code, resp.body)
	}
	if f.tenant("forged-new") != nil {
		t.Fatal("a forged certificate created a tenant")
	}

	// A real subscription, then the forged certificate tries to re-subscribe and deprovision it.
	real := map[string]string{"X-Forwarded-Client-Cert": f.smsHeader()}
	if resp := do(t, srv, http.MethodPut, "/sms/provision/tenants/victim", f.smsPayload("victim", "g-real", "victim"), real); resp.code != http.StatusAccepted {
		t.Fatalf("real PUT = %d %s", resp.code, resp.body)
	}
	resp = do(t, srv, http.MethodPut, "/sms/provision/tenants/victim", f.smsPayload("victim", "g-forged", "victim"), forgedHeaders)
	if resp.code != http.StatusNotAcceptable {
		t.Fatalf("forged re-subscription = %d %s, want 406", resp.code, resp.body)
	}
	resp = do(t, srv, http.MethodDelete, "/sms/provision/tenants/victim?subscriptionGUID="+f.guid("g-real"), nil, forgedHeaders)
	if resp.code != http.StatusNotAcceptable {
		t.Fatalf("forged DELETE = %d %s, want 406", resp.code, resp.body)
	}
	cat := f.tenant("victim")
	if cat == nil || cat.DeletionTimestamp != nil || cat.Labels[v1alpha1.LabelSubscriptionGUID] != f.guid("g-real") {
		t.Fatalf("the forged requests changed the tenant: %+v", cat)
	}
	if dep := do(t, srv, http.MethodGet, "/sms/dependencies/"+f.account+"/"+appName+"/", nil, xfcc); dep.code != http.StatusUnauthorized {
		t.Fatalf("forged GET dependencies = %d %s, want 401", dep.code, dep.body)
	}
	if len(f.records()) != 0 {
		t.Fatal("a forged request recorded a callback")
	}
}

// TestAppLookupCannotBeHijacked is the attack on the application lookup from another
// namespace, whose name sorts first: an application there carries the victim's
// app-identifier-hash label, or a spec whose unseparated hash equals the victim's, or even the
// victim's very spec, with the public parts of the victim's credentials copied (which is all
// that token verification reads). None of them may receive the victim's tenant.
func TestAppLookupCannotBeHijacked(t *testing.T) {
	tests := map[string]struct {
		// account and btpAppName are the attacker application's spec; label its label.
		account, btpAppName func(f *fixture) string
		label               func(f *fixture) string
		// wantCode is the subscription's answer; 202 creates the victim's tenant.
		wantCode int
	}{
		"label of the victim": {
			account:    func(*fixture) string { return "attacker-account" },
			btpAppName: func(*fixture) string { return "attacker-app" },
			label:      func(f *fixture) string { return identity.AppHash(f.account, appName) },
			wantCode:   http.StatusAccepted,
		},
		"account and name shifted": {
			// ("<account>c", "ap-app") concatenates to the victim's ("<account>", "cap-app").
			account:    func(f *fixture) string { return f.account + appName[:1] },
			btpAppName: func(*fixture) string { return appName[1:] },
			label:      func(f *fixture) string { return identity.AppHash(f.account+appName[:1], appName[1:]) },
			wantCode:   http.StatusAccepted,
		},
		"same spec": {
			account:    func(f *fixture) string { return f.account },
			btpAppName: func(*fixture) string { return appName },
			label:      func(f *fixture) string { return identity.AppHash(f.account, appName) },
			wantCode:   http.StatusConflict,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			attackerNS := f.attackerNamespace()
			f.createAttackerApp(attackerNS, tc.account(f), tc.btpAppName(f), tc.label(f))
			srv := f.startServer("server-a")
			resp := do(t, srv, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "g-1", "sub-1"),
				map[string]string{"Authorization": f.token()})
			if resp.code != tc.wantCode {
				t.Fatalf("PUT = %d %s, want %d", resp.code, resp.body, tc.wantCode)
			}
			list, err := f.sme.SmeV1alpha1().CAPTenants(attackerNS).List(context.Background(), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != 0 {
				t.Fatalf("the attacker's namespace got the tenant %s", list.Items[0].Name)
			}
			if got := f.tenant("t-1") != nil; got != (tc.wantCode == http.StatusAccepted) {
				t.Fatalf("victim tenant exists = %v, want %v", got, tc.wantCode == http.StatusAccepted)
			}
			if tc.wantCode == http.StatusConflict && !strings.Contains(resp.message(t), "refusing to choose") {
				t.Fatalf("ambiguity message %q does not say so", resp.message(t))
			}
		})
	}
}

// attackerNamespace creates a namespace that sorts before the fixture's ("t-...").
func (f *fixture) attackerNamespace() string {
	f.t.Helper()
	ns, err := f.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "a-attacker-", Labels: map[string]string{testenv.TestNamespaceLabel: "true"}},
	}, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = f.kube.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	return ns.Name
}

// createAttackerApp creates an application with copies of the public parts of the victim's
// xsuaa and saas-registry credentials (no secrets).
func (f *fixture) createAttackerApp(ns, account, btpAppName, label string) {
	f.t.Helper()
	creds := map[string]map[string]any{
		"uaa-bind":  {"clientid": "sb-" + xsappname, "xsappname": xsappname, "uaadomain": "localhost"},
		"saas-bind": {"clientid": saasClientID, "uaadomain": "localhost", "saas_registry_url": "https://attacker.invalid"},
	}
	for name, c := range creds {
		data, _ := json.Marshal(c)
		f.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{"credentials": data}})
	}
	f.create(&v1alpha1.CAPApplication{
		ObjectMeta: metav1.ObjectMeta{Name: appName, Namespace: ns, Labels: map[string]string{v1alpha1.LabelAppIdentifierHash: label}},
		Spec: v1alpha1.CAPApplicationSpec{
			ProviderSubaccountId: account, GlobalAccountId: "attacker-global", BTPAppName: btpAppName,
			BTP: v1alpha1.BTP{Services: []v1alpha1.ServiceInfo{
				{Name: "app-uaa", Secret: "uaa-bind", Class: "xsuaa"},
				{Name: "app-saas", Secret: "saas-bind", Class: "saas-registry"},
			}},
		},
	})
}

// TestConcurrentSubscriptionsCreateOneTenant sends the same subscription several times at
// once: exactly one CAPTenant exists afterwards, under the deterministic name.
func TestConcurrentSubscriptionsCreateOneTenant(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	const parallel = 6
	codes := make([]int, parallel)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i] = do(t, srv, http.MethodPut, "/provision/tenants/t-race", f.saasPayload("t-race", "g-race", "race"),
				map[string]string{"Authorization": f.token()}).code
		}()
	}
	close(start)
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusAccepted {
			t.Errorf("request %d = %d, want 202", i, code)
		}
	}
	list, err := f.sme.SmeV1alpha1().CAPTenants(f.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d CAPTenants for one tenant id, want 1", len(list.Items))
	}
	if want := server.TenantName(appName, "t-race"); list.Items[0].Name != want {
		t.Fatalf("tenant name %q, want the deterministic %q", list.Items[0].Name, want)
	}
	secrets, err := f.kube.CoreV1().Secrets(f.ns).List(context.Background(), metav1.ListOptions{LabelSelector: v1alpha1.LabelBTPTenantIdentifier + "=t-race"})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 1 {
		t.Fatalf("%d subscription-context Secrets, want 1", len(secrets.Items))
	}
}

// TestLegacyTenantIsFound subscribes again for a tenant created with a generated name (as the
// server did before tenant names were deterministic): the existing tenant is updated, no
// second one is created.
func TestLegacyTenantIsFound(t *testing.T) {
	f := newFixture(t)
	legacy, err := f.sme.SmeV1alpha1().CAPTenants(f.ns).Create(context.Background(), &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{GenerateName: appName + "-", Namespace: f.ns, Labels: map[string]string{
			v1alpha1.LabelBTPTenantIdentifier: "t-old", v1alpha1.LabelSubscriptionGUID: f.guid("g-old"),
		}},
		Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: appName, BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "old", TenantId: "t-old"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := f.startServer("server-a")
	resp := do(t, srv, http.MethodPut, "/provision/tenants/t-old", f.saasPayload("t-old", "g-new", "old"), map[string]string{"Authorization": f.token()})
	if resp.code != http.StatusAccepted || resp.message(t) != "resource updated successfully" {
		t.Fatalf("PUT = %d %s, want 202 resource updated successfully", resp.code, resp.body)
	}
	list, err := f.sme.SmeV1alpha1().CAPTenants(f.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != legacy.Name || list.Items[0].Labels[v1alpha1.LabelSubscriptionGUID] != f.guid("g-new") {
		t.Fatalf("tenants = %+v, want only %s with the new GUID", list.Items, legacy.Name)
	}

	// Two legacy tenants for one tenant id (left by the old race): refused, naming both.
	second := legacy.DeepCopy()
	second.ObjectMeta = metav1.ObjectMeta{GenerateName: appName + "-", Namespace: f.ns, Labels: legacy.Labels}
	if second, err = f.sme.SmeV1alpha1().CAPTenants(f.ns).Create(context.Background(), second, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		resp = do(t, srv, http.MethodPut, "/provision/tenants/t-old", f.saasPayload("t-old", "g-3", "old"), map[string]string{"Authorization": f.token()})
		return resp.code == http.StatusConflict, nil
	})
	if msg := resp.message(t); !strings.Contains(msg, legacy.Name) || !strings.Contains(msg, second.Name) || !strings.Contains(msg, "delete the duplicates") {
		t.Fatalf("409 message %q does not name both tenants", msg)
	}
}

// TestUnauthenticatedAnswersDoNotReveal asks, without valid credentials, about an
// application and a tenant that exist and about ones that do not: the answers are identical,
// so an unauthenticated caller learns nothing about what exists.
func TestUnauthenticatedAnswersDoNotReveal(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	valid := map[string]string{"Authorization": f.token()}
	if resp := do(t, srv, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "g-1", "s"), valid); resp.code != http.StatusAccepted {
		t.Fatalf("PUT = %d %s", resp.code, resp.body)
	}
	other := servertest.NewCA(t, pkix.Name{CommonName: "Elsewhere"}).Issue(t, smsSubject)
	bad := map[string]string{
		"Authorization":           "Bearer " + f.xsuaa.Sign(t, servertest.Claims("sb-other", "other!t1"), servertest.TokenOptions{}),
		"X-Forwarded-Client-Cert": url.PathEscape(string(other.CertPEM)),
	}
	unknownApp := f.saasPayload("t-1", "g-1", "s")
	unknownApp["subscriptionAppName"] = "no-such-app"
	pairs := map[string][2]struct {
		method, path string
		body         any
	}{
		"SaaS subscribe": {
			{http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "g-1", "s")},
			{http.MethodPut, "/provision/tenants/t-1", unknownApp},
		},
		"SaaS unsubscribe": {
			{http.MethodDelete, "/provision/tenants/t-1", f.saasPayload("t-1", "g-1", "s")},
			{http.MethodDelete, "/provision/tenants/t-2", f.saasPayload("t-2", "g-2", "s")},
		},
		"SMS unsubscribe": {
			{http.MethodDelete, "/sms/provision/tenants/t-1?subscriptionGUID=" + f.guid("g-1"), nil},
			{http.MethodDelete, "/sms/provision/tenants/t-2?subscriptionGUID=" + f.guid("g-2"), nil},
		},
		"dependencies": {
			{http.MethodGet, "/dependencies/" + f.account + "/" + appName + "/", nil},
			{http.MethodGet, "/dependencies/" + f.account + "/no-such-app/", nil},
		},
	}
	for name, pair := range pairs {
		t.Run(name, func(t *testing.T) {
			existing := do(t, srv, pair[0].method, pair[0].path, pair[0].body, bad)
			missing := do(t, srv, pair[1].method, pair[1].path, pair[1].body, bad)
			if existing != missing {
				t.Fatalf("answers differ: existing %d %q, missing %d %q", existing.code, existing.body, missing.code, missing.body)
			}
			if existing.code != http.StatusNotAcceptable && existing.code != http.StatusUnauthorized {
				t.Fatalf("answer %d %q is not an authentication failure", existing.code, existing.body)
			}
		})
	}
	if cat := f.tenant("t-1"); cat == nil || cat.DeletionTimestamp != nil {
		t.Fatal("an unauthenticated request deleted the tenant")
	}
}

// TestRequestsInFlightLimit holds one request in the server (its body is still being sent)
// with a limit of one in flight and one waiting: of two more requests, one waits and is served
// once the held one finished, the other is answered 429 at once with a reason.
func TestRequestsInFlightLimit(t *testing.T) {
	f := newFixture(t)
	srv := f.newServer("server-a", server.Options{MaxRequestsInFlight: 1, MaxRequestsQueued: 1})
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	body, writer := io.Pipe()
	held := make(chan error, 1)
	go func() {
		req, err := http.NewRequest(http.MethodPut, "http://"+srv.Addr()+"/provision/tenants/t-1", body)
		if err == nil {
			var resp *http.Response
			if resp, err = http.DefaultClient.Do(req); err == nil {
				_ = resp.Body.Close()
			}
		}
		held <- err
	}()
	if _, err := writer.Write([]byte(`{"subscribedTenantId":`)); err != nil {
		t.Fatal(err)
	}
	dependencies := func(timeout time.Duration) (response, error) {
		return send(srv, http.MethodGet, "/dependencies/"+f.account+"/"+appName+"/", nil, map[string]string{"Authorization": f.token()}, timeout)
	}
	// The held request is in flight once its family's gauge counts it and a request has to
	// wait (it gives up after 300 ms and leaves the queue, which its family's gauge shows).
	metrics := "http://" + srv.MetricsAddr() + "/metrics"
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		return strings.Contains(get(t, metrics, http.StatusOK), "cap_op_subscription_requests_inflight 1"), nil
	})
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		_, err := dependencies(300 * time.Millisecond)
		return err != nil, nil
	})
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		return strings.Contains(get(t, metrics, http.StatusOK), "cap_op_dependencies_requests_inflight 0"), nil
	})
	answers := make(chan response, 2)
	for range 2 {
		go func() {
			r, err := dependencies(waitTimeout)
			if err != nil {
				r = response{body: err.Error()}
			}
			answers <- r
		}()
	}
	refused := <-answers
	if refused.code != http.StatusTooManyRequests || !strings.Contains(refused.body, "too many requests in flight (limit 1, 1 more may wait)") {
		t.Fatalf("first answer %d %q, want 429 with the limits as reason", refused.code, refused.body)
	}
	_ = writer.Close()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if r := <-answers; r.code != http.StatusOK {
		t.Fatalf("the waiting request: %d %q, want 200 once the held request finished", r.code, r.body)
	}
}

// assertNoTenants fails when the namespace holds tenants.
func (f *fixture) assertNoTenants() {
	f.t.Helper()
	list, err := f.sme.SmeV1alpha1().CAPTenants(f.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		f.t.Fatal(err)
	}
	if len(list.Items) != 0 {
		f.t.Fatalf("unexpected tenants: %s", fmt.Sprint(len(list.Items)))
	}
}
