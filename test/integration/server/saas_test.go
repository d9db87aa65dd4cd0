package server

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/server"
	"github.com/capstan-io/capstan/internal/server/servertest"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestSaaSProvisioning covers both outcomes of a SaaS subscription: the tenant and its
// subscription-context Secret are created, and the callback reports the tenant's state.
func TestSaaSProvisioning(t *testing.T) {
	tests := map[string]struct {
		// state is what the "controller" sets on the tenant.
		state v1alpha1.CAPTenantState
		// wantStatus and wantMessage are the callback's.
		wantStatus, wantMessage string
	}{
		"Ready reports SUCCEEDED":          {state: v1alpha1.CAPTenantStateReady, wantStatus: "SUCCEEDED", wantMessage: "Provisioning successful"},
		"ProvisioningError reports FAILED": {state: v1alpha1.CAPTenantStateProvisioningError, wantStatus: "FAILED", wantMessage: "Provisioning failed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			srv := f.startServer("server-a")
			payload := f.saasPayload("tenant-1", "guid-1", "consumer-1")
			path := callbackPrefix + "job-1/result"
			resp := do(t, srv, http.MethodPut, "/provision/tenants/tenant-1", payload,
				map[string]string{"Authorization": f.token(), "STATUS_CALLBACK": path})
			if resp.code != http.StatusAccepted || resp.message(t) != "resource created successfully" {
				t.Fatalf("PUT = %d %s", resp.code, resp.body)
			}
			cat := f.tenant("tenant-1")
			f.assertNewTenant(cat, payload)
			if len(f.records()) != 1 {
				t.Fatalf("want one pending-callback record, got %d", len(f.records()))
			}
			f.assertNoCallback(path)

			f.addOutputs(cat)
			f.setState(cat, v1alpha1.CAPTenantStateProvisioning)
			f.setState(cat, tc.state)
			got := f.awaitCallbacks(path, 1)[0]
			want := map[string]any{
				"status": tc.wantStatus, "message": tc.wantMessage,
				"subscriptionUrl":  "https://consumer-1." + appDomain,
				"additionalOutput": map[string]any{"fromAnnotation": "a", "shared": "output", "fromOutput": 1.0},
			}
			if !reflect.DeepEqual(got.Body, want) {
				t.Errorf("callback body = %v, want %v", got.Body, want)
			}
			if got.Method != http.MethodPut || got.Authorization != "Bearer "+servertest.AccessToken || got.ContentType != "application/json" {
				t.Errorf("callback = %s with Authorization %q, Content-Type %q", got.Method, got.Authorization, got.ContentType)
			}
		})
	}
}

