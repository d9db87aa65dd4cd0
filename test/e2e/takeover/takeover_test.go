package takeover

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/migration"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	"github.com/capstan-io/capstan/test/framework"
)

// timeout bounds every wait of this test.
const timeout = 120 * time.Second

// TestTakeover starts the controller, with leader election, on the objects the previous
// implementation leaves and checks that it migrates them, finishes the running upgrade
// with the existing step Job (no step runs twice), and replaces the Deployment whose
// selector it cannot keep while its pods keep running.
func TestTakeover(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	ref := createReference(t, env, ns)
	oldReplicaSet := waitReplicaSet(t, env, ref.deployment)

	framework.Start(t, env, "controller", []string{"--metrics-bind-address=127.0.0.1:0", "--leader-elect=true",
		"--operator-namespace=" + ns, "--controllers=capapplication,capapplicationversion,captenant,captenantoperation"},
		"POD_NAMESPACE="+ns)

	checkMigrated(t, env, ref)
	checkUpgradeAdopted(t, env, ref)
	checkDeploymentReplaced(t, env, ref, oldReplicaSet)
	checkNoStepRanTwice(t, env, ns)
}

// checkMigrated waits until the identity keys, the subscription GUID annotation and the
// Secret finalizers are migrated.
func checkMigrated(t *testing.T, env *testenv.Env, ref *reference) {
	t.Helper()
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1()
	ns := ref.ca.Namespace
	migrated := func(m metav1.Object) error {
		l, a := m.GetLabels(), m.GetAnnotations()
		_, legacyLabel := l[migration.LegacyLabelAppIdentifierHash]
		_, legacyAnnotation := a[migration.LegacyAnnotationAppIdentifier]
		if l[v1alpha1.LabelAppIdentifierHash] != identity.AppHash(account, app) || a[v1alpha1.AnnotationAppIdentifier] != identity.AppID(account, app) || legacyLabel || legacyAnnotation {
			return fmt.Errorf("%s not migrated: labels %v annotations %v", m.GetName(), l, a)
		}
		return nil
	}
	testenv.Eventually(t, timeout, func() (bool, error) {
		ca, err := client.CAPApplications(ns).Get(ctx, ref.ca.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cav, err := client.CAPApplicationVersions(ns).Get(ctx, ref.v1.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cat, err := client.CAPTenants(ns).Get(ctx, ref.cat.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		op, err := client.CAPTenantOperations(ns).Get(ctx, ref.op.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, m := range []metav1.Object{ca, cav, cat, op} {
			if err := migrated(m); err != nil {
				return false, err
			}
		}
		if cat.Annotations[v1alpha1.AnnotationSubscriptionGUID] != guid {
			return false, fmt.Errorf("tenant annotations %v lack the subscription GUID", cat.Annotations)
		}
		for _, name := range ref.bindingSecret {
			s, err := env.Clientset().CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || len(s.Finalizers) > 0 {
				return false, fmt.Errorf("secret %s: finalizers %v, %v", name, s.Finalizers, err)
			}
		}
		return true, nil
	})
}

// checkUpgradeAdopted waits until the tenant is Ready on version 2 through the operation
// the previous implementation started: no new operation, and its first step's Job is the
// one that implementation created.
func checkUpgradeAdopted(t *testing.T, env *testenv.Env, ref *reference) {
	t.Helper()
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1()
	ns := ref.ca.Namespace
	testenv.Eventually(t, timeout, func() (bool, error) {
		cat, err := client.CAPTenants(ns).Get(ctx, ref.cat.Name, metav1.GetOptions{})
		return err == nil && cat.Status.State == v1alpha1.CAPTenantStateReady && cat.Status.CurrentCAPApplicationVersionInstance == ref.v2.Name, err
	})
	ops, err := client.CAPTenantOperations(ns).List(ctx, metav1.ListOptions{
		LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(ns, ref.cat.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops.Items) != 1 || ops.Items[0].UID != ref.op.UID {
		t.Fatalf("tenant has %d operations, want only the one it had: %v", len(ops.Items), ops.Items)
	}
	if c := meta.FindStatusCondition(ops.Items[0].Status.Conditions, "Ready"); c == nil || c.Reason != "StepCompleted" {
		t.Errorf("operation status %+v", ops.Items[0].Status)
	}
	jobs := jobsOf(t, env, ns, ref.op.Name)
	if len(jobs) != 2 || jobs[0].UID != ref.job.UID || jobs[1].Labels[v1alpha1.LabelTenantOperationStep] != "2" {
		t.Errorf("operation jobs %v, want %s then one Job for step 2", jobNames(jobs), ref.job.Name)
	}
}

// checkDeploymentReplaced waits until version 1's router Deployment has this operator's
// stable selector and has adopted the ReplicaSet of the Deployment it replaced, whose pods
// kept running meanwhile.
func checkDeploymentReplaced(t *testing.T, env *testenv.Env, ref *reference, old *appsv1.ReplicaSet) {
	t.Helper()
	ctx := context.Background()
	ns := ref.ca.Namespace
	var d *appsv1.Deployment
	testenv.Eventually(t, timeout, func() (bool, error) {
		var err error
		d, err = env.Clientset().AppsV1().Deployments(ns).Get(ctx, routerV1, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		rs, err := env.Clientset().AppsV1().ReplicaSets(ns).Get(ctx, old.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		owner := metav1.GetControllerOfNoCopy(rs)
		return d.UID != ref.deployment.UID && owner != nil && owner.UID == d.UID, nil
	})
	sel := d.Spec.Selector.MatchLabels
	for _, key := range []string{v1alpha1.LabelOwnerGeneration, v1alpha1.LabelExposedWorkload} {
		if _, ok := sel[key]; ok {
			t.Errorf("replaced deployment selects on %s: %v", key, sel)
		}
	}
	if d.Spec.Template.Labels[v1alpha1.LabelOwnerGeneration] != "2" || d.Spec.Template.Annotations[v1alpha1.AnnotationOwnerIdentifier] == "" {
		t.Errorf("pod template labels %v annotations %v", d.Spec.Template.Labels, d.Spec.Template.Annotations)
	}
	// The walk-through's router sets no replica count: the replaced Deployment's 2 are
	// carried over rather than scaling the adopted pods down to the default.
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want the replaced Deployment's 2", d.Spec.Replicas)
	}
	testenv.Eventually(t, timeout, func() (bool, error) {
		d, err := env.Clientset().AppsV1().Deployments(ns).Get(ctx, routerV1, metav1.GetOptions{})
		return err == nil && d.Status.UpdatedReplicas == 2 && d.Status.AvailableReplicas == 2, err
	})
}

// checkNoStepRanTwice asserts that no operation in the namespace has two Jobs for a step.
func checkNoStepRanTwice(t *testing.T, env *testenv.Env, ns string) {
	t.Helper()
	ops, err := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1().CAPTenantOperations(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops.Items {
		perStep := map[string]int{}
		for _, j := range jobsOf(t, env, ns, op.Name) {
			perStep[j.Labels[v1alpha1.LabelTenantOperationStep]]++
		}
		for step, n := range perStep {
			if n > 1 {
				t.Errorf("operation %s ran step %s %d times", op.Name, step, n)
			}
		}
	}
}

// waitReplicaSet waits for the ReplicaSet the deployment controller creates for d.
func waitReplicaSet(t *testing.T, env *testenv.Env, d *appsv1.Deployment) *appsv1.ReplicaSet {
	t.Helper()
	var found *appsv1.ReplicaSet
	testenv.Eventually(t, timeout, func() (bool, error) {
		list, err := env.Clientset().AppsV1().ReplicaSets(d.Namespace).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for i := range list.Items {
			if metav1.IsControlledBy(&list.Items[i], d) {
				found = &list.Items[i]
				return true, nil
			}
		}
		return false, nil
	})
	return found
}

// jobsOf returns the Jobs of an operation ordered by step.
func jobsOf(t *testing.T, env *testenv.Env, ns, op string) []batchv1.Job {
	t.Helper()
	list, err := env.Clientset().BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(ns, op)})
	if err != nil {
		t.Fatal(err)
	}
	jobs := list.Items
	slices.SortFunc(jobs, func(a, b batchv1.Job) int {
		return strings.Compare(a.Labels[v1alpha1.LabelTenantOperationStep], b.Labels[v1alpha1.LabelTenantOperationStep])
	})
	return jobs
}

// jobNames lists the names of Jobs.
func jobNames(jobs []batchv1.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Name
	}
	return out
}
