package server

import (
	"context"
	"crypto/x509/pkix"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/server/servertest"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestSMSLifecycle subscribes and unsubscribes through the Subscription Manager endpoints: the
// client certificate authenticates, and the callbacks use a token fetched over mutual TLS.
func TestSMSLifecycle(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	headers := func(path string) map[string]string {
		return map[string]string{"X-Forwarded-Client-Cert": f.smsHeader(), "STATUS_CALLBACK": path}
	}
	payload := f.smsPayload("sms-tenant", "sms-guid", "sms-sub")
	resp := do(t, srv, http.MethodPut, "/sms/provision/tenants/sms-tenant", payload, headers("/sms-cb/1"))
	if resp.code != http.StatusAccepted || resp.message(t) != "resource created successfully" {
		t.Fatalf("PUT = %d %s", resp.code, resp.body)
	}
	cat := f.tenant("sms-tenant")
	if cat == nil || cat.Spec.SubDomain != "sms-sub" || cat.Labels[v1alpha1.LabelSubscriptionGUID] != f.guid("sms-guid") {
		t.Fatalf("tenant = %+v", cat)
	}
	tokensBefore := f.xsuaa.Hits("token")
	f.setState(cat, v1alpha1.CAPTenantStateReady)
	got := f.awaitCallbacks("/sms-cb/1", 1)[0]
	want := map[string]any{"status": "SUCCEEDED", "message": "Provisioning successful",
		"applicationUrl": "https://sms-sub." + appDomain, "additionalOutput": map[string]any{}}
	if !reflect.DeepEqual(got.Body, want) || got.Authorization != "Bearer "+servertest.AccessToken {
		t.Fatalf("callback = %+v, want body %v", got, want)
	}
	if f.xsuaa.Hits("token") != tokensBefore+1 {
		t.Errorf("token requests = %d, want one more than %d (x509 client credentials)", f.xsuaa.Hits("token"), tokensBefore)
	}

	resp = do(t, srv, http.MethodDelete, "/sms/provision/tenants/sms-tenant?subscriptionGUID="+f.guid("sms-guid"), nil, headers("/sms-cb/2"))
	if resp.code != http.StatusAccepted || resp.message(t) != "resource deleted successfully" {
		t.Fatalf("DELETE = %d %s", resp.code, resp.body)
	}
	// The server creates the tenant with the controller's finalizer; play the controller.
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		cur := f.tenant("sms-tenant")
		return cur != nil && cur.DeletionTimestamp != nil, nil
	})
	cur := f.tenant("sms-tenant")
	cur.Finalizers = nil
	if _, err := f.sme.SmeV1alpha1().CAPTenants(f.ns).Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got = f.awaitCallbacks("/sms-cb/2", 1)[0]
	if want := (map[string]any{"status": "SUCCEEDED", "message": "Deprovisioning successful"}); !reflect.DeepEqual(got.Body, want) {
		t.Fatalf("callback body = %v, want %v", got.Body, want)
	}
	if _, err := f.sme.SmeV1alpha1().CAPTenants(f.ns).Get(context.Background(), cat.Name, metav1.GetOptions{}); err == nil {
		t.Fatal("the tenant still exists")
	}
}

// TestSMSAuthAndInput checks the SMS rules: a certificate from another issuer or with another
// subject is refused, and DELETE needs the subscription GUID.
func TestSMSAuthAndInput(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	otherCA := servertest.NewCA(t, pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, CommonName: "Another CA"})
	wrongIssuer := otherCA.Issue(t, smsSubject)
	wrongSubject := f.ca.Issue(t, pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, CommonName: "intruder"})
	tests := map[string]struct {
		method, path string
		cert         string
		body         any
		wantCode     int
		wantMessage  string
	}{
		"other issuer": {
			method: http.MethodPut, path: "/sms/provision/tenants/t-1", body: f.smsPayload("t-1", "g", "s"),
			cert: url.PathEscape(string(wrongIssuer.CertPEM)), wantCode: http.StatusNotAcceptable, wantMessage: "authorization check failed",
		},
		"other subject": {
			method: http.MethodPut, path: "/sms/provision/tenants/t-1", body: f.smsPayload("t-1", "g", "s"),
			cert: url.PathEscape(string(wrongSubject.CertPEM)), wantCode: http.StatusNotAcceptable, wantMessage: "authorization check failed",
		},
		"no certificate": {
			method: http.MethodPut, path: "/sms/provision/tenants/t-1", body: f.smsPayload("t-1", "g", "s"),
			wantCode: http.StatusNotAcceptable, wantMessage: "authorization check failed",
		},
		"delete without GUID": {
			method: http.MethodDelete, path: "/sms/provision/tenants/t-1", cert: f.smsHeader(),
			wantCode: http.StatusBadRequest, wantMessage: "missing field query parameter subscriptionGUID",
		},
		"delete of an unknown tenant": {
			method: http.MethodDelete, path: "/sms/provision/tenants/t-1?subscriptionGUID=" + f.guid("g"), cert: f.smsHeader(),
			wantCode: http.StatusNotFound, wantMessage: "tenant not found",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := do(t, srv, tc.method, tc.path, tc.body, map[string]string{"X-Forwarded-Client-Cert": tc.cert})
			if resp.code != tc.wantCode || resp.message(t) != tc.wantMessage {
				t.Fatalf("%s %s = %d %s, want %d %q", tc.method, tc.path, resp.code, resp.body, tc.wantCode, tc.wantMessage)
			}
		})
	}
	if f.tenant("t-1") != nil {
		t.Fatal("a rejected request created a tenant")
	}
	dep := do(t, srv, http.MethodGet, "/sms/dependencies/"+f.account+"/"+appName+"/", nil,
		map[string]string{"X-Forwarded-Client-Cert": url.PathEscape(string(wrongSubject.CertPEM))})
	if dep.code != http.StatusUnauthorized {
		t.Fatalf("GET SMS dependencies with a wrong certificate = %d, want 401", dep.code)
	}
}
