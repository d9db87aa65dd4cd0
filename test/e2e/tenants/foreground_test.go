package tenants

import (
	"context"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

// TestForegroundTenantDeletionKeepsRunningJobs deletes a consumer tenant the way Argo CD
// prunes (foreground propagation) while the real garbage collector runs. The deprovisioning
// that the deletion starts is held (its pod waits for a node label), so the collector's
// cascade happens while the operation runs: the operation and its Job must stay untouched,
// the deprovisioning must run to its end once released, and the tenant then goes with its
// operations. Operations owned by the tenant (as before) were deleted by the cascade, and
// with them the running Job.
func TestForegroundTenantDeletionKeepsRunningJobs(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	ctx := context.Background()
	client := sme(env).SmeV1alpha1()
	startController(t, env, ns)
	framework.MultitenantApp(t, env, ns)

	// Version 1 deprovisions with a copy of its TenantOperation workload whose pods only
	// schedule on a node with the hold label.
	hold := "hold.capstan.test/" + ns
	cav := provisioningCAV(t, ns, true)
	held := *workloadByName(cav, "tenant-operation").DeepCopy()
	held.Name = "deprovision-held"
	held.JobDefinition.NodeSelector = map[string]string{hold: "true"}
	cav.Spec.Workloads = append(cav.Spec.Workloads, held)
	cav.Spec.TenantOperations.Deprovisioning = []v1alpha1.TenantOperationWorkloadReference{{WorkloadName: held.Name}}
	createCAV(t, env, cav)

	consumer := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "consumer", Namespace: ns, Labels: map[string]string{v1alpha1.LabelTenantType: v1alpha1.TenantTypeConsumer}},
		Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: "cap-app-01",
			BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "consumer-one", TenantId: "consumer-id"}},
	}
	if _, err := client.CAPTenants(ns).Create(ctx, consumer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTenant(t, env, ns, consumer.Name, readyOn(cav.Name))

	if err := client.CAPTenants(ns).Delete(ctx, consumer.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
		t.Fatal(err)
	}
	// The deprovisioning starts and its Job waits for the node.
	var deprovisioning v1alpha1.CAPTenantOperation
	var jobUID types.UID
	testenv.Eventually(t, timeout, func() (bool, error) {
		ops := operations(t, env, ns, consumer.Name)
		if len(ops) == 0 || ops[len(ops)-1].Spec.Operation != v1alpha1.CAPTenantOperationTypeDeprovisioning {
			return false, fmt.Errorf("operations %d, no deprovisioning yet", len(ops))
		}
		deprovisioning = ops[len(ops)-1]
		jobs := jobsOf(t, env, &deprovisioning)
		if len(jobs) != 1 {
			return false, fmt.Errorf("deprovisioning jobs %v", jobNames(jobs))
		}
		jobUID = jobs[0].UID
		return true, nil
	})
	// The collector's cascade ends (the foregroundDeletion finalizer goes once the tenant's
	// dependants are gone) while the operation and its Job are left alone.
	testenv.Eventually(t, timeout, func() (bool, error) {
		jobs := jobsOf(t, env, &deprovisioning)
		if len(jobs) != 1 || jobs[0].UID != jobUID || jobs[0].DeletionTimestamp != nil {
			t.Fatalf("the running deprovisioning Job was deleted by the cascade: %v", jobNames(jobs))
		}
		op, err := client.CAPTenantOperations(ns).Get(ctx, deprovisioning.Name, metav1.GetOptions{})
		if err != nil || op.DeletionTimestamp != nil {
			t.Fatalf("the running deprovisioning operation was deleted by the cascade (%v)", err)
		}
		cat, err := client.CAPTenants(ns).Get(ctx, consumer.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if slices.Contains(cat.Finalizers, metav1.FinalizerDeleteDependents) {
			return false, fmt.Errorf("tenant finalizers %v", cat.Finalizers)
		}
		return true, nil
	})

	// Released, the deprovisioning ends; the tenant goes, and its operations with it.
	labelNode(t, env, hold)
	testenv.Eventually(t, timeout, func() (bool, error) {
		_, err := client.CAPTenants(ns).Get(ctx, consumer.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	testenv.Eventually(t, timeout, func() (bool, error) {
		ops := operations(t, env, ns, consumer.Name)
		return len(ops) == 0, fmt.Errorf("%d operations of the deleted tenant left", len(ops))
	})
}

// labelNode sets label=true on the environment's node until the test ends.
func labelNode(t *testing.T, env *testenv.Env, label string) {
	t.Helper()
	ctx := context.Background()
	nodes := env.Clientset().CoreV1().Nodes()
	edit := func(change func(*corev1.Node)) error {
		n, err := nodes.Get(ctx, env.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(n)
		_, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
		return err
	}
	testenv.Eventually(t, timeout, func() (bool, error) {
		err := edit(func(n *corev1.Node) { n.Labels[label] = "true" })
		return err == nil, err
	})
	t.Cleanup(func() {
		_ = testenv.Poll(timeout, func() (bool, error) {
			err := edit(func(n *corev1.Node) { delete(n.Labels, label) })
			return err == nil, err
		})
	})
}
