package framework

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// MarkDomainReady sets the status of a Domain (ns set) or ClusterDomain (ns empty) to Ready
// with a gateway named "<name>-gw", standing in for the domain controllers in tests that do
// not run them.
func MarkDomainReady(t testing.TB, env *testenv.Env, ns, name string) {
	t.Helper()
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1()
	status := v1alpha1.DomainStatus{State: v1alpha1.DomainStateReady, GatewayName: name + "-gw"}
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready"})
	var err error
	if ns != "" {
		var d *v1alpha1.Domain
		if d, err = client.Domains(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			d.Status = status
			_, err = client.Domains(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
		}
	} else {
		var d *v1alpha1.ClusterDomain
		if d, err = client.ClusterDomains().Get(ctx, name, metav1.GetOptions{}); err == nil {
			d.Status = status
			_, err = client.ClusterDomains().UpdateStatus(ctx, d, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// MultitenantApp creates the walk-through's Domain, a test-unique ClusterDomain (deleted when
// the test ends), both marked Ready, the binding Secrets and the CAPApplication referencing
// them, and returns the created application. Edits change the Domain before it is created
// (e.g. a unique host, when a webhook checks hosts against other tests' Domains).
func MultitenantApp(t testing.TB, env *testenv.Env, ns string, edits ...func(*v1alpha1.Domain)) *v1alpha1.CAPApplication {
	t.Helper()
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1()
	readyDomain(t, env, ns, edits...)
	cdom := &v1alpha1.ClusterDomain{}
	Example(t, "multitenant/clusterdomain.yaml", "", cdom)
	cdom.Name = ns + "-external"
	if _, err := client.ClusterDomains().Create(ctx, cdom, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.ClusterDomains().Delete(context.Background(), cdom.Name, metav1.DeleteOptions{}) })
	MarkDomainReady(t, env, "", cdom.Name)
	ca := &v1alpha1.CAPApplication{}
	Example(t, "multitenant/capapplication.yaml", ns, ca)
	ca.Spec.DomainRefs[1].Name = cdom.Name
	BindingSecrets(t, env, ca)
	created, err := client.CAPApplications(ns).Create(ctx, ca, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// ServicesOnlyApp creates the walk-through's Domain, marked Ready, the binding Secrets and the
// services-only example's CAPApplication referencing only that Domain, and returns the created
// application.
func ServicesOnlyApp(t testing.TB, env *testenv.Env, ns string) *v1alpha1.CAPApplication {
	t.Helper()
	readyDomain(t, env, ns)
	ca := &v1alpha1.CAPApplication{}
	Example(t, "services-only/capapplication.yaml", ns, ca)
	ca.Spec.DomainRefs = ca.Spec.DomainRefs[:1] // the Domain only; the ClusterDomain is covered elsewhere
	BindingSecrets(t, env, ca)
	created, err := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1().CAPApplications(ns).Create(context.Background(), ca, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// readyDomain creates the walk-through's Domain in ns, changed by edits, and marks it Ready.
func readyDomain(t testing.TB, env *testenv.Env, ns string, edits ...func(*v1alpha1.Domain)) {
	t.Helper()
	dom := &v1alpha1.Domain{}
	Example(t, "multitenant/domain.yaml", ns, dom)
	for _, edit := range edits {
		edit(dom)
	}
	if _, err := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1().Domains(ns).Create(context.Background(), dom, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	MarkDomainReady(t, env, ns, dom.Name)
}

// TenantByID returns the CAPTenant labelled with the BTP tenant id in ns, or nil when there is
// none; more than one fails the test.
func TenantByID(t testing.TB, client versioned.Interface, ns, tenantID string) *v1alpha1.CAPTenant {
	t.Helper()
	list, err := client.SmeV1alpha1().CAPTenants(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: v1alpha1.LabelBTPTenantIdentifier + "=" + tenantID,
	})
	if err != nil {
		t.Fatal(err)
	}
	switch len(list.Items) {
	case 0:
		return nil
	case 1:
		return &list.Items[0]
	default:
		t.Fatalf("%d tenants with tenant id %s", len(list.Items), tenantID)
		return nil
	}
}
