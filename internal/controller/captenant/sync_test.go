package captenant

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/golden"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// t0 is the reference time of the tests, where the fake clock starts.
var t0 = controllertest.T0

// fixture holds a controller on fake clients whose caches are seeded by hand.
type fixture struct {
	*controllertest.Fake
	ctl *Controller
}

// newFixture builds the controller; objects go into the fake clients and the caches.
func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{Fake: controllertest.NewFake(t, controller.Options{OperatorNamespace: "op", MaxTenantVersionHistory: 10,
		TenantOperationHistory: 2, RetryInitialDelay: time.Second, RetryMaxDelay: time.Minute, RetryMaxAttempts: 3}, objs...)}
	ctl, err := NewController(f.Context)
	if err != nil {
		t.Fatal(err)
	}
	f.ctl = ctl
	return f
}

// testCA is an application with one Ready Domain.
func testCA() *v1alpha1.CAPApplication {
	return &v1alpha1.CAPApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns", UID: "uid-app"},
		Spec: v1alpha1.CAPApplicationSpec{BTPAppName: "btp-app", GlobalAccountId: "ga",
			DomainRefs: []v1alpha1.DomainRef{{Kind: v1alpha1.DomainRefKindDomain, Name: "primary"}}},
	}
}

// testDomain is the Ready Domain of the application.
func testDomain() *v1alpha1.Domain {
	return &v1alpha1.Domain{
		ObjectMeta: metav1.ObjectMeta{Name: "primary", Namespace: "ns"},
		Spec:       v1alpha1.DomainSpec{Domain: "example.com"},
		Status: v1alpha1.DomainStatus{State: v1alpha1.DomainStateReady, GatewayName: "primary-gw",
			GenericStatus: v1alpha1.GenericStatus{Conditions: []metav1.Condition{{Type: "Ready", Status: "True"}}}},
	}
}

// testCAV is a Ready version with a router and a TenantOperation workload.
func testCAV(version string) *v1alpha1.CAPApplicationVersion {
	return &v1alpha1.CAPApplicationVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "cav-" + version, Namespace: "ns"},
		Spec: v1alpha1.CAPApplicationVersionSpec{CAPApplicationInstance: "app", Version: version, Workloads: []v1alpha1.WorkloadDetails{
			{Name: "router", DeploymentDefinition: &v1alpha1.DeploymentDetails{Type: v1alpha1.DeploymentRouter}},
			{Name: "mtx", JobDefinition: &v1alpha1.JobDetails{Type: v1alpha1.JobTenantOperation}},
		}},
		Status: v1alpha1.CAPApplicationVersionStatus{State: v1alpha1.CAPApplicationVersionStateReady},
	}
}

// testTenant is a prepared tenant of the application asking for version 1. It has no owner
// reference to the application: a reference would let garbage collection delete (and so
// deprovision) it when the application is deleted.
func testTenant(state v1alpha1.CAPTenantState, current string) *v1alpha1.CAPTenant {
	return &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{
			Name: "t", Namespace: "ns", UID: "uid-t",
			Labels: map[string]string{
				v1alpha1.LabelAppIdentifierHash: identity.AppHash("ga", "btp-app"), v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash("ns", "app"),
				v1alpha1.LabelOwnerGeneration: "0", v1alpha1.LabelBTPTenantIdentifier: "tid", v1alpha1.LabelTenantType: "consumer",
			},
			Annotations: map[string]string{v1alpha1.AnnotationAppIdentifier: identity.AppID("ga", "btp-app"), v1alpha1.AnnotationOwnerIdentifier: "ns.app"},
			Finalizers:  []string{v1alpha1.FinalizerCAPTenant},
		},
		Spec:   v1alpha1.CAPTenantSpec{CAPApplicationInstance: "app", Version: "1", BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "sub", TenantId: "tid"}},
		Status: v1alpha1.CAPTenantStatus{State: state, CurrentCAPApplicationVersionInstance: current},
	}
}

