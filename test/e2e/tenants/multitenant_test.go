package tenants

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// vsGVR is the resource of Istio VirtualServices.
var vsGVR = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}

// TestMultitenantWalkthrough follows the user documentation: the provider tenant is
// provisioned with version 1 (the CAP workload standing in for the missing TenantOperation
// workload) and routed; a consumer tenant created without subscription context is
// provisioned; version 2 upgrades both with its two steps in order; version affinity adds
// cookie routes for version 1; deleting the consumer deprovisions it.
func TestMultitenantWalkthrough(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	ctx := context.Background()
	client := sme(env).SmeV1alpha1()
	ca, v1, provider := startWithVersion1(t, env, ns)
	ops := operations(t, env, ns, providerTenant)
	if len(ops) != 1 || ops[0].Spec.Operation != "provisioning" || len(ops[0].Spec.Steps) != 1 ||
		ops[0].Spec.Steps[0] != (v1alpha1.CAPTenantOperationStep{Name: "cap-backend", Type: "TenantOperation"}) {
		t.Fatalf("provider operations: %+v", ops)
	}
	checkProvisioningJob(t, env, &ops[0])
	checkVirtualService(t, env, ns, provider, ca, false)

	consumer := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "consumer", Namespace: ns, Labels: map[string]string{v1alpha1.LabelTenantType: v1alpha1.TenantTypeConsumer}},
		Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: ca.Name,
			BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "consumer-one", TenantId: "consumer-id"}},
	}
	if _, err := client.CAPTenants(ns).Create(ctx, consumer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTenant(t, env, ns, "consumer", readyOn(v1.Name))
	consumerOps := operations(t, env, ns, "consumer")
	if env := jobsOf(t, env, &consumerOps[0])[0].Spec.Template.Spec.Containers[0].Env; hasEnv(env, "CAPOP_SUBSCRIPTION_PAYLOAD") {
		t.Errorf("consumer without subscription context got the payload variable: %v", env)
	}

	v2 := upgradeCAV(t, ns)
	createCAV(t, env, v2)
	for _, name := range []string{providerTenant, "consumer"} {
		cat := waitTenant(t, env, ns, name, readyOn(v2.Name))
		if strings.Join(cat.Status.PreviousCAPApplicationVersions, ",") != v1.Name {
			t.Errorf("%s: previous versions %v", name, cat.Status.PreviousCAPApplicationVersions)
		}
		ops := operations(t, env, ns, name)
		upgrade := ops[len(ops)-1]
		jobs := jobsOf(t, env, &upgrade)
		if upgrade.Spec.Operation != "upgrade" || len(jobs) != 2 ||
			jobs[0].Labels[v1alpha1.LabelWorkloadName] != "tenant-operation" || jobs[1].Labels[v1alpha1.LabelWorkloadName] != "notify-upgrade" ||
			jobs[0].CreationTimestamp.After(jobs[1].CreationTimestamp.Time) {
			t.Errorf("%s: upgrade %s ran jobs %v", name, upgrade.Name, jobNames(jobs))
		}
	}

	// Version affinity keeps sessions of version 1 on version 1.
	ca, _ = client.CAPApplications(ns).Get(ctx, ca.Name, metav1.GetOptions{})
	ca.Annotations[v1alpha1.AnnotationEnableVersionAffinity] = "true"
	if _, err := client.CAPApplications(ns).Update(ctx, ca, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	provider, _ = client.CAPTenants(ns).Get(ctx, providerTenant, metav1.GetOptions{})
	checkVirtualService(t, env, ns, provider, ca, true)

	if err := client.CAPTenants(ns).Delete(ctx, "consumer", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, timeout, func() (bool, error) {
		_, err := client.CAPTenants(ns).Get(ctx, "consumer", metav1.GetOptions{})
		return err != nil && strings.Contains(err.Error(), "not found"), nil
	})
}

// checkProvisioningJob asserts the environment and command of the provider's provisioning
// Job: the CAP image, the operator's variables in order, the payload from the subscription
// context and the cds-mtxs command.
func checkProvisioningJob(t *testing.T, env *testenv.Env, op *v1alpha1.CAPTenantOperation) {
	t.Helper()
	jobs := jobsOf(t, env, op)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs for %s", len(jobs), op.Name)
	}
	c := jobs[0].Spec.Template.Spec.Containers[0]
	var names []string
	for _, e := range c.Env {
		names = append(names, e.Name)
	}
	want := "CAPOP_APP_VERSION,CAPOP_TENANT_ID,CAPOP_TENANT_OPERATION,CAPOP_TENANT_SUBDOMAIN,CAPOP_TENANT_TYPE,CAPOP_APP_NAME," +
		"CAPOP_GLOBAL_ACCOUNT_ID,CAPOP_PROVIDER_TENANT_ID,CAPOP_PROVIDER_SUBDOMAIN,CAPOP_SUBSCRIPTION_PAYLOAD,CAPOP_TENANT_MTXS_OPERATION,CDS_ENV,CDS_CONFIG"
	if strings.Join(names, ",") != want {
		t.Errorf("env %v\nwant %s", names, want)
	}
	if c.Image != "app.some.repo.example.com/srv/server:0.0.1" || strings.Join(c.Command, " ") != "node ./node_modules/@sap/cds-mtxs/bin/cds-mtx" ||
		strings.Join(c.Args, " ") != "$(CAPOP_TENANT_MTXS_OPERATION) e55d7b5-279-48be-a7b0-aa2bae55d7b5 --body $(CAPOP_SUBSCRIPTION_PAYLOAD)" {
		t.Errorf("container %s %v %v", c.Image, c.Command, c.Args)
	}
	// The tenant Jobs of one version and workload share one VCAP_SERVICES Secret.
	shared := workload.Name(op.Spec.CAPApplicationVersionInstance, op.Spec.Steps[0].Name) + ".tenant"
	if len(c.EnvFrom) != 1 || !workload.IsVCAPSecretName(shared, c.EnvFrom[0].SecretRef.Name) {
		t.Errorf("envFrom %v, want the shared VCAP secret %s-<hash>", c.EnvFrom, shared)
	}
}

