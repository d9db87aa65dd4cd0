package webhooks

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestProviderTenantDeletion(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	ctx := context.Background()
	ca, _ := mustCreate(t, env, example(t, "multitenant/capapplication.yaml", ns))
	_ = unstructured.SetNestedField(ca.Object, string(v1alpha1.CAPApplicationStateConsistent), "status", "state")
	cas := env.Dynamic().Resource(gvr("capapplications")).Namespace(ns)
	ca, err := cas.UpdateStatus(ctx, ca, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cat := example(t, "multitenant/captenant-provider.yaml", ns)
	cat.SetLabels(map[string]string{v1alpha1.LabelTenantType: v1alpha1.TenantTypeProvider})
	cat, _ = mustCreate(t, env, cat)
	_ = unstructured.SetNestedField(cat.Object, string(v1alpha1.CAPTenantStateReady), "status", "state")
	cats := env.Dynamic().Resource(gvr("captenants")).Namespace(ns)
	if _, err := cats.UpdateStatus(ctx, cat, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	err = cats.Delete(ctx, cat.GetName(), metav1.DeleteOptions{})
	if err == nil {
		t.Fatal("deleting the Ready provider tenant was allowed")
	}
	requireContains(t, "denial", err.Error(), "invalidated from webhook CAPTenant "+ns+"/cap-app-01-provider: [metadata.labels[sme.sap.com/tenant-type]: Forbidden: the Ready provider tenant of CAPApplication cap-app-01")

	// Removing the provider section is allowed and lifts the protection.
	unstructured.RemoveNestedField(ca.Object, "spec", "provider")
	if _, err := cas.Update(ctx, ca, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("removing the provider: %v", err)
	}
	if err := cats.Delete(ctx, cat.GetName(), metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting the tenant after removing the provider: %v", err)
	}
}

// TestDomainsMigration applies an application with the deprecated domains through the API
// server: the webhook makes no writes, and the CAPApplication controller creates the Domain
// and ClusterDomain and replaces spec.domains with domainRefs to them (spec 4.3).
func TestDomainsMigration(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	startApplicationController(t, env, ns)
	ca := example(t, "multitenant/capapplication.yaml", ns)
	unstructured.RemoveNestedField(ca.Object, "spec", "domainRefs")
	_ = unstructured.SetNestedMap(ca.Object, map[string]any{
		"primary": ns + ".primary.example.com", "secondary": []any{ns + ".alt.example.com"},
		"istioIngressGatewayLabels": []any{map[string]any{"name": "istio", "value": "ingressgateway"}},
	}, "spec", "domains")
	_, w := mustCreate(t, env, ca)
	requireContains(t, "warnings", w.joined(), "Spec.Domains is deprecated", "Automatically migrating spec.domains of CAPApplication "+ns+"/cap-app-01")
	ctx := context.Background()
	cas := env.Dynamic().Resource(gvr("capapplications")).Namespace(ns)
	var migrated *unstructured.Unstructured
	testenv.Eventually(t, 30*time.Second, func() (bool, error) {
		var err error
		migrated, err = cas.Get(ctx, "cap-app-01", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, hasDomains, _ := unstructured.NestedMap(migrated.Object, "spec", "domains")
		refs, _, _ := unstructured.NestedSlice(migrated.Object, "spec", "domainRefs")
		return !hasDomains && len(refs) > 0, fmt.Errorf("spec %v", migrated.Object["spec"])
	})
	refs, _, _ := unstructured.NestedSlice(migrated.Object, "spec", "domainRefs")
	if len(refs) != 2 {
		t.Fatalf("domainRefs = %v, want a Domain and a ClusterDomain", refs)
	}
	primary, secondary := refs[0].(map[string]any), refs[1].(map[string]any)
	if primary["kind"] != "Domain" || primary["name"] != "cap-app-01-primary" || secondary["kind"] != "ClusterDomain" ||
		!strings.HasPrefix(secondary["name"].(string), "cap-operator-domains-") {
		t.Fatalf("domainRefs = %v", refs)
	}
	dom, err := env.Dynamic().Resource(gvr("domains")).Namespace(ns).Get(ctx, "cap-app-01-primary", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cdom, err := env.Dynamic().Resource(gvr("clusterdomains")).Get(ctx, secondary["name"].(string), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Dynamic().Resource(gvr("clusterdomains")).Delete(ctx, cdom.GetName(), metav1.DeleteOptions{})
	})
	for obj, want := range map[*unstructured.Unstructured][2]string{dom: {ns + ".primary.example.com", "Wildcard"}, cdom: {ns + ".alt.example.com", "Subdomain"}} {
		host, _, _ := unstructured.NestedString(obj.Object, "spec", "domain")
		mode, _, _ := unstructured.NestedString(obj.Object, "spec", "dnsMode")
		selector, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "ingressSelector")
		if host != want[0] || mode != want[1] || obj.GetAnnotations()[v1alpha1.AnnotationMigratedToDomainRefs] != ns+"/cap-app-01" ||
			len(selector) != 1 || selector["istio"] != "ingressgateway" {
			t.Errorf("%s %s: domain %q dnsMode %q selector %v annotations %v, want %v", obj.GetKind(), obj.GetName(), host, mode, selector, obj.GetAnnotations(), want)
		}
	}

	// Adding domains again to an application with domainRefs is denied. The controller may
	// still be writing the application's status, so a conflict is retried on a fresh copy.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest, err := cas.Get(ctx, "cap-app-01", metav1.GetOptions{})
		if err != nil {
			return err
		}
		_ = unstructured.SetNestedMap(latest.Object, map[string]any{"primary": ns + ".third.example.com"}, "spec", "domains")
		_, err = cas.Update(ctx, latest, metav1.UpdateOptions{})
		return err
	})
	if err == nil {
		t.Fatal("adding domains to an application with domainRefs was allowed")
	}
	requireContains(t, "denial", err.Error(), "spec.domains: Forbidden: domains are deprecated. Use domainRefs instead")
}