// testOp is operation seq of the tenant, finished with reason ("" = running), as the
// controller creates it: named after its tenant by the owner identifier, not owned by it.
func testOp(seq int, typ v1alpha1.CAPTenantOperationType, reason string) *v1alpha1.CAPTenantOperation {
	op := &v1alpha1.CAPTenantOperation{
		ObjectMeta: metav1.ObjectMeta{
			Name: "t-op" + strconv.Itoa(seq), Namespace: "ns", CreationTimestamp: metav1.NewTime(t0.Add(-time.Minute)),
			Labels:      map[string]string{v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash("ns", "t")},
			Annotations: map[string]string{tenant.AnnotationSequence: strconv.Itoa(seq), v1alpha1.AnnotationOwnerIdentifier: "ns.t"},
		},
		Spec: v1alpha1.CAPTenantOperationSpec{Operation: typ, CAPApplicationVersionInstance: "cav-1"},
	}
	if reason != "" {
		op.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "True", Reason: reason, LastTransitionTime: metav1.NewTime(t0.Add(-time.Minute))}}
	}
	return op
}

// syncedVS is the tenant's VirtualService as the controller builds it for version 1.
func syncedVS(t *testing.T) runtime.Object {
	cat := testTenant(v1alpha1.CAPTenantStateReady, "cav-1")
	routes, err := tenant.Routes(tenant.RouteInput{CA: testCA(), Current: mustRouter(t, testCAV("1"))})
	if err != nil {
		t.Fatal(err)
	}
	return newVirtualService(cat, []domainref.DomainInfo{{Domain: "example.com", Gateway: "ns/primary-gw"}}, routes)
}

// mustRouter returns the router target of a version.
func mustRouter(t *testing.T, cav *v1alpha1.CAPApplicationVersion) tenant.RouterTarget {
	r, err := tenant.Router(cav)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSync(t *testing.T) {
	cases := map[string]struct {
		// tenant setup
		tenant *v1alpha1.CAPTenant
		ops    []runtime.Object
		vs     bool
		// expectations
		writes  []string
		state   v1alpha1.CAPTenantState
		reason  string
		events  int
		current string
	}{
		"new tenant: one operation, one status write": {
			tenant: testTenant("", ""),
			writes: []string{"create captenantoperations", "update captenants/status"},
			state:  v1alpha1.CAPTenantStateProvisioning, reason: "ProvisioningOperationCreated",
		},
		"running operation: no writes": {
			tenant: testTenant(v1alpha1.CAPTenantStateProvisioning, ""),
			ops:    []runtime.Object{testOp(1, "provisioning", "")},
			writes: []string{"update captenants/status"}, // the stored status has no condition yet
			state:  v1alpha1.CAPTenantStateProvisioning, reason: "ProvisioningOperationCreated",
		},
		"completed provisioning: Ready, VirtualService, one event": {
			tenant: testTenant(v1alpha1.CAPTenantStateProvisioning, ""),
			ops:    []runtime.Object{testOp(1, "provisioning", tenant.ReasonStepCompleted)},
			writes: []string{"update captenants/status", "create virtualservices"},
			state:  v1alpha1.CAPTenantStateReady, reason: "ProvisioningCompleted", events: 1, current: "cav-1",
		},
		"ready tenant in sync: no writes": {
			tenant: readyTenant("t-op1"), vs: true,
			ops:   []runtime.Object{testOp(1, "provisioning", tenant.ReasonStepCompleted)},
			state: v1alpha1.CAPTenantStateReady, reason: "ProvisioningCompleted", current: "cav-1",
		},
		"owner reference of earlier versions: removed": {
			tenant: withLegacyOwner(readyTenant("t-op1")), vs: true,
			ops:    []runtime.Object{testOp(1, "provisioning", tenant.ReasonStepCompleted)},
			writes: []string{"update captenants"},
			state:  v1alpha1.CAPTenantStateReady, reason: "ProvisioningCompleted", current: "cav-1",
		},
		"a new generation alone does not rewrite the VirtualService": {
			tenant: withGeneration(readyTenant("t-op1"), 2), vs: true,
			ops:    []runtime.Object{testOp(1, "provisioning", tenant.ReasonStepCompleted)},
			writes: []string{"update captenants/status"}, // observedGeneration
			state:  v1alpha1.CAPTenantStateReady, reason: "ProvisioningCompleted", current: "cav-1",
		},
		"history beyond two operations is pruned": {
			tenant: readyTenant("t-op3"), vs: true,
			ops: []runtime.Object{testOp(1, "provisioning", tenant.ReasonStepFailed), testOp(2, "provisioning", tenant.ReasonStepFailed),
				testOp(3, "provisioning", tenant.ReasonStepCompleted)},
			writes: []string{"delete captenantoperations"},
			state:  v1alpha1.CAPTenantStateReady, reason: "ProvisioningCompleted", current: "cav-1",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			objs := append([]runtime.Object{testCA(), testDomain(), testCAV("1"), tc.tenant}, tc.ops...)
			if tc.vs {
				objs = append(objs, syncedVS(t))
			}
			f := newFixture(t, objs...)
			err := f.ctl.sync(context.Background(), cache.ObjectName{Namespace: "ns", Name: "t"})
			if err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := f.Writes(); len(got) != len(tc.writes) || (len(got) > 0 && !sameStrings(got, tc.writes)) {
				t.Errorf("writes %v, want %v", got, tc.writes)
			}
			got, _ := f.SME.SmeV1alpha1().CAPTenants("ns").Get(context.Background(), "t", metav1.GetOptions{})
			ready := meta.FindStatusCondition(got.Status.Conditions, "Ready")
			if got.Status.State != tc.state || ready == nil || ready.Reason != tc.reason || got.Status.CurrentCAPApplicationVersionInstance != tc.current {
				t.Errorf("status %+v, want %s/%s on %q", got.Status, tc.state, tc.reason, tc.current)
			}
			if len(got.OwnerReferences) > 0 {
				t.Errorf("owner references %v, want none", got.OwnerReferences)
			}
			if n := len(f.Recorder.Events); n != tc.events {
				t.Errorf("%d events, want %d", n, tc.events)
			}
		})
	}
}