// checkVirtualService waits for the tenant's VirtualService: hosts on both domains, both
// gateways, the router of the current version and, with affinity, the cookie routes.
func checkVirtualService(t *testing.T, env *testenv.Env, ns string, cat *v1alpha1.CAPTenant, ca *v1alpha1.CAPApplication, affinity bool) {
	t.Helper()
	var spec map[string]any
	testenv.Eventually(t, timeout, func() (bool, error) {
		vs, err := env.Dynamic().Resource(vsGVR).Namespace(ns).Get(context.Background(), cat.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		spec = vs.Object["spec"].(map[string]any)
		routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		return (len(routes) > 1) == affinity, nil
	})
	hosts, _, _ := unstructured.NestedStringSlice(spec, "hosts")
	gateways, _, _ := unstructured.NestedStringSlice(spec, "gateways")
	wantHosts := cat.Spec.SubDomain + ".my.cluster.shoot.url.k8s.example.com," + cat.Spec.SubDomain + ".my.example.com"
	wantGateways := ns + "/cap-app-01-primary-gw," + ns + "/" + ca.Spec.DomainRefs[1].Name + "-gw"
	if strings.Join(hosts, ",") != wantHosts || strings.Join(gateways, ",") != wantGateways {
		t.Errorf("hosts %v gateways %v, want %s and %s", hosts, gateways, wantHosts, wantGateways)
	}
	routes, _, _ := unstructured.NestedSlice(spec, "http")
	text := strings.ReplaceAll(strings.Join(stringsOf(routes), " "), " ", "")
	current := cat.Status.CurrentCAPApplicationVersionInstance
	if !strings.Contains(text, current+"-app-router-svc."+ns+".svc.cluster.local") {
		t.Errorf("routes do not reach the router of %s: %s", current, text)
	}
	if affinity && !strings.Contains(text, "CAPOP_CAV=cav-cap-app-01-1") {
		t.Errorf("affinity routes lack the cookie of version 1: %s", text)
	}
}
