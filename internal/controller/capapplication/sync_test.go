package capapplication

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// syncCA is a prepared application (finalizer and identity present, so prepare writes
// nothing) with one binding Secret and one Domain.
func syncCA(mutate ...func(*v1alpha1.CAPApplication)) *v1alpha1.CAPApplication {
	ca := &v1alpha1.CAPApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns", UID: "uid-app", Generation: 1,
			Finalizers:  []string{v1alpha1.FinalizerCAPApplication},
			Labels:      map[string]string{v1alpha1.LabelAppIdentifierHash: "h"},
			Annotations: map[string]string{v1alpha1.AnnotationAppIdentifier: "id"}},
		Spec: v1alpha1.CAPApplicationSpec{BTPAppName: "btp-app", GlobalAccountId: "ga",
			DomainRefs: []v1alpha1.DomainRef{{Kind: v1alpha1.DomainRefKindDomain, Name: "primary"}},
			BTP:        v1alpha1.BTP{Services: []v1alpha1.ServiceInfo{{Name: "xsuaa", Secret: "xsuaa-bind", Class: "xsuaa"}}}},
	}
	for _, m := range mutate {
		m(ca)
	}
	return ca
}

// syncSecret is a binding Secret of syncCA.
func syncSecret(name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Data: map[string][]byte{"credentials": []byte("{}")}}
}

// syncDomain is the Domain of syncCA, Ready unless told otherwise.
func syncDomain(state v1alpha1.DomainState) *v1alpha1.Domain {
	return &v1alpha1.Domain{
		ObjectMeta: metav1.ObjectMeta{Name: "primary", Namespace: "ns"},
		Spec:       v1alpha1.DomainSpec{Domain: "example.com"},
		Status: v1alpha1.DomainStatus{State: state, GatewayName: "primary-gw",
			GenericStatus: v1alpha1.GenericStatus{Conditions: []metav1.Condition{{Type: "Ready", Status: readyStatus(state)}}}},
	}
}

// readyStatus is the Ready condition status matching a domain state.
func readyStatus(state v1alpha1.DomainState) metav1.ConditionStatus {
	if state == v1alpha1.DomainStateReady {
		return metav1.ConditionTrue
	}
	return metav1.ConditionFalse
}

// syncTenant is a tenant of syncCA.
func syncTenant(name string, provider bool) *v1alpha1.CAPTenant {
	t := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: map[string]string{}},
		Spec:       v1alpha1.CAPTenantSpec{CAPApplicationInstance: "app"},
	}
	if provider {
		t.Labels[v1alpha1.LabelTenantType] = v1alpha1.TenantTypeProvider
	}
	return t
}

// syncCAV is a Ready version of syncCA running only a CAP backend (so the application is
// services-only).
func syncCAV() *v1alpha1.CAPApplicationVersion {
	return &v1alpha1.CAPApplicationVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "app-cav", Namespace: "ns", UID: "uid-cav"},
		Spec: v1alpha1.CAPApplicationVersionSpec{CAPApplicationInstance: "app", Version: "1.0.0",
			Workloads: []v1alpha1.WorkloadDetails{{Name: "cap", DeploymentDefinition: &v1alpha1.DeploymentDetails{Type: v1alpha1.DeploymentCAP}}}},
		Status: v1alpha1.CAPApplicationVersionStatus{State: v1alpha1.CAPApplicationVersionStateReady,
			GenericStatus: v1alpha1.GenericStatus{Conditions: []metav1.Condition{{Type: v1alpha1.ConditionTypeReady, Status: metav1.ConditionTrue}}}},
	}
}

// deleting marks an application as being deleted.
func deleting(ca *v1alpha1.CAPApplication) {
	ca.DeletionTimestamp = &metav1.Time{Time: controllertest.T0}
}

