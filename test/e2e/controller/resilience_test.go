package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

func TestRestartMidReconciliationConverges(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	ctx := context.Background()
	first := startController(t, env, ns)
	framework.MultitenantApp(t, env, ns)
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v1.yaml", ns, cav)
	if _, err := sme(env).SmeV1alpha1().CAPApplicationVersions(ns).Create(ctx, cav, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Kill the controller as soon as it has started creating the version's children.
	testenv.Eventually(t, timeout, func() (bool, error) {
		list, err := env.Clientset().CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelSecretOwnerHash})
		return err == nil && len(list.Items) > 0, err
	})
	first.Kill()
	startController(t, env, ns)
	waitCAV(t, env, ns, cav.Name, v1alpha1.CAPApplicationVersionStateReady)

	// The restarted controller converged to the same objects: one VCAP secret per workload
	// object, two Deployments, one content Job.
	secrets, err := env.Clientset().CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelSecretOwnerHash})
	if err != nil {
		t.Fatal(err)
	}
	perOwner := map[string]int{}
	for _, s := range secrets.Items {
		perOwner[s.Labels[v1alpha1.LabelSecretOwnerHash]]++
	}
	if len(perOwner) != 3 {
		t.Errorf("VCAP secrets for %d workload objects, want 3 (2 deployments, 1 content job)", len(perOwner))
	}
	for hash, n := range perOwner {
		if n != 1 {
			t.Errorf("%d VCAP secrets with secret-owner-hash %s, want 1", n, hash)
		}
	}
	deployments, _ := env.Clientset().AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	jobs, _ := env.Clientset().BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if len(deployments.Items) != 2 || len(jobs.Items) != 1 {
		t.Errorf("%d deployments and %d jobs, want 2 and 1", len(deployments.Items), len(jobs.Items))
	}
}

func TestLostLeadershipStopsWork(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	ctx := context.Background()
	a := startController(t, env, ns, "--leader-elect=true")
	b := startController(t, env, ns, "--leader-elect=true")
	leases := env.Clientset().CoordinationV1().Leases(ns)
	var holder string
	testenv.Eventually(t, timeout, func() (bool, error) {
		l, err := leases.Get(ctx, "capoperator-lease-lock", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		holder = ptr.Deref(l.Spec.HolderIdentity, "")
		return holder != "", nil
	})

	// Another identity takes the Lease for a short while: the leader cannot renew, stops
	// its workers and exits; the standby takes over once the foreign Lease expires.
	l, err := leases.Get(ctx, "capoperator-lease-lock", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewMicroTime(time.Now())
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds = ptr.To("intruder"), ptr.To[int32](5)
	l.Spec.AcquireTime, l.Spec.RenewTime = &now, &now
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var exited, standby *framework.Process
	testenv.Eventually(t, timeout, func() (bool, error) {
		for _, p := range []*framework.Process{a, b} {
			if done, code := p.Exited(); done {
				if code != 0 {
					t.Fatalf("the former leader exited with code %d, want 0", code)
				}
				exited = p
			}
		}
		return exited != nil, nil
	})
	standby = a
	if exited == a {
		standby = b
	}
	if done, _ := standby.Exited(); done {
		t.Fatal("both controllers exited")
	}
	testenv.Eventually(t, timeout, func() (bool, error) {
		l, err := leases.Get(ctx, "capoperator-lease-lock", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		h := ptr.Deref(l.Spec.HolderIdentity, "")
		return h != "" && h != "intruder" && h != holder, nil
	})
	// The new leader reconciles.
	framework.MultitenantApp(t, env, ns)
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v1.yaml", ns, cav)
	if _, err := sme(env).SmeV1alpha1().CAPApplicationVersions(ns).Create(ctx, cav, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCAV(t, env, ns, cav.Name, v1alpha1.CAPApplicationVersionStateReady)
}
