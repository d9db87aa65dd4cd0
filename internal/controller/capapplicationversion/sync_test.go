package capapplicationversion

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// syncInput is the walk-through application and version in namespace ns, the version
// already prepared (finalizer, owner and identity present) so that prepare writes nothing.
func syncInput(t *testing.T) versionrender.Input {
	t.Helper()
	in := walkthrough(t)
	in.CA.Namespace, in.CAV.Namespace = "ns", "ns"
	f := controllertest.NewFake(t, controllertest.DefaultOptions("op"), in.CA, in.CAV)
	ctl, err := NewController(f.Context)
	if err != nil {
		t.Fatal(err)
	}
	if in.CAV, err = ctl.prepare(context.Background(), in.CAV, in.CA); err != nil {
		t.Fatal(err)
	}
	in.CAV.ResourceVersion = ""
	return in
}

// bindingSecrets returns the binding Secrets of an application.
func bindingSecrets(ca *v1alpha1.CAPApplication) []runtime.Object {
	var out []runtime.Object
	for _, s := range ca.Spec.BTP.Services {
		out = append(out, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s.Secret, Namespace: ca.Namespace},
			Data: map[string][]byte{"credentials": []byte(`{"clientid":"` + s.Name + `"}`)}})
	}
	return out
}

// versionTenant is a tenant of the walk-through application running version cav.
func versionTenant(cav *v1alpha1.CAPApplicationVersion) *v1alpha1.CAPTenant {
	return &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "consumer", Namespace: cav.Namespace},
		Spec:       v1alpha1.CAPTenantSpec{CAPApplicationInstance: cav.Spec.CAPApplicationInstance, Version: cav.Spec.Version},
		Status:     v1alpha1.CAPTenantStatus{State: v1alpha1.CAPTenantStateReady, CurrentCAPApplicationVersionInstance: cav.Name},
	}
}

func TestSync(t *testing.T) {
	tests := map[string]struct {
		// setup: edit changes the prepared versionrender.Input; objects returns what else exists.
		edit    func(in versionrender.Input)
		objects func(in versionrender.Input) []runtime.Object
		noApp   bool // the application is not created

		// expectations
		wantWrites  []string
		wantState   v1alpha1.CAPApplicationVersionState // of the status written; "" when none is
		wantReason  string
		wantMessage string // a substring of the Ready message
	}{
		"waits for its application": {
			noApp:       true,
			wantWrites:  []string{"update capapplicationversions/status"},
			wantState:   v1alpha1.CAPApplicationVersionStateError,
			wantReason:  "WaitingForCAPApplication",
			wantMessage: "CAPApplication ns/",
		},
		"a new version gets finalizer and owner first": {
			edit:       func(in versionrender.Input) { in.CAV.Finalizers, in.CAV.OwnerReferences = nil, nil },
			wantWrites: []string{"update capapplicationversions", "update capapplicationversions/status"},
			wantState:  v1alpha1.CAPApplicationVersionStateProcessing,
			wantReason: ReasonWaitingForSecrets,
		},
		"waits for missing binding Secrets": {
			wantWrites:  []string{"update capapplicationversions/status"},
			wantState:   v1alpha1.CAPApplicationVersionStateProcessing,
			wantReason:  ReasonWaitingForSecrets,
			wantMessage: "waiting for the binding secrets [cap-app-01-uaa-bind-cf",
		},
		"creates every child of a new version": {
			objects: func(in versionrender.Input) []runtime.Object { return bindingSecrets(in.CA) },
			// Writes are listed per clientset (built-in, sme.sap.com, Istio), each in order.
			wantWrites: []string{
				"create secrets", "create jobs", // content Job and its VCAP_SERVICES Secret
				"create secrets", "create deployments", "create services", // router
				"create secrets", "create deployments", "create services", // CAP server
				"create networkpolicies",
				"update capapplicationversions/status",
				"create destinationrules",
			},
			wantState:   v1alpha1.CAPApplicationVersionStateProcessing,
			wantReason:  ReasonWaitingForWorkloads,
			wantMessage: "waiting for deployment cav-cap-app-01-1-app-router",
		},
		"deletion is blocked while a tenant runs the version": {
			edit:        func(in versionrender.Input) { in.CAV.DeletionTimestamp = &metav1.Time{Time: controllertest.T0} },
			objects:     func(in versionrender.Input) []runtime.Object { return []runtime.Object{versionTenant(in.CAV)} },
			wantWrites:  []string{"update capapplicationversions/status"},
			wantState:   v1alpha1.CAPApplicationVersionStateDeleting,
			wantReason:  ReasonDeleteTriggered,
			wantMessage: "waiting for tenant consumer",
		},
		"deletion is blocked while a tenant targets the version": {
			edit: func(in versionrender.Input) { in.CAV.DeletionTimestamp = &metav1.Time{Time: controllertest.T0} },
			objects: func(in versionrender.Input) []runtime.Object {
				tenant := versionTenant(in.CAV)
				tenant.Status.CurrentCAPApplicationVersionInstance = "older"
				return []runtime.Object{tenant}
			},
			wantWrites: []string{"update capapplicationversions/status"},
			wantState:  v1alpha1.CAPApplicationVersionStateDeleting,
			wantReason: ReasonDeleteTriggered,
		},
		"deletion without tenants on it removes the finalizer": {
			edit: func(in versionrender.Input) { in.CAV.DeletionTimestamp = &metav1.Time{Time: controllertest.T0} },
			objects: func(in versionrender.Input) []runtime.Object {
				tenant := versionTenant(in.CAV)
				tenant.Spec.Version, tenant.Status.CurrentCAPApplicationVersionInstance = "9.9.9", "newer"
				return []runtime.Object{tenant}
			},
			wantWrites: []string{"update capapplicationversions"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := syncInput(t)
			if tc.edit != nil {
				tc.edit(in)
			}
			objs := []runtime.Object{in.CAV}
			if !tc.noApp {
				objs = append(objs, in.CA)
			}
			if tc.objects != nil {
				objs = append(objs, tc.objects(in)...)
			}
			f := controllertest.NewFake(t, controllertest.DefaultOptions("op"), objs...)
			ctl, err := NewController(f.Context)
			if err != nil {
				t.Fatal(err)
			}
			if err := ctl.sync(context.Background(), cache.MetaObjectToName(in.CAV)); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := f.Writes(); !slices.Equal(got, tc.wantWrites) {
				t.Errorf("writes = %q, want %q", got, tc.wantWrites)
			}
			if tc.wantState != "" {
				checkVersionStatus(t, f, tc.wantState, tc.wantReason, tc.wantMessage)
			}
		})
	}
}

// checkVersionStatus checks the status written by the sync.
func checkVersionStatus(t *testing.T, f *controllertest.Fake, state v1alpha1.CAPApplicationVersionState, reason, message string) {
	t.Helper()
	var cav *v1alpha1.CAPApplicationVersion
	for _, a := range f.Actions() {
		if a.GetSubresource() == "status" {
			cav = a.(interface{ GetObject() runtime.Object }).GetObject().(*v1alpha1.CAPApplicationVersion)
		}
	}
	if cav == nil {
		t.Fatal("no status written")
	}
	if cav.Status.State != state {
		t.Errorf("state = %q, want %q", cav.Status.State, state)
	}
	ready := meta.FindStatusCondition(cav.Status.Conditions, v1alpha1.ConditionTypeReady)
	if ready == nil || ready.Reason != reason || !strings.Contains(ready.Message, message) {
		t.Errorf("Ready = %+v, want reason %s and a message containing %q", ready, reason, message)
	}
}
