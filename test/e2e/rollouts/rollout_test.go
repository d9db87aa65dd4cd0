package rollouts

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	typed "github.com/capstan-io/capstan/pkg/client/clientset/versioned/typed/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

// maxParallel is the rollout strategy's bound on running upgrades.
const maxParallel = 5

// TestRollout rolls versions out to the provider tenant, two labelled canary tenants and
// -rollout-tenants further tenants: a version whose upgrade fails halts in the canary wave
// with the other tenants untouched; retry retries the failed tenants; a fixed version rolled
// out while paused moves nobody; resumed, paused mid-wave (running upgrades complete, nothing
// new starts) and resumed again, it completes without ever exceeding maxParallel.
func TestRollout(t *testing.T) {
	if *tenantCount < 2+2*maxParallel {
		t.Fatalf("-rollout-tenants=%d: the rest wave needs more than %d tenants to be paused while it runs", *tenantCount, 2*maxParallel)
	}
	env := testenv.Current()
	ns := env.NewNamespace(t)
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1()
	framework.Start(t, env, "controller", []string{"--metrics-bind-address=127.0.0.1:0", "--leader-elect=false", "--operator-namespace=" + ns,
		"--controllers=capapplication,capapplicationversion,captenant,captenantoperation", "--retry-attempts=0"}, "POD_NAMESPACE="+ns)
	ca := framework.MultitenantApp(t, env, ns)
	t.Cleanup(func() { dumpOnFailure(t, client, ns, ca.Name) })
	setStrategy(t, client, ns, ca.Name, &v1alpha1.RolloutStrategy{
		MaxParallel: ptr.To(intstr.FromInt32(maxParallel)), MaxParallelProvisioning: ptr.To(intstr.FromString("25%")),
		Waves: []v1alpha1.RolloutWave{{Name: "canary", TenantIds: []string{ca.Spec.Provider.TenantId},
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"canary": "true"}}}},
	})
	v1 := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v1.yaml", ns, v1)
	createCAV(t, client, v1)
	createTenants(t, client, ns, ca.Name, *tenantCount)
	all := *tenantCount + 1
	waitRollout(t, client, ns, ca.Name, func(r *v1alpha1.RolloutStatus) bool {
		return r.TargetVersion == v1.Spec.Version && r.Phase == v1alpha1.RolloutPhaseCompleted && r.Summary == fmt.Sprintf("%d/%d", all, all)
	})

	// A bad version halts in the canary wave.
	v2 := version(t, ns, "v2", "2.0.0", true)
	createCAV(t, client, v2)
	halted := waitRollout(t, client, ns, ca.Name, func(r *v1alpha1.RolloutStatus) bool {
		return r.TargetVersion == v2.Spec.Version && r.Phase == v1alpha1.RolloutPhaseHalted
	})
	checkUntouched(t, client, ns, v1.Spec.Version, *tenantCount-2)
	out := plugin(t, env, ns, "status", ca.Name)
	for _, want := range []string{"Halted", "tenant-operation", "UpgradeError", "rest    " + fmt.Sprint(*tenantCount-2)} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl capop status lacks %q:\n%s", want, out)
		}
	}
	t.Logf("halted: %s\n%s", halted.Status.Rollout.Message, out)

	// Retry runs the failed upgrades again; they fail again and the rollout halts again.
	failed := failedTenants(t, client, ns)
	plugin(t, env, ns, "retry", ca.Name)
	for _, name := range failed {
		testenv.Eventually(t, timeout, func() (bool, error) {
			return len(operations(t, client, ns, name)) == 3, nil
		})
	}
	waitRollout(t, client, ns, ca.Name, func(r *v1alpha1.RolloutStatus) bool {
		return r.Phase == v1alpha1.RolloutPhaseHalted && len(r.RetriedTenants) == 0
	})
	checkUntouched(t, client, ns, v1.Spec.Version, *tenantCount-2)

	// A fixed version rolled out while paused moves nobody.
	plugin(t, env, ns, "pause", ca.Name)
	if got, err := client.CAPApplications(ns).Get(context.Background(), ca.Name, metav1.GetOptions{}); err != nil || !got.Spec.RolloutStrategy.Paused {
		t.Fatalf("kubectl capop pause did not pause: %v %+v", err, got.Spec.RolloutStrategy)
	}
	v3 := version(t, ns, "v3", "3.0.0", false)
	createCAV(t, client, v3)
	paused := waitRollout(t, client, ns, ca.Name, func(r *v1alpha1.RolloutStatus) bool {
		return r.TargetVersion == v3.Spec.Version && r.Phase == v1alpha1.RolloutPhasePaused
	})
	if r := paused.Status.Rollout; wave(r, "canary").Running != 0 || wave(r, "canary").Pending != 3 || wave(r, "rest").Pending != int32(*tenantCount-2) {
		t.Fatalf("paused rollout moved tenants: %+v", r.Waves)
	}

	// Resumed, paused while the rest wave runs: running upgrades complete, nothing new starts.
	plugin(t, env, ns, "resume", ca.Name)
	waitRollout(t, client, ns, ca.Name, func(r *v1alpha1.RolloutStatus) bool { return wave(r, "rest").Running > 0 })
	plugin(t, env, ns, "pause", ca.Name)
	held := waitRollout(t, client, ns, ca.Name, func(r *v1alpha1.RolloutStatus) bool {
		return r.Phase == v1alpha1.RolloutPhasePaused && wave(r, "rest").Running == 0
	})
	rest := wave(held.Status.Rollout, "rest")
	if rest.Pending == 0 || rest.Failed != 0 {
		t.Fatalf("the pause did not hold the rest wave: %+v", rest)
	}
	moved := 0
	for _, cat := range tenants(t, client, ns) {
		if cat.Spec.Version == v3.Spec.Version {
			moved++
			if cat.Status.State != v1alpha1.CAPTenantStateReady || cat.Status.CurrentCAPApplicationVersionInstance != v3.Name {
				t.Errorf("tenant %s moved before the pause is %s on %s", cat.Name, cat.Status.State, cat.Status.CurrentCAPApplicationVersionInstance)
			}
		}
	}
	if moved != int(rest.Succeeded)+3 {
		t.Errorf("%d tenants moved to %s while %d succeeded: the paused rollout moved more", moved, v3.Spec.Version, rest.Succeeded+3)
	}

	plugin(t, env, ns, "resume", ca.Name)
	waitRollout(t, client, ns, ca.Name, func(r *v1alpha1.RolloutStatus) bool {
		return r.TargetVersion == v3.Spec.Version && r.Phase == v1alpha1.RolloutPhaseCompleted && r.Summary == fmt.Sprintf("%d/%d", all, all)
	})
	if n := maxOverlap(operationIntervals(t, env, client, ns, v3.Name)); n > maxParallel || n == 0 {
		t.Errorf("%d upgrades to %s ran at once, maxParallel is %d", n, v3.Name, maxParallel)
	}
}

