package captenant

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// deleting marks a tenant deleted.
func deleting(cat *v1alpha1.CAPTenant) *v1alpha1.CAPTenant {
	cat.DeletionTimestamp = ptr.To(metav1.NewTime(t0))
	return cat
}

// withoutFinalizer removes the tenant's finalizer, as its release does.
func withoutFinalizer(cat *v1alpha1.CAPTenant) *v1alpha1.CAPTenant {
	cat.Finalizers = nil
	return cat
}

// TestOperationsAreNotDependants checks that the operations a tenant starts carry neither an
// owner reference to the tenant (a foreground deletion of the tenant, Argo CD's prune, would
// delete a running operation's Jobs through it) nor a finalizer (whose removal would cost
// one write per kept operation when the tenant goes).
func TestOperationsAreNotDependants(t *testing.T) {
	for name, cat := range map[string]*v1alpha1.CAPTenant{
		"provisioning":   testTenant("", ""),
		"deprovisioning": deleting(readyTenant("t-op1")),
	} {
		t.Run(name, func(t *testing.T) {
			objs := []runtime.Object{testCA(), testDomain(), testCAV("1"), cat}
			if cat.DeletionTimestamp != nil {
				objs = append(objs, testOp(1, "provisioning", tenant.ReasonStepCompleted))
			}
			f := newFixture(t, objs...)
			if err := f.ctl.sync(context.Background(), cache.ObjectName{Namespace: "ns", Name: "t"}); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got, want := f.Writes(), []string{"create captenantoperations", "update captenants/status"}; !sameStrings(got, want) || len(got) != len(want) {
				t.Fatalf("writes %v, want %v", got, want)
			}
			op := f.Written(t, "create", "captenantoperations", 0).(*v1alpha1.CAPTenantOperation)
			if op.Spec.Operation != v1alpha1.CAPTenantOperationType(name) {
				t.Errorf("started %s, want %s", op.Spec.Operation, name)
			}
			if len(op.OwnerReferences) != 0 || len(op.Finalizers) != 0 {
				t.Errorf("operation with owner references %v and finalizers %v, want none", op.OwnerReferences, op.Finalizers)
			}
			if owner, ok := tenant.OperationTenant(op); !ok || owner != "t" {
				t.Errorf("the operation names tenant %q (%v), want t", owner, ok)
			}
		})
	}
}

// TestDeprovisionedTenantWrites counts the writes that let a deprovisioned tenant go: its
// finalizer, then all its operations in one call, however many it kept. After a failed
// deletion of the operations, the next sync of the tenant (gone, or lingering for another
// finalizer) repeats it; without a failure, operations the cache still shows were deleted a
// moment ago and cost nothing. A tenant the cache shows without operations but the API no
// longer holds is not deprovisioned again.
func TestDeprovisionedTenantWrites(t *testing.T) {
	history := []runtime.Object{
		testOp(1, "provisioning", tenant.ReasonStepCompleted), testOp(2, "upgrade", tenant.ReasonStepCompleted),
		testOp(3, "deprovisioning", tenant.ReasonStepCompleted),
	}
	cases := map[string]struct {
		tenant *v1alpha1.CAPTenant // nil: gone
		ops    []runtime.Object
		// released removes the tenant from the API (not from the cache) before the sync.
		released bool
		// failed marks the tenant as released with a failed deletion of its operations.
		failed  bool
		writes  []string
		requeue bool
	}{
		"deprovisioned: the finalizer, then every operation in one call": {
			tenant: deleting(readyTenant("t-op2")), ops: history,
			writes: []string{"patch captenants", "delete-collection captenantoperations"},
		},
		"never provisioned: the same": {
			tenant: deleting(testTenant(v1alpha1.CAPTenantStateProvisioningError, "")), ops: []runtime.Object{testOp(1, "provisioning", tenant.ReasonStepFailed)},
			writes: []string{"patch captenants", "delete-collection captenantoperations"},
		},
		"gone after a failed deletion of its operations: deleted": {
			ops: history, failed: true,
			writes: []string{"delete-collection captenantoperations"},
		},
		"gone, its operations still in the cache: nothing (deleted a moment ago)": {
			ops: history,
		},
		"gone after a failed deletion, with a running operation: nothing": {
			ops: []runtime.Object{testOp(1, "provisioning", "")}, failed: true,
		},
		"released, still there for another finalizer: nothing (the cache may lag)": {
			tenant: withoutFinalizer(deleting(readyTenant("t-op2"))), ops: history,
		},
		"released, still there, after a failed deletion: repeated": {
			tenant: withoutFinalizer(deleting(readyTenant("t-op2"))), ops: history, failed: true,
			writes: []string{"delete-collection captenantoperations"},
		},
		"released, the cache behind with its operations: the deletion is not repeated": {
			tenant: deleting(readyTenant("t-op2")), ops: history, released: true,
			writes: []string{"patch captenants"}, // answered 404
		},
		"released, the cache behind: not deprovisioned again": {
			tenant: deleting(readyTenant("t-op2")), released: true, requeue: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			objs := append([]runtime.Object{testCA(), testDomain(), testCAV("1"), syncedVS(t)}, tc.ops...)
			if tc.tenant != nil {
				objs = append(objs, tc.tenant)
			}
			f := newFixture(t, objs...)
			if tc.released {
				if err := f.SME.SmeV1alpha1().CAPTenants("ns").Delete(context.Background(), "t", metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				f.ClearActions()
			}
			if tc.failed {
				f.ctl.unreleased.Store(cache.ObjectName{Namespace: "ns", Name: "t"}, true)
			}
			err := f.ctl.sync(context.Background(), cache.ObjectName{Namespace: "ns", Name: "t"})
			if _, ok := controller.IsRequeue(err); (err != nil && (!ok || !tc.requeue)) || (err == nil && tc.requeue) {
				t.Fatalf("sync: %v (want a requeue: %v)", err, tc.requeue)
			}
			if got := f.Writes(); len(got) != len(tc.writes) || !sameStrings(got, tc.writes) {
				t.Errorf("writes %v, want %v", got, tc.writes)
			}
		})
	}
}
