package fleetmetrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// indexer returns an indexer holding objs.
func indexer(t *testing.T, objs ...any) cache.Indexer {
	t.Helper()
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		if err := idx.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	return idx
}

func meta(ns, name string, age time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))}
}

func cavOf(ns, name, app, version string) *v1alpha1.CAPApplicationVersion {
	return &v1alpha1.CAPApplicationVersion{ObjectMeta: meta(ns, name, 0),
		Spec: v1alpha1.CAPApplicationVersionSpec{CAPApplicationInstance: app, Version: version}}
}

func tenantOf(name, ns, app string, state v1alpha1.CAPTenantState, cav string) *v1alpha1.CAPTenant {
	t := &v1alpha1.CAPTenant{ObjectMeta: meta(ns, name, 0), Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: app}}
	t.Status.State, t.Status.CurrentCAPApplicationVersionInstance = state, cav
	return t
}

func opOf(name, ns, cav string, op v1alpha1.CAPTenantOperationType, state v1alpha1.CAPTenantOperationState, age time.Duration) *v1alpha1.CAPTenantOperation {
	o := &v1alpha1.CAPTenantOperation{ObjectMeta: meta(ns, name, age),
		Spec: v1alpha1.CAPTenantOperationSpec{CAPApplicationVersionInstance: cav, Operation: op}}
	o.Status.State = state
	if state == v1alpha1.CAPTenantOperationStateCompleted || state == v1alpha1.CAPTenantOperationStateFailed {
		// An operation has finished when its Ready condition is True.
		o.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionTypeReady, Status: metav1.ConditionTrue, Reason: "StepCompleted"}}
	}
	return o
}

// collector builds a collector over the objects.
func collector(t *testing.T, synced bool, cas, cavs, cats, ops []any) *Collector {
	t.Helper()
	return New(Listers{
		Applications: smelisters.NewCAPApplicationLister(indexer(t, cas...)),
		Versions:     smelisters.NewCAPApplicationVersionLister(indexer(t, cavs...)),
		Tenants:      smelisters.NewCAPTenantLister(indexer(t, cats...)),
		Operations:   smelisters.NewCAPTenantOperationLister(indexer(t, ops...)),
		Synced:       []cache.InformerSynced{func() bool { return synced }},
	}, clocktesting.NewFakePassiveClock(now))
}

func TestCollector(t *testing.T) {
	ca := &v1alpha1.CAPApplication{ObjectMeta: meta("shop", "cart", 0)}
	ca.Labels = map[string]string{v1alpha1.LabelAppIdentifierHash: "abc123"}
	ca.Status.State = v1alpha1.CAPApplicationStateConsistent
	cavs := []any{cavOf("shop", "cart-v1", "cart", "1.0.0"), cavOf("shop", "cart-v2", "cart", "2.0.0"), cavOf("hr", "pay-v1", "pay", "0.1.0")}
	cats := []any{
		tenantOf("t1", "shop", "cart", v1alpha1.CAPTenantStateReady, "cart-v1"),
		tenantOf("t2", "shop", "cart", v1alpha1.CAPTenantStateReady, "cart-v1"),
		tenantOf("t3", "shop", "cart", v1alpha1.CAPTenantStateUpgrading, "cart-v1"),
		tenantOf("t4", "shop", "cart", v1alpha1.CAPTenantStateReady, "cart-v2"),
		tenantOf("t5", "shop", "cart", v1alpha1.CAPTenantStateProvisioning, ""),
		tenantOf("t6", "hr", "pay", v1alpha1.CAPTenantStateProvisioningError, "gone"),
	}
	ops := []any{
		opOf("t3-1", "shop", "cart-v2", v1alpha1.CAPTenantOperationTypeUpgrade, v1alpha1.CAPTenantOperationStateProcessing, 10*time.Minute),
		opOf("t5-1", "shop", "cart-v1", v1alpha1.CAPTenantOperationTypeProvisioning, v1alpha1.CAPTenantOperationStateProcessing, time.Minute),
		opOf("t5-0", "shop", "cart-v1", v1alpha1.CAPTenantOperationTypeProvisioning, "", 2*time.Minute),
		opOf("t1-1", "shop", "cart-v1", v1alpha1.CAPTenantOperationTypeProvisioning, v1alpha1.CAPTenantOperationStateCompleted, time.Hour),
		opOf("t6-1", "hr", "pay-v1", v1alpha1.CAPTenantOperationTypeProvisioning, v1alpha1.CAPTenantOperationStateFailed, time.Hour),
	}
	want := `
# HELP cap_op_applications CAPApplications by namespace, name, state and app identifier hash (the app label of the other cap_op_ metrics).
# TYPE cap_op_applications gauge
cap_op_applications{app="abc123",application="cart",namespace="shop",state="Consistent"} 1
# HELP cap_op_tenant_operation_oldest_running_seconds Age of the oldest unfinished CAPTenantOperation, by namespace, application and operation.
# TYPE cap_op_tenant_operation_oldest_running_seconds gauge
cap_op_tenant_operation_oldest_running_seconds{application="cart",namespace="shop",operation="provisioning"} 120
cap_op_tenant_operation_oldest_running_seconds{application="cart",namespace="shop",operation="upgrade"} 600
# HELP cap_op_tenant_operations_running CAPTenantOperations not yet finished, by namespace, application and operation.
# TYPE cap_op_tenant_operations_running gauge
cap_op_tenant_operations_running{application="cart",namespace="shop",operation="provisioning"} 2
cap_op_tenant_operations_running{application="cart",namespace="shop",operation="upgrade"} 1
# HELP cap_op_tenants CAPTenants by namespace, application, state and the version (spec.version of the CAPApplicationVersion) they run.
# TYPE cap_op_tenants gauge
cap_op_tenants{application="cart",namespace="shop",state="Provisioning",version=""} 1
cap_op_tenants{application="cart",namespace="shop",state="Ready",version="1.0.0"} 2
cap_op_tenants{application="cart",namespace="shop",state="Ready",version="2.0.0"} 1
cap_op_tenants{application="cart",namespace="shop",state="Upgrading",version="1.0.0"} 1
cap_op_tenants{application="pay",namespace="hr",state="ProvisioningError",version=""} 1
`
	c := collector(t, true, []any{ca}, cavs, cats, ops)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(collector(t, false, []any{ca}, cavs, cats, ops)); n != 0 {
		t.Errorf("before the caches synced: %d samples, want none", n)
	}
	if n := testutil.CollectAndCount(collector(t, true, nil, nil, nil, nil)); n != 0 {
		t.Errorf("empty fleet: %d samples, want none", n)
	}
}