// assertNewTenant checks the tenant and Secret created for a subscription (spec section 3).
func (f *fixture) assertNewTenant(cat *v1alpha1.CAPTenant, payload map[string]any) {
	t := f.t
	t.Helper()
	if cat == nil {
		t.Fatal("no CAPTenant was created")
	}
	ca, err := f.sme.SmeV1alpha1().CAPApplications(f.ns).Get(context.Background(), appName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The tenant comes prepared: the controller has nothing to add before provisioning.
	wantLabels := map[string]string{
		v1alpha1.LabelBTPTenantIdentifier: payload["subscribedTenantId"].(string),
		v1alpha1.LabelSubscriptionGUID:    payload["subscriptionGUID"].(string),
		v1alpha1.LabelTenantType:          v1alpha1.TenantTypeConsumer,
		v1alpha1.LabelAppIdentifierHash:   identity.AppHash(f.account, appName),
		v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(f.ns, appName),
		v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(ca.Generation, 10),
	}
	if !reflect.DeepEqual(cat.Labels, wantLabels) {
		t.Errorf("tenant labels = %v, want %v", cat.Labels, wantLabels)
	}
	if cat.Spec.CAPApplicationInstance != appName || cat.Spec.SubDomain != payload["subscribedSubdomain"] ||
		cat.Spec.TenantId != payload["subscribedTenantId"] || cat.Spec.Version != "" {
		t.Errorf("tenant spec = %+v", cat.Spec)
	}
	if cat.Annotations[v1alpha1.AnnotationSubscriptionGUID] != payload["subscriptionGUID"] {
		t.Errorf("tenant annotations = %v", cat.Annotations)
	}
	secret, err := f.kube.CoreV1().Secrets(f.ns).Get(context.Background(), cat.Annotations[v1alpha1.AnnotationSubscriptionContextSecret], metav1.GetOptions{})
	if err != nil {
		t.Fatalf("subscription-context Secret: %v", err)
	}
	var stored map[string]any
	if err := json.Unmarshal(secret.Data[v1alpha1.SubscriptionContextKey], &stored); err != nil || !reflect.DeepEqual(stored, payload) {
		t.Errorf("stored payload = %v (%v), want %v", stored, err, payload)
	}
	if len(secret.OwnerReferences) != 1 || secret.OwnerReferences[0].UID != cat.UID || secret.OwnerReferences[0].Kind != "CAPTenant" {
		t.Errorf("Secret owners = %+v, want the tenant", secret.OwnerReferences)
	}
	if secret.Labels[v1alpha1.LabelSubscriptionGUID] != payload["subscriptionGUID"] || secret.Name != server.TenantName(appName, cat.Spec.TenantId)+"-context" {
		t.Errorf("Secret metadata = %+v", secret.ObjectMeta)
	}
}

// addOutputs sets the CA's additional-output annotation and creates a CAPTenantOutput, to be
// merged into the callback (the output wins on the shared key).
func (f *fixture) addOutputs(cat *v1alpha1.CAPTenant) {
	f.t.Helper()
	ca, err := f.sme.SmeV1alpha1().CAPApplications(f.ns).Get(context.Background(), appName, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	ca.Annotations = map[string]string{v1alpha1.AnnotationSaaSAdditionalOutput: `{"fromAnnotation":"a","shared":"annotation"}`}
	if _, err := f.sme.SmeV1alpha1().CAPApplications(f.ns).Update(context.Background(), ca, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	data := `{"fromOutput":1,"shared":"output"}`
	f.create(&v1alpha1.CAPTenantOutput{
		ObjectMeta: metav1.ObjectMeta{Name: "out-1", Namespace: f.ns, Labels: map[string]string{v1alpha1.LabelBTPTenantIdentifier: cat.Spec.TenantId}},
		Spec:       v1alpha1.CAPTenantOutputSpec{SubscriptionCallbackData: &data},
	})
}

// TestSaaSResubscribe covers a repeated PUT (same GUID: nothing changes) and a PUT with a new
// subscription GUID (label, annotation and stored payload updated).
func TestSaaSResubscribe(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	headers := map[string]string{"Authorization": f.token()}
	do(t, srv, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "guid-1", "sub-1"), headers)
	first := f.tenant("t-1")

	resp := do(t, srv, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "guid-1", "sub-1"), headers)
	if resp.code != http.StatusAccepted || resp.message(t) != "resource exists" {
		t.Fatalf("repeated PUT = %d %s", resp.code, resp.body)
	}
	payload := f.saasPayload("t-1", "guid-2", "sub-1")
	resp = do(t, srv, http.MethodPut, "/provision/tenants/t-1", payload, headers)
	if resp.code != http.StatusAccepted || resp.message(t) != "resource updated successfully" {
		t.Fatalf("PUT with a new GUID = %d %s", resp.code, resp.body)
	}
	cat := f.tenant("t-1")
	if cat.UID != first.UID {
		t.Fatal("a new tenant was created instead of updating the existing one")
	}
	f.assertNewTenant(cat, payload)
	if len(f.records()) != 0 {
		t.Errorf("requests without %s left callback records", "STATUS_CALLBACK")
	}
}

// TestSaaSDeprovisioning deletes a tenant: the callback waits until the tenant is really gone.
func TestSaaSDeprovisioning(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	do(t, srv, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "guid-1", "sub-1"), map[string]string{"Authorization": f.token()})
	cat := f.tenant("t-1")
	// The server sets the controller's finalizer, so deletion takes until the test removes it.
	if len(cat.Finalizers) != 1 || cat.Finalizers[0] != v1alpha1.FinalizerCAPTenant {
		t.Fatalf("finalizers %v, want [%s]", cat.Finalizers, v1alpha1.FinalizerCAPTenant)
	}

	path := callbackPrefix + "job-del/result"
	body := map[string]any{"subscribedTenantId": "t-1", "subscriptionGUID": f.guid("guid-1"), "subscriptionAppName": appName, "providerSubaccountId": f.account}
	resp := do(t, srv, http.MethodDelete, "/provision/tenants/t-1", body, map[string]string{"Authorization": f.token(), "STATUS_CALLBACK": path})
	if resp.code != http.StatusAccepted || resp.message(t) != "resource deleted successfully" {
		t.Fatalf("DELETE = %d %s", resp.code, resp.body)
	}
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		cur := f.tenant("t-1")
		return cur != nil && cur.DeletionTimestamp != nil, nil
	})
	f.assertNoCallback(path)

	cur := f.tenant("t-1")
	cur.Finalizers = nil
	if _, err := f.sme.SmeV1alpha1().CAPTenants(f.ns).Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := f.awaitCallbacks(path, 1)[0]
	want := map[string]any{"status": "SUCCEEDED", "message": "Deprovisioning successful"}
	if !reflect.DeepEqual(got.Body, want) {
		t.Errorf("callback body = %v, want %v", got.Body, want)
	}

	resp = do(t, srv, http.MethodDelete, "/provision/tenants/t-1", body, map[string]string{"Authorization": f.token()})
	if resp.code != http.StatusNotFound || resp.message(t) != "tenant not found" {
		t.Errorf("DELETE of a deleted tenant = %d %s, want 404", resp.code, resp.body)
	}
}

