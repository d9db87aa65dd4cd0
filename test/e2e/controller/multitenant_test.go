package controller

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/examples"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

func TestMultitenantVersionBecomesReady(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	ctx := context.Background()
	startController(t, env, ns)
	ca := framework.MultitenantApp(t, env, ns)
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v1.yaml", ns, cav)
	if _, err := sme(env).SmeV1alpha1().CAPApplicationVersions(ns).Create(ctx, cav, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready := waitCAV(t, env, ns, cav.Name, v1alpha1.CAPApplicationVersionStateReady)
	if !reflect.DeepEqual(ready.Status.FinishedJobs, []string{"cav-cap-app-01-1-content"}) {
		t.Errorf("finishedJobs = %v", ready.Status.FinishedJobs)
	}
	checkWorkloads(t, env, ns)
	checkVCAPServices(t, env, ns, "cav-cap-app-01-1-cap-backend")

	// The provider tenant is created with the latest Ready version; once it is Ready the
	// application is Consistent. (The tenant controller's own tests cover provisioning.)
	var tenant *v1alpha1.CAPTenant
	testenv.Eventually(t, timeout, func() (bool, error) {
		var err error
		tenant, err = sme(env).SmeV1alpha1().CAPTenants(ns).Get(ctx, "cap-app-01-provider", metav1.GetOptions{})
		return err == nil, err
	})
	if tenant.Spec.Version != "1" || tenant.Labels[v1alpha1.LabelTenantType] != "provider" {
		t.Fatalf("provider tenant: version %q labels %v", tenant.Spec.Version, tenant.Labels)
	}
	tenant.Status.State = v1alpha1.CAPTenantStateReady
	tenant.Status.CurrentCAPApplicationVersionInstance = cav.Name
	if _, err := sme(env).SmeV1alpha1().CAPTenants(ns).UpdateStatus(ctx, tenant, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	consistent := waitCA(t, env, ns, ca.Name, v1alpha1.CAPApplicationStateConsistent)
	if consistent.Status.ServicesOnly == nil || *consistent.Status.ServicesOnly {
		t.Errorf("servicesOnly = %v, want false", consistent.Status.ServicesOnly)
	}
}

// checkWorkloads asserts the Deployments, Services and content Job of cav-v1 by name, labels
// and environment.
func checkWorkloads(t *testing.T, env *testenv.Env, ns string) {
	t.Helper()
	ctx := context.Background()
	kube := env.Clientset()
	for _, name := range []string{"cav-cap-app-01-1-cap-backend", "cav-cap-app-01-1-app-router"} {
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("deployment %s: %v", name, err)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if c.Env[0].Name != "CAPOP_APP_VERSION" || c.Env[0].Value != "1" {
			t.Errorf("%s: first env %v, want CAPOP_APP_VERSION=1", name, c.Env[0])
		}
		if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil {
			t.Errorf("%s: envFrom %v, want the VCAP secret", name, c.EnvFrom)
		}
		if d.Labels[v1alpha1.LabelWorkloadName] != name || d.Labels[v1alpha1.LabelCAVVersion] != "1" || d.Labels["app"] != "cap-app-01" {
			t.Errorf("%s: labels %v", name, d.Labels)
		}
		if _, err := kube.CoreV1().Services(ns).Get(ctx, name+"-svc", metav1.GetOptions{}); err != nil {
			t.Errorf("service %s-svc: %v", name, err)
		}
	}
	router, _ := kube.AppsV1().Deployments(ns).Get(ctx, "cav-cap-app-01-1-app-router", metav1.GetOptions{})
	env0 := router.Spec.Template.Spec.Containers[0].Env
	last := env0[len(env0)-1]
	want := `[{"forwardAuthToken":true,"name":"srv-api","url":"http://cav-cap-app-01-1-cap-backend-svc:4004"}]`
	if last.Name != "destinations" || last.Value != want {
		t.Errorf("router destinations = %s=%s, want %s", last.Name, last.Value, want)
	}
	if router.Labels[v1alpha1.LabelExposedWorkload] != "true" {
		t.Errorf("router is not labelled exposed: %v", router.Labels)
	}
	job, err := kube.BatchV1().Jobs(ns).Get(ctx, "cav-cap-app-01-1-content", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("content job: %v", err)
	}
	if job.Spec.Template.Labels[v1alpha1.LabelDisableKarydiaInject] != "true" {
		t.Errorf("content job pod labels %v", job.Spec.Template.Labels)
	}
}

// checkVCAPServices asserts that a deployment's VCAP_SERVICES Secret holds the xsuaa entry
// exactly as examples/bindings/expected-vcap-services.json says.
func checkVCAPServices(t *testing.T, env *testenv.Env, ns, deployment string) {
	t.Helper()
	ctx := context.Background()
	d, err := env.Clientset().AppsV1().Deployments(ns).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := d.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name
	s, err := env.Clientset().CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Labels[v1alpha1.LabelSecretOwnerHash] == "" || s.Type != corev1.SecretTypeOpaque {
		t.Errorf("VCAP secret %s: labels %v type %s", name, s.Labels, s.Type)
	}
	var got, want map[string][]any
	if err := json.Unmarshal(s.Data["VCAP_SERVICES"], &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(examples.MustRead("bindings/expected-vcap-services.json"), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got["xsuaa"], want["xsuaa"]) {
		t.Errorf("VCAP_SERVICES xsuaa = %v\nwant %v", got["xsuaa"], want["xsuaa"])
	}
	for _, class := range []string{"xsuaa", "service-manager", "saas-registry"} {
		if len(got[class]) != 1 {
			t.Errorf("VCAP_SERVICES has %d %s entries, want 1", len(got[class]), class)
		}
	}
}
