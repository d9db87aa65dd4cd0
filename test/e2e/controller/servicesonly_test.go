package controller

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

func TestServicesOnlyApplication(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	ctx := context.Background()
	client := sme(env).SmeV1alpha1()
	startController(t, env, ns)

	ca := framework.ServicesOnlyApp(t, env, ns)
	dom, err := client.Domains(ns).Get(ctx, ca.Spec.DomainRefs[0].Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "services-only/cav.yaml", ns, cav)
	if _, err := client.CAPApplicationVersions(ns).Create(ctx, cav, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCAV(t, env, ns, cav.Name, v1alpha1.CAPApplicationVersionStateReady)
	consistent := waitCA(t, env, ns, ca.Name, v1alpha1.CAPApplicationStateConsistent)
	if consistent.Status.ServicesOnly == nil || !*consistent.Status.ServicesOnly {
		t.Errorf("servicesOnly = %v, want true", consistent.Status.ServicesOnly)
	}
	if want := []string{"api", "service"}; !slices.Equal(consistent.Status.ObservedSubdomains, want) {
		t.Errorf("observedSubdomains = %v, want %v", consistent.Status.ObservedSubdomains, want)
	}
	tenants, _ := client.CAPTenants(ns).List(ctx, metav1.ListOptions{})
	if len(tenants.Items) != 0 {
		t.Errorf("a services-only application got %d tenants", len(tenants.Items))
	}
	// One VirtualService per exposed subdomain, routes in order.
	var vsList []string
	testenv.Eventually(t, timeout, func() (bool, error) {
		list, err := env.Dynamic().Resource(vsGVR).Namespace(ns).List(ctx, metav1.ListOptions{
			LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.ExposureOwnerHash(ns, ca.Name)})
		if err != nil {
			return false, err
		}
		vsList = nil
		for _, vs := range list.Items {
			hosts, _, _ := unstructuredStrings(vs.Object, "spec", "hosts")
			vsList = append(vsList, hosts...)
		}
		return len(vsList) == 2, nil
	})
	slices.Sort(vsList)
	want := []string{"api." + dom.Spec.Domain, "service." + dom.Spec.Domain}
	if !slices.Equal(vsList, want) {
		t.Errorf("exposure hosts = %v, want %v", vsList, want)
	}
	// The services consume services the application does not declare: a warning event says
	// their credentials are not injected.
	testenv.Eventually(t, timeout, func() (bool, error) {
		events, err := env.Clientset().EventsV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=UndeclaredServices"})
		return err == nil && len(events.Items) > 0, err
	})
}
