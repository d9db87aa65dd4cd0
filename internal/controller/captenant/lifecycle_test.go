package captenant

import (
	"context"
	"slices"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller/captenantoperation"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Resources of the lifecycle the test moves between the fake API and the caches.
var (
	tenantsGVR = v1alpha1.SchemeGroupVersion.WithResource("captenants")
	opsGVR     = v1alpha1.SchemeGroupVersion.WithResource("captenantoperations")
	jobsGVR    = batchv1.SchemeGroupVersion.WithResource("jobs")
)

// TestWritesPerTenant takes one tenant through provisioning, an upgrade with two steps and
// deprovisioning with the tenant and operation controllers on fake clients, standing in for
// the API server where it acts by itself: Jobs complete, a deleted object without finalizers
// goes, and the garbage collector deletes (in the background) what an object that is gone
// owned. It counts every write of the two controllers per phase (the test version's workloads
// consume no service, so no VCAP_SERVICES Secret is written; a real version's is shared by all
// its tenants). The version bump that starts the upgrade is the application controller's (one
// write per tenant, not counted here): provisioning costs 6, the upgrade 7 + 1, deprovisioning
// 6, whatever the tenant kept as history.
func TestWritesPerTenant(t *testing.T) {
	v2 := testCAV("2")
	v2.Spec.Workloads = append(v2.Spec.Workloads, v1alpha1.WorkloadDetails{Name: "notify",
		JobDefinition: &v1alpha1.JobDetails{Type: v1alpha1.JobCustomTenantOperation}})
	v2.Spec.TenantOperations = &v1alpha1.TenantOperations{Upgrade: []v1alpha1.TenantOperationWorkloadReference{{WorkloadName: "mtx"}, {WorkloadName: "notify"}}}
	f := newFixture(t, testCA(), testDomain(), testCAV("1"), v2, testTenant("", ""))
	ops, err := captenantoperation.NewController(f.Context)
	if err != nil {
		t.Fatal(err)
	}
	lc := &lifecycle{t: t, f: f, ops: ops}
	f.SME.PrependReactor("delete-collection", "captenantoperations", lc.deleteCollection)

	phases := []struct {
		name   string
		change func(*v1alpha1.CAPTenant)
		done   func(*v1alpha1.CAPTenant) bool
		writes []string
	}{
		{
			name: "provisioning",
			done: func(c *v1alpha1.CAPTenant) bool { return c.Status.State == v1alpha1.CAPTenantStateReady },
			writes: []string{"create captenantoperations", "create jobs", "create virtualservices",
				"update captenantoperations/status", "update captenants/status", "update captenants/status"},
		},
		{
			name:   "upgrade",
			change: func(c *v1alpha1.CAPTenant) { c.Spec.Version = "2" },
			done: func(c *v1alpha1.CAPTenant) bool {
				return c.Status.State == v1alpha1.CAPTenantStateReady && c.Status.CurrentCAPApplicationVersionInstance == "cav-2"
			},
			writes: []string{"create captenantoperations", "create jobs", "create jobs",
				"update captenantoperations/status", "update captenants/status", "update captenants/status", "update virtualservices"},
		},
		{
			name:   "deprovisioning",
			change: func(c *v1alpha1.CAPTenant) { c.DeletionTimestamp = ptr.To(metav1.NewTime(t0)) },
			done:   nil, // the tenant is gone
			writes: []string{"create captenantoperations", "create jobs", "delete-collection captenantoperations",
				"patch captenants", "update captenantoperations/status", "update captenants/status"},
		},
	}
	for _, p := range phases {
		if p.change != nil {
			lc.edit(p.change)
		}
		f.ClearActions()
		lc.settle(p.done)
		got := f.Writes()
		slices.Sort(got)
		if !slices.Equal(got, p.writes) {
			t.Errorf("%s: writes %v, want %v", p.name, got, p.writes)
		}
	}
	if left := lc.list(opsGVR); len(left) != 0 {
		t.Errorf("%d operations left after the tenant went", len(left))
	}
}

// lifecycle drives the two controllers and plays the API server's own part.
type lifecycle struct {
	t   *testing.T
	f   *fixture
	ops *captenantoperation.Controller
}

// edit changes the tenant in the fake API directly (not a counted write).
func (lc *lifecycle) edit(change func(*v1alpha1.CAPTenant)) {
	obj, err := lc.f.SME.Tracker().Get(tenantsGVR, "ns", "t")
	if err != nil {
		lc.t.Fatal(err)
	}
	cat := obj.(*v1alpha1.CAPTenant).DeepCopy()
	change(cat)
	if err := lc.f.SME.Tracker().Update(tenantsGVR, cat, "ns"); err != nil {
		lc.t.Fatal(err)
	}
}

// settle syncs tenant and operations, completing Jobs, until done holds for the tenant (or,
// with done nil, the tenant and its operations are gone).
func (lc *lifecycle) settle(done func(*v1alpha1.CAPTenant) bool) {
	ctx := context.Background()
	for range 20 {
		lc.apiServer()
		lc.refreshCaches()
		obj, err := lc.f.SME.Tracker().Get(tenantsGVR, "ns", "t")
		switch {
		case err != nil && done == nil && len(lc.list(opsGVR)) == 0:
			return
		case err != nil && done != nil:
			lc.t.Fatal(err)
		case err == nil && done != nil && done(obj.(*v1alpha1.CAPTenant)) && lc.running() == 0:
			return
		}
		if err := lc.f.ctl.sync(ctx, cache.ObjectName{Namespace: "ns", Name: "t"}); err != nil {
			lc.t.Logf("tenant sync: %v", err)
		}
		lc.refreshCaches()
		for _, o := range lc.list(opsGVR) {
			if op := o.(*v1alpha1.CAPTenantOperation); !tenant.Finished(op) || op.DeletionTimestamp != nil {
				if err := lc.ops.SyncNow(ctx, cache.MetaObjectToName(op)); err != nil {
					lc.t.Logf("operation sync: %v", err)
				}
			}
		}
	}
	lc.t.Fatal("the lifecycle did not settle in 20 rounds")
}

// running counts the unfinished operations.
func (lc *lifecycle) running() int {
	n := 0
	for _, o := range lc.list(opsGVR) {
		if !tenant.Finished(o.(*v1alpha1.CAPTenantOperation)) {
			n++
		}
	}
	return n
}

// apiServer completes every Job, removes a deleted tenant without finalizers and deletes in
// the background whatever a missing tenant or operation owned, as the garbage collector does.
func (lc *lifecycle) apiServer() {
	tracker := lc.f.Kube.Tracker()
	for _, o := range lc.list(jobsGVR) {
		job := o.(*batchv1.Job)
		if len(job.Status.Conditions) == 0 {
			job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
			if err := tracker.Update(jobsGVR, job, "ns"); err != nil {
				lc.t.Fatal(err)
			}
		}
	}
	if obj, err := lc.f.SME.Tracker().Get(tenantsGVR, "ns", "t"); err == nil {
		if cat := obj.(*v1alpha1.CAPTenant); cat.DeletionTimestamp != nil && len(cat.Finalizers) == 0 {
			if err := lc.f.SME.Tracker().Delete(tenantsGVR, "ns", "t"); err != nil {
				lc.t.Fatal(err)
			}
		}
	}
	tenantGone := false
	if _, err := lc.f.SME.Tracker().Get(tenantsGVR, "ns", "t"); err != nil {
		tenantGone = true
	}
	for _, o := range lc.list(opsGVR) {
		op := o.(*v1alpha1.CAPTenantOperation)
		owned := slices.ContainsFunc(op.OwnerReferences, func(r metav1.OwnerReference) bool { return r.Kind == Kind })
		if !tenantGone || !owned {
			continue
		}
		if len(op.Finalizers) == 0 {
			_ = lc.f.SME.Tracker().Delete(opsGVR, "ns", op.Name)
		} else if op.DeletionTimestamp == nil {
			op.DeletionTimestamp = ptr.To(metav1.NewTime(t0))
			if err := lc.f.SME.Tracker().Update(opsGVR, op, "ns"); err != nil {
				lc.t.Fatal(err)
			}
		}
	}
}

// deleteCollection deletes the operations a DeleteCollection selects (the fake does not).
func (lc *lifecycle) deleteCollection(action clienttesting.Action) (bool, runtime.Object, error) {
	selector := action.(clienttesting.DeleteCollectionAction).GetListRestrictions().Labels
	for _, o := range lc.list(opsGVR) {
		op := o.(*v1alpha1.CAPTenantOperation)
		if selector.Matches(labels.Set(op.Labels)) {
			if err := lc.f.SME.Tracker().Delete(opsGVR, "ns", op.Name); err != nil {
				return true, nil, err
			}
		}
	}
	return true, nil, nil
}

// list returns the objects of a resource in the fake API.
func (lc *lifecycle) list(gvr schema.GroupVersionResource) []runtime.Object {
	tracker := lc.f.SME.Tracker()
	if gvr == jobsGVR {
		tracker = lc.f.Kube.Tracker()
	}
	gvk := gvr.GroupVersion().WithKind(map[string]string{"captenants": "CAPTenant", "captenantoperations": "CAPTenantOperation", "jobs": "Job"}[gvr.Resource])
	obj, err := tracker.List(gvr, gvk, "ns")
	if err != nil {
		lc.t.Fatal(err)
	}
	var out []runtime.Object
	switch l := obj.(type) {
	case *v1alpha1.CAPTenantList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *v1alpha1.CAPTenantOperationList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *batchv1.JobList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	}
	return out
}

// refreshCaches makes the caches show what the fake API holds, as informers would.
func (lc *lifecycle) refreshCaches() {
	sme := lc.f.Context.SMEInformers.Sme().V1alpha1()
	replace := func(indexer cache.Indexer, objs []any) {
		if err := indexer.Replace(objs, ""); err != nil {
			lc.t.Fatal(err)
		}
	}
	asAny := func(objs []runtime.Object) []any {
		out := make([]any, len(objs))
		for i, o := range objs {
			out[i] = o
		}
		return out
	}
	replace(sme.CAPTenants().Informer().GetIndexer(), asAny(lc.list(tenantsGVR)))
	replace(sme.CAPTenantOperations().Informer().GetIndexer(), asAny(lc.list(opsGVR)))
	replace(lc.f.Context.OwnedInformers.Batch().V1().Jobs().Informer().GetIndexer(), asAny(lc.list(jobsGVR)))
	secrets, err := lc.f.Kube.CoreV1().Secrets("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		lc.t.Fatal(err)
	}
	var metas []any
	for i := range secrets.Items {
		metas = append(metas, controllertest.SecretMetadata(&secrets.Items[i]))
	}
	replace(lc.f.Context.Secrets().Informer().GetIndexer(), metas)
	vss, err := lc.f.Istio.NetworkingV1().VirtualServices("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		lc.t.Fatal(err)
	}
	var vsObjs []any
	for i := range vss.Items {
		vsObjs = append(vsObjs, vss.Items[i])
	}
	replace(lc.f.Context.IstioInformers.Networking().V1().VirtualServices().Informer().GetIndexer(), vsObjs)
}
