package tenants

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	"github.com/capstan-io/capstan/test/framework"
)

// timeout bounds every wait of these tests.
const timeout = 120 * time.Second

// providerTenant is the name of the walk-through's provider tenant.
const providerTenant = "cap-app-01-provider"

// sme returns the sme.sap.com client of the environment.
func sme(env *testenv.Env) versioned.Interface { return versioned.NewForConfigOrDie(env.Config) }

// startController runs the controller binary with the application and tenant controllers.
// The domain controllers are left out: the tests mark domains Ready themselves.
func startController(t *testing.T, env *testenv.Env, ns string, args ...string) *framework.Process {
	t.Helper()
	base := []string{"--metrics-bind-address=127.0.0.1:0", "--leader-elect=false", "--operator-namespace=" + ns,
		"--controllers=capapplication,capapplicationversion,captenant,captenantoperation",
		"--retry-initial-delay=1s", "--retry-max-delay=4s"}
	// The controller runs with a token of the chart's ServiceAccount: a permission the chart
	// lacks fails the test.
	id := framework.ChartIdentities(t, env, ns)["controller"]
	return framework.StartAs(t, env, id, "controller", append(base, args...), "POD_NAMESPACE="+ns)
}

// upgradeCAV returns examples/multitenant/cav-v2-upgrade.yaml with its application reference
// corrected to cap-app-01.
func upgradeCAV(t *testing.T, ns string) *v1alpha1.CAPApplicationVersion {
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v2-upgrade.yaml", ns, cav)
	cav.Spec.CAPApplicationInstance = "cap-app-01"
	return cav
}

// createCAV creates a version.
func createCAV(t *testing.T, env *testenv.Env, cav *v1alpha1.CAPApplicationVersion) {
	t.Helper()
	if _, err := sme(env).SmeV1alpha1().CAPApplicationVersions(cav.Namespace).Create(context.Background(), cav, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// workloadByName returns a workload of a version for changes.
func workloadByName(cav *v1alpha1.CAPApplicationVersion, name string) *v1alpha1.WorkloadDetails {
	for i := range cav.Spec.Workloads {
		if cav.Spec.Workloads[i].Name == name {
			return &cav.Spec.Workloads[i]
		}
	}
	return nil
}

// failing makes a job workload's pods fail at once and its Job give up after one pod.
func failing(w *v1alpha1.WorkloadDetails) {
	w.Labels = map[string]string{testenv.FailPodLabel: "true"}
	w.JobDefinition.BackoffLimit = ptr.To[int32](0)
}

// waitTenant waits until a tenant satisfies cond and returns it; on a timeout it reports the
// tenant's state, conditions and owner references.
func waitTenant(t *testing.T, env *testenv.Env, ns, name string, cond func(*v1alpha1.CAPTenant) bool) *v1alpha1.CAPTenant {
	t.Helper()
	var cat *v1alpha1.CAPTenant
	testenv.Eventually(t, timeout, func() (bool, error) {
		var err error
		cat, err = sme(env).SmeV1alpha1().CAPTenants(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if cond(cat) {
			return true, nil
		}
		return false, fmt.Errorf("tenant %s: state %q, current %q, deleting %v, conditions %+v, owners %v",
			name, cat.Status.State, cat.Status.CurrentCAPApplicationVersionInstance, cat.DeletionTimestamp != nil, cat.Status.Conditions, cat.OwnerReferences)
	})
	return cat
}

// startWithVersion1 runs the controller, creates the walk-through's application and its
// version 1, and waits for the provider tenant to be Ready on that version.
func startWithVersion1(t *testing.T, env *testenv.Env, ns string) (*v1alpha1.CAPApplication, *v1alpha1.CAPApplicationVersion, *v1alpha1.CAPTenant) {
	t.Helper()
	startController(t, env, ns)
	ca := framework.MultitenantApp(t, env, ns)
	v1 := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v1.yaml", ns, v1)
	createCAV(t, env, v1)
	return ca, v1, waitTenant(t, env, ns, providerTenant, readyOn(v1.Name))
}

// readyOn is a waitTenant condition: Ready on the given version.
func readyOn(cav string) func(*v1alpha1.CAPTenant) bool {
	return func(c *v1alpha1.CAPTenant) bool {
		return c.Status.State == v1alpha1.CAPTenantStateReady && c.Status.CurrentCAPApplicationVersionInstance == cav
	}
}

// operations returns a tenant's operations, oldest first.
func operations(t *testing.T, env *testenv.Env, ns, tenant string) []v1alpha1.CAPTenantOperation {
	t.Helper()
	list, err := sme(env).SmeV1alpha1().CAPTenantOperations(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(ns, tenant),
	})
	if err != nil {
		t.Fatal(err)
	}
	ops := list.Items
	sort.Slice(ops, func(i, j int) bool {
		return atoi(ops[i].Annotations["sme.sap.com/operation-sequence"]) < atoi(ops[j].Annotations["sme.sap.com/operation-sequence"])
	})
	return ops
}

// jobsOf returns the Jobs of an operation ordered by step.
func jobsOf(t *testing.T, env *testenv.Env, op *v1alpha1.CAPTenantOperation) []batchv1.Job {
	t.Helper()
	list, err := env.Clientset().BatchV1().Jobs(op.Namespace).List(context.Background(), metav1.ListOptions{
		LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(op.Namespace, op.Name),
	})
	if err != nil {
		t.Fatal(err)
	}
	jobs := list.Items
	slices.SortFunc(jobs, func(a, b batchv1.Job) int {
		return atoi(a.Labels[v1alpha1.LabelTenantOperationStep]) - atoi(b.Labels[v1alpha1.LabelTenantOperationStep])
	})
	return jobs
}

// atoi parses a number, 0 when it is none.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// readyMessage returns the message of an object's Ready condition.
func readyMessage(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, v1alpha1.ConditionTypeReady); c != nil {
		return c.Message
	}
	return ""
}
