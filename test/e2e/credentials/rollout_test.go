package credentials

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestRotatedCredentialsRollOnlyConsumers rotates binding Secrets of two walk-through
// applications, one with rolloutOnCredentialUpdate and one without:
//   - rotating the destination key rolls only the flagged application's router (its only
//     consumer), once, not before the rollout delay; its pods run with the new Secret, which
//     holds the new key, and the superseded Secret is deleted;
//   - two rotations of the service-manager key in quick succession roll the backend once;
//   - the application without the flag keeps its Deployments untouched;
//   - a tenant provisioned afterwards runs its Job with the new key.
func TestRotatedCredentialsRollOnlyConsumers(t *testing.T) {
	env := testenv.Current()
	flaggedNS, plainNS := env.NewNamespace(t), env.NewNamespace(t)
	metrics := startController(t, env, flaggedNS)
	walkthroughApp(t, env, flaggedNS, true)
	walkthroughApp(t, env, plainNS, false)
	// Turning the flag on scheduled a batch (nothing to roll yet); a rotation before it ran
	// would join it. Wait for it to finish, so the rotation starts a batch of its own.
	testenv.Eventually(t, timeout, func() (bool, error) { return finishedBatches(metrics) >= 1, nil })
	before := map[string]deploymentState{}
	for _, ns := range []string{flaggedNS, plainNS} {
		for _, d := range []string{backend, router} {
			before[ns+"/"+d] = stateOf(t, env, ns, d)
		}
	}

	// The destination key changes: only the router consumes the destination service.
	rotated := time.Now()
	rotate(t, env, flaggedNS, destBind, "dest-rotated")
	rotate(t, env, plainNS, destBind, "dest-rotated")
	routerNow := waitRolled(t, env, flaggedNS, router, before[flaggedNS+"/"+router])
	if waited := time.Since(rotated); waited < rolloutDelay {
		t.Errorf("the router rolled %v after the rotation, before the rollout delay of %v", waited, rolloutDelay)
	}
	if got := clientSecretIn(t, env, flaggedNS, routerNow.injected, "destination"); got != "dest-rotated" {
		t.Errorf("the router's new VCAP_SERVICES has destination client secret %q, want dest-rotated", got)
	}
	waitPodsInject(t, env, flaggedNS, router, routerNow.injected)
	waitGone(t, env, flaggedNS, before[flaggedNS+"/"+router].injected)
	if got := stateOf(t, env, flaggedNS, backend); got != before[flaggedNS+"/"+backend] {
		t.Errorf("the backend, which does not consume the destination service, changed: %+v -> %+v", before[flaggedNS+"/"+backend], got)
	}

	// Two rotations of the service-manager key within the delay: one batch, one roll of the
	// backend (its only consumer).
	rotate(t, env, flaggedNS, smBind, "sm-rotated-1")
	rotate(t, env, flaggedNS, smBind, "sm-rotated-2")
	backendNow := waitRolled(t, env, flaggedNS, backend, before[flaggedNS+"/"+backend])
	if got := clientSecretIn(t, env, flaggedNS, backendNow.injected, "service-manager"); got != "sm-rotated-2" {
		t.Errorf("the backend's new VCAP_SERVICES has service-manager client secret %q, want sm-rotated-2", got)
	}
	waitPodsInject(t, env, flaggedNS, backend, backendNow.injected)
	waitGone(t, env, flaggedNS, before[flaggedNS+"/"+backend].injected)

	// A tenant subscribing now runs its provisioning Job with the new key.
	jobSecret := provisionConsumer(t, env, flaggedNS)
	if got := clientSecretIn(t, env, flaggedNS, jobSecret, "service-manager"); got != "sm-rotated-2" {
		t.Errorf("the new tenant's job has service-manager client secret %q, want sm-rotated-2", got)
	}

	// Each Deployment rolled exactly once (one template change each), the application
	// without the flag not at all.
	if got := stateOf(t, env, flaggedNS, router); got != routerNow || got.generation != before[flaggedNS+"/"+router].generation+1 {
		t.Errorf("router: %+v after the rotations, want one roll from %+v to %+v", got, before[flaggedNS+"/"+router], routerNow)
	}
	if got := stateOf(t, env, flaggedNS, backend); got != backendNow || got.generation != before[flaggedNS+"/"+backend].generation+1 {
		t.Errorf("backend: %+v after the rotations, want one roll from %+v to %+v", got, before[flaggedNS+"/"+backend], backendNow)
	}
	for _, d := range []string{backend, router} {
		if got := stateOf(t, env, plainNS, d); got != before[plainNS+"/"+d] {
			t.Errorf("%s of the application without rolloutOnCredentialUpdate changed: %+v -> %+v", d, before[plainNS+"/"+d], got)
		}
	}
}

// provisionConsumer creates a consumer tenant of the walk-through application, waits until
// it is Ready and returns the VCAP_SERVICES Secret of its provisioning Job.
func provisionConsumer(t *testing.T, env *testenv.Env, ns string) string {
	t.Helper()
	ctx := context.Background()
	client := sme(env).SmeV1alpha1()
	consumer := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "consumer", Namespace: ns, Labels: map[string]string{v1alpha1.LabelTenantType: v1alpha1.TenantTypeConsumer}},
		Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: "cap-app-01",
			BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "consumer-one", TenantId: "consumer-id"}},
	}
	if _, err := client.CAPTenants(ns).Create(ctx, consumer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, timeout, func() (bool, error) {
		cat, err := client.CAPTenants(ns).Get(ctx, consumer.Name, metav1.GetOptions{})
		return err == nil && cat.Status.State == v1alpha1.CAPTenantStateReady, err
	})
	ops, err := client.CAPTenantOperations(ns).List(ctx, metav1.ListOptions{
		LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(ns, consumer.Name)})
	if err != nil || len(ops.Items) != 1 {
		t.Fatalf("operations of the consumer: %v (%v)", ops, err)
	}
	jobs, err := env.Clientset().BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{
		LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(ns, ops.Items[0].Name)})
	if err != nil || len(jobs.Items) != 1 {
		t.Fatalf("jobs of %s: %v (%v)", ops.Items[0].Name, jobs, err)
	}
	from := jobs.Items[0].Spec.Template.Spec.Containers[0].EnvFrom
	if len(from) != 1 || from[0].SecretRef == nil {
		t.Fatalf("job %s injects %v, want its VCAP_SERVICES secret", jobs.Items[0].Name, from)
	}
	return from[0].SecretRef.Name
}
