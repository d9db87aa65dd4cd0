package subscription

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

// TestSaaSSubscriptionLifecycle subscribes a consumer through the SaaS registry endpoint with
// a valid XSUAA token: the server creates the tenant and its subscription-context Secret, the
// controller provisions it with a real tenant-operation Job, and only then the SUCCEEDED
// callback arrives, once. Unsubscribing deletes the tenant: a deprovisioning operation runs,
// and the SUCCEEDED callback arrives once the tenant is gone.
func TestSaaSSubscriptionLifecycle(t *testing.T) {
	f := newFixture(t)
	f.startController()
	f.createApp(f.version1())
	srv := f.startServer("server-a")
	ops := f.watchOperations()
	const tenantID, subdomain = "consumer-tenant-1", "consumer-1"

	path := callbackPrefix + "subscribe-1/result"
	resp := srv.do(t, http.MethodPut, "/provision/tenants/"+tenantID, f.saasPayload(tenantID, "guid-1", subdomain), f.saasHeaders(path))
	if resp.code != http.StatusAccepted || resp.message(t) != "resource created successfully" {
		t.Fatalf("PUT = %d %s", resp.code, resp.body)
	}
	f.assertSubscribedTenant(f.tenant(tenantID), tenantID, f.guid("guid-1"), subdomain)

	// The callback must not come before the tenant is Ready.
	var cat *v1alpha1.CAPTenant
	testenv.Eventually(t, timeout, func() (bool, error) {
		callbacks := len(f.receiver.ForPath(path))
		cat = f.tenant(tenantID)
		if cat == nil {
			t.Fatal("the tenant vanished")
		}
		if callbacks > 0 && cat.Status.State != v1alpha1.CAPTenantStateReady {
			t.Fatalf("callback sent while the tenant is %q: %+v", cat.Status.State, f.receiver.ForPath(path))
		}
		return cat.Status.State == v1alpha1.CAPTenantStateReady, fmt.Errorf("tenant is %q: %s", cat.Status.State, readyMessage(cat.Status.Conditions))
	})
	f.assertProvisioned(cat)
	f.assertCallback(f.awaitCallback(path), map[string]any{
		"status": "SUCCEEDED", "message": "Provisioning successful",
		"subscriptionUrl": "https://" + subdomain + "." + primaryDomain, "additionalOutput": map[string]any{},
	})

	delPath := callbackPrefix + "unsubscribe-1/result"
	body := map[string]any{"subscribedTenantId": tenantID, "subscriptionGUID": f.guid("guid-1"), "subscriptionAppName": appName,
		"providerSubaccountId": f.account, "globalAccountGUID": "consumer-global", "eventType": "DELETE"}
	resp = srv.do(t, http.MethodDelete, "/provision/tenants/"+tenantID, body, f.saasHeaders(delPath))
	if resp.code != http.StatusAccepted || resp.message(t) != "resource deleted successfully" {
		t.Fatalf("DELETE = %d %s", resp.code, resp.body)
	}
	f.assertCallback(f.awaitDeprovisioned(ops, cat, delPath), map[string]any{"status": "SUCCEEDED", "message": "Deprovisioning successful"})
	// The subscription-context Secret goes with the tenant.
	secretName := cat.Annotations[v1alpha1.AnnotationSubscriptionContextSecret]
	testenv.Eventually(t, timeout, func() (bool, error) {
		_, err := f.kube.CoreV1().Secrets(f.ns).Get(context.Background(), secretName, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	if n := len(f.receiver.ForPath(path)); n != 1 {
		t.Errorf("%d provisioning callbacks, want 1", n)
	}
}

// TestSaaSProvisioningFailure subscribes to a version whose TenantOperation workload fails
// (its labels, which go onto the Job's pod template, make kwok fail the pod): without
// automatic retries (--retry-attempts=0) the tenant ends in ProvisioningError and
// the FAILED callback arrives, once.
func TestSaaSProvisioningFailure(t *testing.T) {
	f := newFixture(t)
	f.startController("--retry-attempts=0")
	cav := f.version1()
	v2 := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v2-upgrade.yaml", f.ns, v2)
	for _, w := range v2.Spec.Workloads {
		if w.Name == "tenant-operation" {
			w.Labels = map[string]string{testenv.FailPodLabel: "true"}
			w.JobDefinition.BackoffLimit = ptr.To[int32](0)
			cav.Spec.Workloads = append(cav.Spec.Workloads, w)
		}
	}
	if len(cav.Spec.Workloads) != 4 {
		t.Fatalf("cav-v2-upgrade.yaml has no tenant-operation workload")
	}
	// Without a provider tenant: it would fail the same way, and the application controller
	// gives consumer tenants a version only once the provider tenant is Ready.
	f.createApp(cav, func(ca *v1alpha1.CAPApplication) { ca.Spec.Provider = nil })
	srv := f.startServer("server-a")
	const tenantID, subdomain = "failing-tenant", "failing"

	path := callbackPrefix + "subscribe-fail/result"
	resp := srv.do(t, http.MethodPut, "/provision/tenants/"+tenantID, f.saasPayload(tenantID, "guid-fail", subdomain), f.saasHeaders(path))
	if resp.code != http.StatusAccepted || resp.message(t) != "resource created successfully" {
		t.Fatalf("PUT = %d %s", resp.code, resp.body)
	}
	cat := f.waitTenantState(tenantID, v1alpha1.CAPTenantStateProvisioningError)
	ops := f.operations(cat)
	if len(ops) != 1 || ops[0].Spec.Operation != v1alpha1.CAPTenantOperationTypeProvisioning || ops[0].Status.State != v1alpha1.CAPTenantOperationStateFailed {
		t.Fatalf("want one Failed provisioning operation, got %+v", ops)
	}
	jobs := f.jobsOf(&ops[0])
	if len(jobs) != 1 || !jobCondition(&jobs[0], batchv1.JobFailed) || jobs[0].Spec.Template.Labels[testenv.FailPodLabel] != "true" {
		t.Fatalf("want one failed Job with the fail label for %s, got %+v", ops[0].Name, jobs)
	}
	f.assertCallback(f.awaitCallback(path), map[string]any{
		"status": "FAILED", "message": "Provisioning failed",
		"subscriptionUrl": "https://" + subdomain + "." + primaryDomain, "additionalOutput": map[string]any{},
	})
}

// TestCallbackSurvivesServerRestart stops the server process after it answered 202 and
// before the tenant is provisioned (the controller is stopped meanwhile, so the outcome
// cannot come early), and starts a new server process: the callback is sent exactly once,
// whether the tenant becomes Ready while no server runs (the new server finds the outcome at
// start) or after the new server started (it learns it from its watch).
func TestCallbackSurvivesServerRestart(t *testing.T) {
	for _, readyWhileDown := range []bool{true, false} {
		name := "outcome after the restart"
		if readyWhileDown {
			name = "outcome while no server runs"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			ctl := f.startController()
			f.createApp(f.version1())
			ctl.Stop(t)
			first := f.startServer("server-first")
			const tenantID, subdomain = "restart-tenant", "restart"

			path := callbackPrefix + "restart/result"
			resp := first.do(t, http.MethodPut, "/provision/tenants/"+tenantID, f.saasPayload(tenantID, "guid-restart", subdomain), f.saasHeaders(path))
			if resp.code != http.StatusAccepted || resp.message(t) != "resource created successfully" {
				t.Fatalf("PUT = %d %s", resp.code, resp.body)
			}
			f.assertSubscribedTenant(f.tenant(tenantID), tenantID, f.guid("guid-restart"), subdomain)
			first.Stop(t)
			if _, code := first.Exited(); code != 0 {
				t.Errorf("the first server exited with code %d after SIGTERM", code)
			}
			if n := len(f.records()); n != 1 {
				t.Fatalf("%d pending-callback records after the first server stopped, want 1", n)
			}
			f.assertNoCallback(path)

			if readyWhileDown {
				f.startController()
				f.waitTenantState(tenantID, v1alpha1.CAPTenantStateReady)
				f.assertNoCallback(path)
				f.startServer("server-second")
			} else {
				f.startServer("server-second")
				f.assertNoCallback(path)
				f.startController()
			}
			f.assertCallback(f.awaitCallback(path), map[string]any{
				"status": "SUCCEEDED", "message": "Provisioning successful",
				"subscriptionUrl": "https://" + subdomain + "." + primaryDomain, "additionalOutput": map[string]any{},
			})
			cat := f.waitTenantState(tenantID, v1alpha1.CAPTenantStateReady)
			f.assertProvisioned(cat)
		})
	}
}

// TestSMSSubscriptionLifecycle subscribes and unsubscribes through the Subscription Manager
// endpoints, authenticated by the forwarded client certificate: the tenant is provisioned and
// the SUCCEEDED callback (with a token fetched over mutual TLS) carries the application URL;
// unsubscribing deprovisions the tenant and reports SUCCEEDED once it is gone.
func TestSMSSubscriptionLifecycle(t *testing.T) {
	f := newFixture(t)
	f.startController()
	f.createApp(f.version1())
	srv := f.startServer("server-a")
	ops := f.watchOperations()
	const tenantID, subdomain = "sms-tenant", "sms-sub"

	resp := srv.do(t, http.MethodPut, "/sms/provision/tenants/"+tenantID, f.smsPayload(tenantID, "sms-guid", subdomain), f.smsHeaders("/sms-cb/subscribe"))
	if resp.code != http.StatusAccepted || resp.message(t) != "resource created successfully" {
		t.Fatalf("PUT = %d %s", resp.code, resp.body)
	}
	f.assertSubscribedTenant(f.tenant(tenantID), tenantID, f.guid("sms-guid"), subdomain)
	cat := f.waitTenantState(tenantID, v1alpha1.CAPTenantStateReady)
	f.assertProvisioned(cat)
	f.assertCallback(f.awaitCallback("/sms-cb/subscribe"), map[string]any{
		"status": "SUCCEEDED", "message": "Provisioning successful",
		"applicationUrl": "https://" + subdomain + "." + primaryDomain, "additionalOutput": map[string]any{},
	})

	resp = srv.do(t, http.MethodDelete, "/sms/provision/tenants/"+tenantID+"?subscriptionGUID="+f.guid("sms-guid"), nil, f.smsHeaders("/sms-cb/unsubscribe"))
	if resp.code != http.StatusAccepted || resp.message(t) != "resource deleted successfully" {
		t.Fatalf("DELETE = %d %s", resp.code, resp.body)
	}
	f.assertCallback(f.awaitDeprovisioned(ops, cat, "/sms-cb/unsubscribe"), map[string]any{"status": "SUCCEEDED", "message": "Deprovisioning successful"})
}