// setStrategy sets the application's rollout strategy.
func setStrategy(t *testing.T, client typed.SmeV1alpha1Interface, ns, name string, s *v1alpha1.RolloutStrategy) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ca, err := client.CAPApplications(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ca.Spec.RolloutStrategy = s
		_, err = client.CAPApplications(ns).Update(context.Background(), ca, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// version returns the walk-through's upgrade version under another name and version; with
// failing, its tenant-operation step fails for every tenant.
func version(t *testing.T, ns, name, ver string, failing bool) *v1alpha1.CAPApplicationVersion {
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v2-upgrade.yaml", ns, cav)
	cav.Name, cav.Spec.Version, cav.Spec.CAPApplicationInstance = "cap-app-01-"+name, ver, "cap-app-01"
	for i := range cav.Spec.Workloads {
		if w := &cav.Spec.Workloads[i]; failing && w.Name == "tenant-operation" {
			w.Labels = map[string]string{testenv.FailPodLabel: "true"}
			w.JobDefinition.BackoffLimit = ptr.To[int32](0)
		}
	}
	return cav
}

// createCAV creates a version.
func createCAV(t *testing.T, client typed.SmeV1alpha1Interface, cav *v1alpha1.CAPApplicationVersion) {
	t.Helper()
	if _, err := client.CAPApplicationVersions(cav.Namespace).Create(context.Background(), cav, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createTenants creates n consumer tenants; the first two are labelled canary.
func createTenants(t *testing.T, client typed.SmeV1alpha1Interface, ns, app string, n int) {
	t.Helper()
	for i := range n {
		name := fmt.Sprintf("tenant-%03d", i)
		cat := &v1alpha1.CAPTenant{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{v1alpha1.LabelTenantType: v1alpha1.TenantTypeConsumer}},
			Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: app,
				BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: name, TenantId: name + "-id"}},
		}
		if i < 2 {
			cat.Labels["canary"] = "true"
		}
		if _, err := client.CAPTenants(ns).Create(context.Background(), cat, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkUntouched asserts that the tenants outside the canary wave still want and run the old
// version and ran no operation besides their provisioning.
func checkUntouched(t *testing.T, client typed.SmeV1alpha1Interface, ns, old string, want int) {
	t.Helper()
	untouched := 0
	for _, cat := range tenants(t, client, ns) {
		if cat.Labels["canary"] == "true" || cat.Labels[v1alpha1.LabelTenantType] == v1alpha1.TenantTypeProvider {
			continue
		}
		if cat.Spec.Version != old || cat.Status.State != v1alpha1.CAPTenantStateReady || len(operations(t, client, ns, cat.Name)) != 1 {
			t.Errorf("tenant %s outside the canary wave was touched: version %s, state %s", cat.Name, cat.Spec.Version, cat.Status.State)
			continue
		}
		untouched++
	}
	if untouched != want {
		t.Errorf("%d untouched tenants, want %d", untouched, want)
	}
}

// failedTenants names the tenants in UpgradeError.
func failedTenants(t *testing.T, client typed.SmeV1alpha1Interface, ns string) []string {
	t.Helper()
	var out []string
	for _, cat := range tenants(t, client, ns) {
		if cat.Status.State == v1alpha1.CAPTenantStateUpgradeError {
			out = append(out, cat.Name)
		}
	}
	if len(out) == 0 {
		t.Fatal("no failed tenant")
	}
	return out
}

// dumpOnFailure logs the application's status and the tenants' states of a failed test.
func dumpOnFailure(t *testing.T, client typed.SmeV1alpha1Interface, ns, app string) {
	if !t.Failed() {
		return
	}
	ca, err := client.CAPApplications(ns).Get(context.Background(), app, metav1.GetOptions{})
	if err != nil {
		t.Logf("application: %v", err)
		return
	}
	t.Logf("strategy %+v, annotations %v", ca.Spec.RolloutStrategy, ca.Annotations)
	t.Logf("application state %s, conditions %+v, rollout %+v", ca.Status.State, ca.Status.Conditions, ca.Status.Rollout)
	for _, cat := range tenants(t, client, ns) {
		t.Logf("tenant %s: version %q, state %s, current %s", cat.Name, cat.Spec.Version, cat.Status.State, cat.Status.CurrentCAPApplicationVersionInstance)
	}
}
