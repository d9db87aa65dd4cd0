package rollouts

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	typed "github.com/capstan-io/capstan/pkg/client/clientset/versioned/typed/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

// timeout bounds every wait of these tests; a rollout of many tenants takes minutes.
const timeout = 3 * time.Minute

// plugin runs the kubectl-capop binary in the namespace and returns its output.
func plugin(t *testing.T, env *testenv.Env, ns string, args ...string) string {
	t.Helper()
	bin := framework.Binary(t, env, "kubectl-capop")
	out, err := exec.Command(bin, append([]string{"--kubeconfig=" + env.KubeconfigPath, "-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl capop %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// waitRollout waits until the application's rollout status satisfies cond and returns it.
func waitRollout(t *testing.T, client typed.SmeV1alpha1Interface, ns, app string, cond func(*v1alpha1.RolloutStatus) bool) *v1alpha1.CAPApplication {
	t.Helper()
	var ca *v1alpha1.CAPApplication
	testenv.Eventually(t, timeout, func() (bool, error) {
		var err error
		ca, err = client.CAPApplications(ns).Get(context.Background(), app, metav1.GetOptions{})
		return err == nil && ca.Status.Rollout != nil && cond(ca.Status.Rollout), err
	})
	return ca
}

// wave returns a wave's status.
func wave(r *v1alpha1.RolloutStatus, name string) v1alpha1.RolloutWaveStatus {
	for _, w := range r.Waves {
		if w.Name == name {
			return w
		}
	}
	return v1alpha1.RolloutWaveStatus{}
}

// tenants lists the namespace's tenants.
func tenants(t *testing.T, client typed.SmeV1alpha1Interface, ns string) []v1alpha1.CAPTenant {
	t.Helper()
	list, err := client.CAPTenants(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// operations lists a tenant's operations.
func operations(t *testing.T, client typed.SmeV1alpha1Interface, ns, tenant string) []v1alpha1.CAPTenantOperation {
	t.Helper()
	list, err := client.CAPTenantOperations(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(ns, tenant),
	})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// interval is when an operation ran: from its creation to the completion of its last Job.
type interval struct{ start, end time.Time }

// operationIntervals returns the intervals of the finished upgrade operations to a version.
func operationIntervals(t *testing.T, env *testenv.Env, client typed.SmeV1alpha1Interface, ns, cav string) []interval {
	t.Helper()
	ops, err := client.CAPTenantOperations(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []interval
	for _, op := range ops.Items {
		if op.Spec.Operation != v1alpha1.CAPTenantOperationTypeUpgrade || op.Spec.CAPApplicationVersionInstance != cav {
			continue
		}
		jobs, err := env.Clientset().BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{
			LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(ns, op.Name),
		})
		if err != nil {
			t.Fatal(err)
		}
		iv := interval{start: op.CreationTimestamp.Time}
		for _, j := range jobs.Items {
			if j.Status.CompletionTime != nil && j.Status.CompletionTime.After(iv.end) {
				iv.end = j.Status.CompletionTime.Time
			}
		}
		out = append(out, iv)
	}
	return out
}

// maxOverlap returns the largest number of intervals running at one instant. Timestamps have
// second resolution: an interval ending in the second another starts does not overlap it (the
// controller moves the next tenant only after the previous one finished).
func maxOverlap(ivs []interval) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, iv := range ivs {
		edges = append(edges, edge{iv.start, 1}, edge{iv.end, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // ends before starts at the same instant
	})
	n, best := 0, 0
	for _, e := range edges {
		n += e.delta
		best = max(best, n)
	}
	return best
}