// TestSaaSAuthRejected checks that a request whose token fails verification changes nothing.
func TestSaaSAuthRejected(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	expired := servertest.Claims(saasClientID, xsappname)
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	otherApp := servertest.Claims("sb-other", "other!t1")
	tests := map[string]struct {
		authorization string
	}{
		"no token":         {""},
		"expired":          {"Bearer " + f.xsuaa.Sign(t, expired, servertest.TokenOptions{})},
		"other app":        {"Bearer " + f.xsuaa.Sign(t, otherApp, servertest.TokenOptions{})},
		"foreign jku host": {"Bearer " + f.xsuaa.Sign(t, servertest.Claims(saasClientID, xsappname), servertest.TokenOptions{JKU: "https://127.0.0.1:1/token_keys"})},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := do(t, srv, http.MethodPut, "/provision/tenants/t-1", f.saasPayload("t-1", "g", "s"),
				map[string]string{"Authorization": tc.authorization, "STATUS_CALLBACK": "/cb"})
			if resp.code != http.StatusNotAcceptable || resp.message(t) != "authorization check failed" {
				t.Fatalf("PUT = %d %s, want 406 authorization check failed", resp.code, resp.body)
			}
			dep := do(t, srv, http.MethodGet, "/dependencies/"+f.account+"/"+appName+"/", nil, map[string]string{"Authorization": tc.authorization})
			if dep.code != http.StatusUnauthorized {
				t.Fatalf("GET dependencies = %d %s, want 401", dep.code, dep.body)
			}
		})
	}
	if f.tenant("t-1") != nil || len(f.records()) != 0 {
		t.Fatal("a rejected request created a tenant or a callback record")
	}
}

// TestAppLookupByGlobalAccount matches a payload by globalAccountGUID when the CA has no
// providerSubaccountId, as the published manifests do (spec section 0.1).
func TestAppLookupByGlobalAccount(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	ca, err := f.sme.SmeV1alpha1().CAPApplications(f.ns).Get(context.Background(), appName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca.Spec.ProviderSubaccountId = ""
	ca.Labels[v1alpha1.LabelAppIdentifierHash] = identity.AppHash(ca.Spec.GlobalAccountId, appName)
	if _, err := f.sme.SmeV1alpha1().CAPApplications(f.ns).Update(context.Background(), ca, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	payload := f.saasPayload("t-1", "g-1", "sub-1")
	payload["providerSubaccountId"] = "unknown-subaccount"
	payload["globalAccountGUID"] = ca.Spec.GlobalAccountId
	resp := do(t, srv, http.MethodPut, "/provision/tenants/t-1", payload, map[string]string{"Authorization": f.token()})
	if resp.code != http.StatusAccepted {
		t.Fatalf("PUT = %d %s", resp.code, resp.body)
	}
	if cat := f.tenant("t-1"); cat == nil || cat.Labels[v1alpha1.LabelAppIdentifierHash] != ca.Labels[v1alpha1.LabelAppIdentifierHash] {
		t.Fatalf("tenant %+v was not created for the app", cat)
	}
}

// TestDependencies checks the subscriptionDependency rules on the fixture's services.
func TestDependencies(t *testing.T) {
	f := newFixture(t)
	srv := f.startServer("server-a")
	for name, tc := range map[string]struct {
		path    string
		headers map[string]string
	}{
		"SaaS": {"/dependencies/" + f.account + "/" + appName + "/", map[string]string{"Authorization": f.token()}},
		"SMS":  {"/sms/dependencies/" + f.account + "/" + appName + "/", map[string]string{"X-Forwarded-Client-Cert": f.smsHeader()}},
	} {
		t.Run(name, func(t *testing.T) {
			resp := do(t, srv, http.MethodGet, tc.path, nil, tc.headers)
			if resp.code != http.StatusOK {
				t.Fatalf("GET = %d %s", resp.code, resp.body)
			}
			var got []map[string]string
			if err := json.Unmarshal([]byte(resp.body), &got); err != nil {
				t.Fatal(err)
			}
			want := []map[string]string{
				{"appName": "destination", "appId": "dest-xsapp"},
				{"appName": "auditlog", "appId": "audit-xsapp"},
				{"xsappname": "html5-xsapp"},
				{"xsappname": xsappname},
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("dependencies = %v, want %v", got, want)
			}
		})
	}
	// An unknown application is answered like a failed authentication (docs/security.md).
	if resp := do(t, srv, http.MethodGet, "/dependencies/nobody/"+appName+"/", nil, map[string]string{"Authorization": f.token()}); resp.code != http.StatusUnauthorized {
		t.Errorf("unknown app = %d %s, want 401", resp.code, resp.body)
	}
}