// TestDomainsMigrationRefused migrates a host that a Domain of another namespace serves: the
// webhook denies the controller's Domain for it, and the application says so in its status.
// Once that Domain is deleted, the migration is retried without a change of the application
// and succeeds.
func TestDomainsMigrationRefused(t *testing.T) {
	env := setup(t)
	ns, other := env.NewNamespace(t), env.NewNamespace(t)
	startApplicationController(t, env, ns)
	host := ns + ".taken.example.com"
	dom := example(t, "domains/domain-custom-dns.yaml", other)
	_ = unstructured.SetNestedField(dom.Object, host, "spec", "domain")
	mustCreate(t, env, dom)
	ca := example(t, "multitenant/capapplication.yaml", ns)
	unstructured.RemoveNestedField(ca.Object, "spec", "domainRefs")
	_ = unstructured.SetNestedMap(ca.Object, map[string]any{"primary": host}, "spec", "domains")
	mustCreate(t, env, ca)
	testenv.Eventually(t, 30*time.Second, func() (bool, error) {
		got, err := env.Dynamic().Resource(gvr("capapplications")).Namespace(ns).Get(context.Background(), "cap-app-01", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		state, _, _ := unstructured.NestedString(got.Object, "status", "state")
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			m := c.(map[string]any)
			if m["type"] == "Ready" && m["reason"] == "DomainsMigrationFailed" && state == "Error" &&
				strings.Contains(fmt.Sprint(m["message"]), `cannot migrate spec.domains.primary "`+host+`"`) &&
				strings.Contains(fmt.Sprint(m["message"]), "already used by Domain "+other+"/") {
				return true, nil
			}
		}
		return false, fmt.Errorf("state %q, conditions %v", state, conds)
	})

	if err := env.Dynamic().Resource(gvr("domains")).Namespace(other).Delete(context.Background(), dom.GetName(), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() (bool, error) {
		got, err := env.Dynamic().Resource(gvr("capapplications")).Namespace(ns).Get(context.Background(), "cap-app-01", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		refs, _, _ := unstructured.NestedSlice(got.Object, "spec", "domainRefs")
		_, hasDomains, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "domains")
		want := map[string]any{"kind": "Domain", "name": "cap-app-01-primary"}
		if len(refs) == 1 && fmt.Sprint(refs[0]) == fmt.Sprint(want) && !hasDomains {
			return true, nil
		}
		return false, fmt.Errorf("after deleting the conflicting Domain: domainRefs %v, spec.domains still set %v", refs, hasDomains)
	})
}

// TestForgedMutationReviewCreatesNothing posts an AdmissionReview straight to the mutating
// webhook, as anyone who reaches its port can (the webhook does not authenticate callers):
// an application with domains that no object serves must not make the webhook create a
// Domain or ClusterDomain.
func TestForgedMutationReviewCreatesNothing(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	ca := example(t, "multitenant/capapplication.yaml", ns)
	unstructured.RemoveNestedField(ca.Object, "spec", "domainRefs")
	_ = unstructured.SetNestedMap(ca.Object, map[string]any{"primary": ns + ".forged.example.com",
		"secondary": []any{ns + ".forged-alt.example.com"}}, "spec", "domains")
	raw, err := ca.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "forged", Operation: admissionv1.Create, Name: ca.GetName(), Namespace: ns,
			Kind:     metav1.GroupVersionKind{Group: "sme.sap.com", Version: "v1alpha1", Kind: "CAPApplication"},
			Resource: metav1.GroupVersionResource{Group: "sme.sap.com", Version: "v1alpha1", Resource: "capapplications"},
			Object:   runtime.RawExtension{Raw: raw}},
	}
	resp := postReview(t, "/mutate", review)
	if resp.Response == nil || !resp.Response.Allowed {
		t.Fatalf("the review was not answered with allowed: %+v", resp.Response)
	}
	ctx := context.Background()
	doms, err := env.Dynamic().Resource(gvr("domains")).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cdoms, err := env.Dynamic().Resource(gvr("clusterdomains")).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range append(doms.Items, cdoms.Items...) {
		if strings.HasPrefix(d.GetAnnotations()[v1alpha1.AnnotationMigratedToDomainRefs], ns+"/") {
			t.Errorf("the forged review created %s %s", d.GetKind(), d.GetName())
		}
	}
}
