package webhooks

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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

func TestDomainsMigration(t *testing.T) {
	env := setup(t)
	ns := env.NewNamespace(t)
	ca := example(t, "multitenant/capapplication.yaml", ns)
	unstructured.RemoveNestedField(ca.Object, "spec", "domainRefs")
	_ = unstructured.SetNestedMap(ca.Object, map[string]any{
		"primary": ns + ".primary.example.com", "secondary": []any{ns + ".alt.example.com"},
		"istioIngressGatewayLabels": []any{map[string]any{"name": "istio", "value": "ingressgateway"}},
	}, "spec", "domains")
	created, w := mustCreate(t, env, ca)
	requireContains(t, "warnings", w.joined(), "Spec.Domains is deprecated", "Automatically migrating spec.domains of CAPApplication "+ns+"/cap-app-01")
	if _, found, _ := unstructured.NestedMap(created.Object, "spec", "domains"); found {
		t.Errorf("spec.domains is still set: %v", created.Object["spec"])
	}
	refs, _, _ := unstructured.NestedSlice(created.Object, "spec", "domainRefs")
	if len(refs) != 2 {
		t.Fatalf("domainRefs = %v, want a Domain and a ClusterDomain", refs)
	}
	primary, secondary := refs[0].(map[string]any), refs[1].(map[string]any)
	if primary["kind"] != "Domain" || primary["name"] != "cap-app-01-primary" || secondary["kind"] != "ClusterDomain" {
		t.Fatalf("domainRefs = %v", refs)
	}
	ctx := context.Background()
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
		if host != want[0] || mode != want[1] || obj.GetAnnotations()[v1alpha1.AnnotationMigratedToDomainRefs] != ns+"/cap-app-01" {
			t.Errorf("%s %s: domain %q dnsMode %q annotations %v, want %v", obj.GetKind(), obj.GetName(), host, mode, obj.GetAnnotations(), want)
		}
	}

	// Adding domains again to an application with domainRefs is denied.
	_ = unstructured.SetNestedMap(created.Object, map[string]any{"primary": ns + ".third.example.com"}, "spec", "domains")
	_, err = env.Dynamic().Resource(gvr("capapplications")).Namespace(ns).Update(ctx, created, metav1.UpdateOptions{})
	if err == nil {
		t.Fatal("adding domains to an application with domainRefs was allowed")
	}
	requireContains(t, "denial", err.Error(), "spec.domains: Forbidden: domains are deprecated. Use domainRefs instead")
}
