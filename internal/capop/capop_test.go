package capop

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/golden"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
)

const ns = "shop-ns"

var t0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }

// fixture is an application halted on version 2 by its failing canary tenant c-00.
func fixture() []runtime.Object {
	ca := &v1alpha1.CAPApplication{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns}}
	ca.Spec.RolloutStrategy = &v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{{Name: "canary", TenantIds: []string{"id-c-00", "id-c-01"}}}}
	ca.Status.State = v1alpha1.CAPApplicationStateError
	ca.Status.Rollout = &v1alpha1.RolloutStatus{
		TargetVersion: "2", Phase: v1alpha1.RolloutPhaseHalted, Summary: "1/4 (1 failed)", StartTime: ptr.To(at(0)),
		Message: "1 tenants failed to upgrade to version 2, more than maxFailures (0): c-00",
		Waves: []v1alpha1.RolloutWaveStatus{
			{Name: "canary", Succeeded: 1, Failed: 1, StartTime: ptr.To(at(0)), CompletionTime: ptr.To(at(time.Minute))},
			{Name: "rest", Pending: 2},
		},
	}
	other := &v1alpha1.CAPApplication{ObjectMeta: metav1.ObjectMeta{Name: "blog", Namespace: ns}}
	other.Status.State = v1alpha1.CAPApplicationStateConsistent
	objs := []runtime.Object{ca, other}
	for _, v := range []string{"1", "2"} {
		cav := &v1alpha1.CAPApplicationVersion{ObjectMeta: metav1.ObjectMeta{Name: "shop-" + v, Namespace: ns}}
		cav.Spec.CAPApplicationInstance, cav.Spec.Version = "shop", v
		cav.Status.State = v1alpha1.CAPApplicationVersionStateReady
		objs = append(objs, cav)
	}
	for _, tc := range []struct {
		name, version, current string
		state                  v1alpha1.CAPTenantState
	}{{"c-00", "2", "shop-1", v1alpha1.CAPTenantStateUpgradeError}, {"c-01", "2", "shop-2", v1alpha1.CAPTenantStateReady}, {"t-00", "1", "shop-1", v1alpha1.CAPTenantStateReady}, {"t-01", "1", "shop-1", v1alpha1.CAPTenantStateReady}} {
		t := &v1alpha1.CAPTenant{ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: ns}}
		t.Spec.CAPApplicationInstance, t.Spec.TenantId, t.Spec.SubDomain, t.Spec.Version = "shop", "id-"+tc.name, tc.name, tc.version
		t.Status.State, t.Status.CurrentCAPApplicationVersionInstance = tc.state, tc.current
		objs = append(objs, t)
	}
	for i, job := range []string{"c-00-upgrade-old", "c-00-upgrade-new"} {
		op := &v1alpha1.CAPTenantOperation{ObjectMeta: metav1.ObjectMeta{Name: "c-00-op-" + job[len(job)-3:], Namespace: ns, CreationTimestamp: at(time.Duration(i) * time.Minute),
			Labels: map[string]string{v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(ns, "c-00")}}}
		op.Spec.Operation = v1alpha1.CAPTenantOperationTypeUpgrade
		op.Spec.Steps = []v1alpha1.CAPTenantOperationStep{{Name: "mtx", Type: "TenantOperation"}, {Name: "smoke", Type: "CustomTenantOperation"}}
		op.Status.State = v1alpha1.CAPTenantOperationStateFailed
		op.Status.CurrentStep, op.Status.ActiveJob = ptr.To(uint32(2)), ptr.To(job)
		objs = append(objs, op)
	}
	return objs
}

// pods are the pods of the failing Job (a retried pod is newer) and of another Job.
func pods() []runtime.Object {
	pod := func(name, job string, age time.Duration) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: at(age), Labels: map[string]string{"batch.kubernetes.io/job-name": job}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "smoke"}}}}
	}
	return []runtime.Object{pod("c-00-upgrade-new-aaaaa", "c-00-upgrade-new", 0), pod("c-00-upgrade-new-bbbbb", "c-00-upgrade-new", time.Minute), pod("c-00-upgrade-old-ccccc", "c-00-upgrade-old", 2*time.Minute)}
}