func TestSync(t *testing.T) {
	tests := map[string]struct {
		// setup
		objects []runtime.Object
		// then, when set, runs a second sync after the application the first one wrote,
		// changed by then, is back in the cache; the expectations are of the second sync.
		then func(*v1alpha1.CAPApplication)

		// expectations
		wantWrites  []string
		wantState   v1alpha1.CAPApplicationState // of the status written; "" when none is
		wantReady   bool                         // the written Ready condition is True
		wantReason  string                       // of the written Ready condition
		wantMessage string                       // a substring of the written Ready message
		wantAbsent  string                       // a condition type the written status lacks
		wantEvent   string                       // a substring of a recorded event
		wantErr     bool
	}{
		"no account identifies the application": {
			objects:     []runtime.Object{syncCA(func(ca *v1alpha1.CAPApplication) { ca.Spec.GlobalAccountId = "" })},
			wantWrites:  []string{"update capapplications/status"},
			wantState:   v1alpha1.CAPApplicationStateError,
			wantReason:  ReasonMissingAccount,
			wantMessage: "spec.providerSubaccountId or spec.globalAccountId",
		},
		"a new application gets finalizer and identity first": {
			objects: []runtime.Object{syncCA(func(ca *v1alpha1.CAPApplication) {
				ca.Finalizers, ca.Labels, ca.Annotations = nil, nil, nil
			}), syncDomain(v1alpha1.DomainStateReady), syncSecret("xsuaa-bind")},
			wantWrites: []string{"update capapplications", "update capapplications/status"},
			wantState:  v1alpha1.CAPApplicationStateProcessing,
			wantReason: ReasonWaitingForReadyCAV,
		},
		"waits for a missing binding Secret": {
			objects:     []runtime.Object{syncCA(), syncDomain(v1alpha1.DomainStateReady), syncSecret("unrelated")},
			wantWrites:  []string{"update capapplications/status"},
			wantState:   v1alpha1.CAPApplicationStateProcessing,
			wantReason:  ReasonProcessingSecrets,
			wantMessage: "waiting for the binding secrets [xsuaa-bind]",
			wantEvent:   "MissingSecrets",
		},
		"names every missing binding Secret": {
			objects: []runtime.Object{syncCA(func(ca *v1alpha1.CAPApplication) {
				ca.Spec.BTP.Services = append(ca.Spec.BTP.Services, v1alpha1.ServiceInfo{Name: "saas", Secret: "saas-bind", Class: "saas-registry"})
			}), syncDomain(v1alpha1.DomainStateReady)},
			wantWrites:  []string{"update capapplications/status"},
			wantState:   v1alpha1.CAPApplicationStateProcessing,
			wantReason:  ReasonProcessingSecrets,
			wantMessage: "[xsuaa-bind saas-bind]",
		},
		"waits for a missing domain": {
			objects:    []runtime.Object{syncCA(), syncSecret("xsuaa-bind")},
			wantWrites: []string{"update capapplications/status"},
			wantState:  v1alpha1.CAPApplicationStateProcessing,
			wantReason: ReasonProcessingDomainRefs,
			wantEvent:  "MissingDomainReferences",
		},
		"waits for a Ready version": {
			objects:     []runtime.Object{syncCA(), syncSecret("xsuaa-bind"), syncDomain(v1alpha1.DomainStateReady)},
			wantWrites:  []string{"update capapplications/status"},
			wantState:   v1alpha1.CAPApplicationStateProcessing,
			wantReason:  ReasonWaitingForReadyCAV,
			wantMessage: "waiting for a Ready CAPApplicationVersion",
		},
		// A removal alone is a change of the status: it is written.
		"a services-only application loses a stale AllTenantsReady": {
			objects: []runtime.Object{syncCA(), syncSecret("xsuaa-bind"), syncDomain(v1alpha1.DomainStateReady), syncCAV()},
			then: func(ca *v1alpha1.CAPApplication) {
				meta.SetStatusCondition(&ca.Status.Conditions, cond(v1alpha1.ConditionTypeAllTenantsReady, true, ReasonAllTenantsReady, "all tenants are Ready"))
			},
			wantWrites:  []string{"update capapplications/status"},
			wantState:   v1alpha1.CAPApplicationStateConsistent,
			wantReady:   true,
			wantReason:  ReasonVersionExists,
			wantMessage: "version 1.0.0 is Ready",
			wantAbsent:  v1alpha1.ConditionTypeAllTenantsReady,
		},
		"deletion is blocked while consumer tenants exist": {
			objects:     []runtime.Object{syncCA(deleting), syncTenant("consumer-1", false), syncTenant("consumer-2", false)},
			wantWrites:  []string{"update capapplications/status"},
			wantState:   v1alpha1.CAPApplicationStateDeleting,
			wantReason:  ReasonTenantsExist,
			wantMessage: "2 consumer tenants are still subscribed",
		},
		"deletion deletes the provider tenant and waits for it": {
			objects:     []runtime.Object{syncCA(deleting), syncTenant("app-provider", true)},
			wantWrites:  []string{"delete captenants", "update capapplications/status"},
			wantState:   v1alpha1.CAPApplicationStateDeleting,
			wantReason:  ReasonDeleteTriggered,
			wantMessage: "provider tenant",
		},
		"deletion without tenants removes the finalizer": {
			objects:    []runtime.Object{syncCA(deleting)},
			wantWrites: []string{"update capapplications"},
		},
		"an application without finalizer is left to be deleted": {
			objects: []runtime.Object{syncCA(deleting, func(ca *v1alpha1.CAPApplication) { ca.Finalizers = []string{"other"} })},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := controllertest.NewFake(t, controllertest.DefaultOptions("op"), tc.objects...)
			ctl, err := NewController(f.Context)
			if err != nil {
				t.Fatal(err)
			}
			key := cache.ObjectName{Namespace: "ns", Name: "app"}
			if tc.then != nil {
				if err := ctl.sync(context.Background(), key); err != nil {
					t.Fatalf("first sync: %v", err)
				}
				written := lastStatus(t, f)
				tc.then(written)
				f.AddToCache(t, written)
				f.ClearActions()
				f.Events()
			}
			err = ctl.sync(context.Background(), key)
			if (err != nil) != tc.wantErr {
				t.Fatalf("sync error = %v, want error %v", err, tc.wantErr)
			}
			if got := f.Writes(); !slices.Equal(got, tc.wantWrites) {
				t.Errorf("writes = %q, want %q", got, tc.wantWrites)
			}
			if tc.wantState != "" {
				ready := metav1.ConditionFalse
				if tc.wantReady {
					ready = metav1.ConditionTrue
				}
				ca := checkStatus(t, f, tc.wantState, ready, tc.wantReason, tc.wantMessage)
				if tc.wantAbsent != "" && meta.FindStatusCondition(ca.Status.Conditions, tc.wantAbsent) != nil {
					t.Errorf("the written status still has the condition %s", tc.wantAbsent)
				}
			}
			if tc.wantEvent != "" && !slices.ContainsFunc(f.Events(), func(e string) bool { return strings.Contains(e, tc.wantEvent) }) {
				t.Errorf("no event %q recorded", tc.wantEvent)
			}
		})
	}
}

