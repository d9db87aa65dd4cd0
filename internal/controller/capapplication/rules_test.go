package capapplication

import (
	"context"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smefake "github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
)

// testTenant builds a tenant for the tables below.
func testTenant(name, version string, state v1alpha1.CAPTenantState, strategy v1alpha1.VersionUpgradeStrategy, current string) *v1alpha1.CAPTenant {
	return &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:       v1alpha1.CAPTenantSpec{CAPApplicationInstance: "app", Version: version, VersionUpgradeStrategy: strategy},
		Status:     v1alpha1.CAPTenantStatus{State: state, CurrentCAPApplicationVersionInstance: current},
	}
}

func TestTenantUpgradeRules(t *testing.T) {
	latest := &v1alpha1.CAPApplicationVersion{ObjectMeta: metav1.ObjectMeta{Name: "cav-2"}, Spec: v1alpha1.CAPApplicationVersionSpec{Version: "2.0.0"}}
	tests := map[string]struct {
		tenant      *v1alpha1.CAPTenant
		wantUpgrade bool
		wantReady   bool
	}{
		"ready on an older version":    {tenant: testTenant("t", "1.0.0", v1alpha1.CAPTenantStateReady, "", "cav-1"), wantUpgrade: true},
		"new consumer without version": {tenant: testTenant("t", "", "", "", ""), wantUpgrade: true},
		"strategy never stays":         {tenant: testTenant("t", "1.0.0", v1alpha1.CAPTenantStateReady, v1alpha1.VersionUpgradeStrategyNever, "cav-1"), wantReady: true},
		"provisioning is left alone":   {tenant: testTenant("t", "1.0.0", v1alpha1.CAPTenantStateProvisioning, "", "")},
		"upgrading is left alone":      {tenant: testTenant("t", "1.0.0", v1alpha1.CAPTenantStateUpgrading, "", "cav-1")},
		"deleting is left alone":       {tenant: testTenant("t", "1.0.0", v1alpha1.CAPTenantStateDeleting, "", "cav-1")},
		"failed upgrade is retried":    {tenant: testTenant("t", "1.0.0", v1alpha1.CAPTenantStateUpgradeError, "", "cav-1"), wantUpgrade: true},
		"targets latest, not current":  {tenant: testTenant("t", "2.0.0", v1alpha1.CAPTenantStateReady, v1alpha1.VersionUpgradeStrategyAlways, "cav-1")},
		"ready on latest":              {tenant: testTenant("t", "2.0.0", v1alpha1.CAPTenantStateReady, "", "cav-2"), wantReady: true},
		"error on latest is not ready": {tenant: testTenant("t", "2.0.0", v1alpha1.CAPTenantStateUpgradeError, "", "cav-1")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := needsUpgrade(tc.tenant, latest); got != tc.wantUpgrade {
				t.Errorf("needsUpgrade = %v, want %v", got, tc.wantUpgrade)
			}
			if got := tenantReady(tc.tenant, latest); got != tc.wantReady {
				t.Errorf("tenantReady = %v, want %v", got, tc.wantReady)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1", "1.0.0", 0}, {"2.0.1", "2.0.0", 1}, {"1.10.0", "1.9.0", 1}, {"1.0.0-rc.1", "1.0.0", -1}, {"3.2.1", "10", -1},
	}
	for _, tc := range tests {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestServicesOnly(t *testing.T) {
	job := func(typ v1alpha1.JobType) v1alpha1.WorkloadDetails {
		return v1alpha1.WorkloadDetails{Name: string(typ), JobDefinition: &v1alpha1.JobDetails{Type: typ}}
	}
	tests := map[string]struct {
		provider  *v1alpha1.BTPTenantIdentification
		workloads []v1alpha1.WorkloadDetails
		want      bool
	}{
		"content jobs only":         {workloads: []v1alpha1.WorkloadDetails{job(v1alpha1.JobContent)}, want: true},
		"tenant operation":          {workloads: []v1alpha1.WorkloadDetails{job(v1alpha1.JobTenantOperation)}},
		"custom tenant operation":   {workloads: []v1alpha1.WorkloadDetails{job(v1alpha1.JobCustomTenantOperation)}},
		"provider makes it tenants": {provider: &v1alpha1.BTPTenantIdentification{TenantId: "p"}},
		"CAP and Router without tenant operation workload": {workloads: []v1alpha1.WorkloadDetails{
			{Name: "srv", DeploymentDefinition: &v1alpha1.DeploymentDetails{Type: v1alpha1.DeploymentCAP}},
			{Name: "router", DeploymentDefinition: &v1alpha1.DeploymentDetails{Type: v1alpha1.DeploymentRouter}}, job(v1alpha1.JobContent)}},
		"CAP and service deployments without router": {workloads: []v1alpha1.WorkloadDetails{
			{Name: "srv", DeploymentDefinition: &v1alpha1.DeploymentDetails{Type: v1alpha1.DeploymentCAP}},
			{Name: "api", DeploymentDefinition: &v1alpha1.DeploymentDetails{Type: v1alpha1.DeploymentService}}}, want: true},
	}
	for name, tc := range tests {
		ca := &v1alpha1.CAPApplication{Spec: v1alpha1.CAPApplicationSpec{Provider: tc.provider}}
		cav := &v1alpha1.CAPApplicationVersion{Spec: v1alpha1.CAPApplicationVersionSpec{Workloads: tc.workloads}}
		if got := workload.ServicesOnly(ca, cav); got != tc.want {
			t.Errorf("%s: servicesOnly = %v, want %v", name, got, tc.want)
		}
	}
}

func TestComputeStatusKeepsStateAndSetsGeneration(t *testing.T) {
	ca := &v1alpha1.CAPApplication{ObjectMeta: metav1.ObjectMeta{Generation: 7}, Status: v1alpha1.CAPApplicationStatus{State: v1alpha1.CAPApplicationStateError}}
	st := computeStatus(ca, notReady("", ReasonProcessingSecrets, "waiting"), []string{"a"})
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeReady)
	if st.State != v1alpha1.CAPApplicationStateError || c.Reason != ReasonProcessingSecrets || c.ObservedGeneration != 7 || st.ObservedGeneration != 7 {
		t.Fatalf("status %+v", st)
	}
	fresh := computeStatus(&v1alpha1.CAPApplication{}, notReady("", ReasonProcessingSecrets, "waiting"), nil)
	if fresh.State != v1alpha1.CAPApplicationStateProcessing {
		t.Errorf("a new application waiting for secrets is %q, want Processing", fresh.State)
	}
}

func TestSetTenantVersionsRetriesConflictsPerTenant(t *testing.T) {
	var objs []runtime.Object
	var tenants []*v1alpha1.CAPTenant
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		tn := testTenant(name, "1.0.0", v1alpha1.CAPTenantStateReady, "", "cav-1")
		objs, tenants = append(objs, tn), append(tenants, tn)
	}
	client := smefake.NewSimpleClientset(objs...)
	var mu sync.Mutex
	conflicts := map[string]int{}
	client.PrependReactor("update", "captenants", func(action clienttesting.Action) (bool, runtime.Object, error) {
		name := action.(clienttesting.UpdateAction).GetObject().(*v1alpha1.CAPTenant).Name
		mu.Lock()
		defer mu.Unlock()
		if name == "c" && conflicts[name] < 2 {
			conflicts[name]++
			return true, nil, apierrors.NewConflict(v1alpha1.Resource("captenants"), name, nil)
		}
		return false, nil, nil
	})
	ctl := &Controller{c: &controller.Context{Clients: &kube.Clients{SME: client}, Recorder: events.NewFakeRecorder(100)}}
	if err := ctl.setTenantVersions(context.Background(), tenants, "2.0.0"); err != nil {
		t.Fatalf("setTenantVersions: %v", err)
	}
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		got, err := client.SmeV1alpha1().CAPTenants("ns").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || got.Spec.Version != "2.0.0" {
			t.Errorf("tenant %s: version %q (%v), want 2.0.0", name, got.Spec.Version, err)
		}
	}
	updates := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "update" {
			updates++
		}
	}
	if updates != 7 { // five updates plus two conflicting attempts on c; nobody else retried
		t.Errorf("%d update calls, want 7", updates)
	}
}
