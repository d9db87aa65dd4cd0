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
	dom := &v1alpha1.Domain{}
	Example(t, "multitenant/domain.yaml", ns, dom)
	for _, edit := range edits {
		edit(dom)
	}
	if _, err := client.Domains(ns).Create(ctx, dom, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cdom := &v1alpha1.ClusterDomain{}
	Example(t, "multitenant/clusterdomain.yaml", "", cdom)
	cdom.Name = ns + "-external"
	if _, err := client.ClusterDomains().Create(ctx, cdom, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.ClusterDomains().Delete(context.Background(), cdom.Name, metav1.DeleteOptions{}) })
	MarkDomainReady(t, env, ns, dom.Name)
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