// lastStatus returns the application of the last status write of the sync.
func lastStatus(t *testing.T, f *controllertest.Fake) *v1alpha1.CAPApplication {
	t.Helper()
	ca := f.Written(t, "update", "capapplications", 0).(*v1alpha1.CAPApplication)
	for _, a := range f.Actions() {
		if a.GetSubresource() == "status" {
			ca = a.(interface{ GetObject() runtime.Object }).GetObject().(*v1alpha1.CAPApplication)
		}
	}
	return ca.DeepCopy()
}

// checkStatus checks the status written by the sync and returns the written application.
func checkStatus(t *testing.T, f *controllertest.Fake, state v1alpha1.CAPApplicationState, readyStatus metav1.ConditionStatus, reason, message string) *v1alpha1.CAPApplication {
	t.Helper()
	ca := lastStatus(t, f)
	if ca.Status.State != state {
		t.Errorf("state = %q, want %q", ca.Status.State, state)
	}
	ready := meta.FindStatusCondition(ca.Status.Conditions, v1alpha1.ConditionTypeReady)
	if ready == nil {
		t.Fatal("no Ready condition written")
	}
	if ready.Status != readyStatus || ready.Reason != reason || !strings.Contains(ready.Message, message) {
		t.Errorf("Ready = %s/%s %q, want %s/%s containing %q", ready.Status, ready.Reason, ready.Message, readyStatus, reason, message)
	}
	if ready.ObservedGeneration != ca.Generation {
		t.Errorf("Ready observedGeneration = %d, want %d", ready.ObservedGeneration, ca.Generation)
	}
	return ca
}

// TestSyncWaitingWritesOnce checks that a second sync of an application still waiting for its
// Secret writes nothing and records no second event.
func TestSyncWaitingWritesOnce(t *testing.T) {
	f := controllertest.NewFake(t, controllertest.DefaultOptions("op"), syncCA(), syncDomain(v1alpha1.DomainStateReady))
	ctl, err := NewController(f.Context)
	if err != nil {
		t.Fatal(err)
	}
	key := cache.ObjectName{Namespace: "ns", Name: "app"}
	if err := ctl.sync(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	written := f.Written(t, "update", "capapplications", 0)
	f.AddToCache(t, written)
	f.ClearActions()
	f.Events()
	if err := ctl.sync(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if w := f.Writes(); len(w) != 0 {
		t.Errorf("second sync wrote %q, want nothing", w)
	}
	if e := f.Events(); len(e) != 0 {
		t.Errorf("second sync recorded %q, want nothing", e)
	}
}

// TestSyncReturnsLookupErrors checks that a failed cache lookup is returned for a retry with
// backoff rather than read as "no tenants", which would remove the finalizer of an
// application whose tenants still exist.
func TestSyncReturnsLookupErrors(t *testing.T) {
	f := controllertest.NewFake(t, controllertest.DefaultOptions("op"), syncCA(deleting), syncTenant("consumer", false))
	ctl, err := NewController(f.Context)
	if err != nil {
		t.Fatal(err)
	}
	// An indexer without the by-application index makes every lookup fail.
	ctl.tenantIndex = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if err := ctl.sync(context.Background(), cache.ObjectName{Namespace: "ns", Name: "app"}); err == nil {
		t.Error("sync succeeded although the tenant lookup failed")
	}
	if w := f.Writes(); len(w) != 0 {
		t.Errorf("writes = %q, want none", w)
	}
}