// withGeneration sets a tenant's generation.
func withGeneration(cat *v1alpha1.CAPTenant, g int64) *v1alpha1.CAPTenant {
	cat.Generation = g
	return cat
}

// readyTenant is a tenant provisioned with version 1.
func readyTenant(op string) *v1alpha1.CAPTenant {
	cat := testTenant(v1alpha1.CAPTenantStateReady, "cav-1")
	cat.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "True", Reason: "ProvisioningCompleted",
		Message: "CAPTenantOperation ns/" + op + " (provisioning) completed: running CAPApplicationVersion cav-1"}}
	return cat
}

// withLegacyOwner adds the controller reference to the application that earlier versions
// (and the previous implementation) set.
func withLegacyOwner(cat *v1alpha1.CAPTenant) *v1alpha1.CAPTenant {
	cat.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(testCA(), v1alpha1.SchemeGroupVersion.WithKind("CAPApplication"))}
	return cat
}

// sameStrings compares string lists.
func sameStrings(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNewVirtualService(t *testing.T) {
	golden.CheckNamed(t, "TestNewVirtualService/single-route", syncedVS(t))
}

// TestVirtualServiceNameTaken puts a VirtualService the tenant does not control where the
// tenant's belongs: the tenant reports it in a NetworkingReady condition and one event and
// looks again later; once the object is gone the VirtualService is created and the
// condition removed.
func TestVirtualServiceNameTaken(t *testing.T) {
	squatter := syncedVS(t).(*istionetworkingv1.VirtualService)
	squatter.OwnerReferences, squatter.Labels = nil, nil
	f := newFixture(t, testCA(), testDomain(), testCAV("1"), readyTenant("t-op1"), testOp(1, "provisioning", tenant.ReasonStepCompleted), squatter)
	key := cache.ObjectName{Namespace: "ns", Name: "t"}
	err := f.ctl.sync(context.Background(), key)
	if _, ok := controller.IsRequeue(err); !ok {
		t.Fatalf("sync: %v, want a requeue", err)
	}
	got, _ := f.SME.SmeV1alpha1().CAPTenants("ns").Get(context.Background(), "t", metav1.GetOptions{})
	c := meta.FindStatusCondition(got.Status.Conditions, ConditionTypeNetworkingReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != controller.ReasonChildConflict ||
		!strings.Contains(c.Message, "VirtualService ns/t already exists and is not controlled by CAPTenant t") {
		t.Fatalf("NetworkingReady = %+v", c)
	}
	if got.Status.State != v1alpha1.CAPTenantStateReady {
		t.Errorf("state %s, want Ready (the tenant itself is provisioned)", got.Status.State)
	}
	if n := len(f.Recorder.Events); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	if e := <-f.Recorder.Events; !strings.Contains(e, controller.ReasonChildConflict) {
		t.Errorf("event %q", e)
	}

	// The squatter goes; the next sync creates the VirtualService and clears the condition.
	if err := f.Istio.NetworkingV1().VirtualServices("ns").Delete(context.Background(), "t", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.ctl.c.IstioInformers.Networking().V1().VirtualServices().Informer().GetIndexer().Delete(squatter); err != nil {
		t.Fatal(err)
	}
	// The cache catches up with the status written by the first sync.
	if err := f.ctl.c.SMEInformers.Sme().V1alpha1().CAPTenants().Informer().GetIndexer().Update(got); err != nil {
		t.Fatal(err)
	}
	if err := f.ctl.sync(context.Background(), key); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	got, _ = f.SME.SmeV1alpha1().CAPTenants("ns").Get(context.Background(), "t", metav1.GetOptions{})
	if c := meta.FindStatusCondition(got.Status.Conditions, ConditionTypeNetworkingReady); c != nil {
		t.Errorf("NetworkingReady still set: %+v", c)
	}
	if _, err := f.Istio.NetworkingV1().VirtualServices("ns").Get(context.Background(), "t", metav1.GetOptions{}); err != nil {
		t.Errorf("VirtualService not created: %v", err)
	}
}

// TestCompletionEventsFoldPerApplication checks that the completions of two tenants record the
// same event (about the application, without the tenant's name), which the event recorder
// folds into one Event with a count, while a failure stays about its tenant.
func TestCompletionEventsFoldPerApplication(t *testing.T) {
	event := func(name string, reason string) string {
		cat := testTenant(v1alpha1.CAPTenantStateProvisioning, "")
		cat.Name, cat.UID = name, types.UID("uid-"+name)
		op := testOp(1, "provisioning", reason)
		op.Name = name + "-op1"
		op.Labels[v1alpha1.LabelOwnerIdentifierHash] = identity.OwnerHash("ns", name)
		op.Annotations[v1alpha1.AnnotationOwnerIdentifier] = "ns." + name
		f := newFixture(t, testCA(), testDomain(), testCAV("1"), cat, op)
		if err := f.ctl.sync(context.Background(), cache.ObjectName{Namespace: "ns", Name: name}); err != nil {
			t.Fatalf("sync: %v", err)
		}
		events := f.Events()
		if len(events) != 1 {
			t.Fatalf("events %v, want 1", events)
		}
		return events[0]
	}
	a, b := event("t1", tenant.ReasonStepCompleted), event("t2", tenant.ReasonStepCompleted)
	if a != b || strings.Contains(a, "t1") {
		t.Errorf("completion events %q and %q, want one note without the tenant", a, b)
	}
	if failed := event("t3", tenant.ReasonStepFailed); !strings.Contains(failed, "t3-op1") || !strings.HasPrefix(failed, "Warning") {
		t.Errorf("failure event %q, want a Warning naming the tenant's operation", failed)
	}
}