func newClient(out *bytes.Buffer) *Client {
	// NewSimpleClientset: the managed-fields tracker of NewClientset lacks our schemas (patches).
	return &Client{SME: fake.NewSimpleClientset(fixture()...), Core: kubefake.NewClientset(pods()...), Namespace: ns, Out: out}
}

func TestOutput(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func(c *Client) error{
		"status":           func(c *Client) error { return c.Status(ctx, "") },
		"status_app":       func(c *Client) error { return c.Status(ctx, "shop") },
		"status_json":      func(c *Client) error { c.Output = "json"; return c.Status(ctx, "shop") },
		"tenants":          func(c *Client) error { return c.Tenants(ctx, TenantFilter{}) },
		"tenants_failed":   func(c *Client) error { return c.Tenants(ctx, TenantFilter{State: "upgradeerror"}) },
		"tenants_version1": func(c *Client) error { return c.Tenants(ctx, TenantFilter{App: "shop", Version: "1"}) },
		"tenants_json":     func(c *Client) error { c.Output = "json"; return c.Tenants(ctx, TenantFilter{Version: "2"}) },
	}
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(newClient(&out)); err != nil {
				t.Fatal(err)
			}
			golden.CheckNamed(t, name, out.String())
		})
	}
}

func TestStatusUnknownApp(t *testing.T) {
	var out bytes.Buffer
	err := newClient(&out).Status(context.Background(), "nope")
	if err == nil || !strings.Contains(err.Error(), "CAPApplication nope not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestControls(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name       string
		run        func(c *Client) error
		paused     *bool
		annotation string
		err        string
	}{
		{name: "pause", run: func(c *Client) error { return c.SetPaused(ctx, "shop", true) }, paused: ptr.To(true)},
		{name: "resume", run: func(c *Client) error { return c.SetPaused(ctx, "shop", false) }, paused: ptr.To(false), annotation: "resume"},
		{name: "retry", run: func(c *Client) error { return c.Act(ctx, "shop", "retry") }, annotation: "retry"},
		{name: "abort", run: func(c *Client) error { return c.Act(ctx, "shop", "abort") }, annotation: "abort"},
		{name: "pause without strategy", run: func(c *Client) error { return c.SetPaused(ctx, "blog", true) }, err: "has no spec.rolloutStrategy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c := newClient(&out)
			err := tc.run(c)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ca, err := c.SME.SmeV1alpha1().CAPApplications(ns).Get(ctx, "shop", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.paused != nil && ca.Spec.RolloutStrategy.Paused != *tc.paused {
				t.Errorf("paused = %v, want %v", ca.Spec.RolloutStrategy.Paused, *tc.paused)
			}
			if len(ca.Spec.RolloutStrategy.Waves) != 1 {
				t.Errorf("the patch lost the waves: %+v", ca.Spec.RolloutStrategy)
			}
			if got := ca.Annotations[v1alpha1.AnnotationRolloutAction]; got != tc.annotation {
				t.Errorf("rollout-action = %q, want %q", got, tc.annotation)
			}
		})
	}
}

func TestLogs(t *testing.T) {
	var out bytes.Buffer
	c := newClient(&out)
	if err := c.Logs(context.Background(), "c-00"); err != nil {
		t.Fatal(err)
	}
	// The newest operation's Job, its newest pod, and the log request for its container.
	want := "# operation c-00-op-new, Job c-00-upgrade-new, pod c-00-upgrade-new-bbbbb\n# container smoke\nfake logs\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	// The fake records no pod name for a log request; the output names the pod asked.
	requests := 0
	for _, a := range c.Core.(*kubefake.Clientset).Actions() {
		if a.GetSubresource() == "log" && a.GetNamespace() == ns {
			requests++
		}
	}
	if requests != 1 {
		t.Errorf("%d log requests, want 1", requests)
	}
	if err := c.Logs(context.Background(), "t-00"); err == nil || !strings.Contains(err.Error(), "no operation with a Job") {
		t.Errorf("tenant without operation: err = %v", err)
	}
}
