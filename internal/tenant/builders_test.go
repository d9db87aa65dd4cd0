package tenant

import (
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// t0 is the reference time of the tests.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// tenantOpt modifies a test tenant.
type tenantOpt func(*v1alpha1.CAPTenant)

// newTenant returns tenant "t" of app "app" asking for version spec.
func newTenant(version string, opts ...tenantOpt) *v1alpha1.CAPTenant {
	t := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns", UID: "uid-t"},
		Spec:       v1alpha1.CAPTenantSpec{CAPApplicationInstance: "app", Version: version},
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// current sets the tenant's current version, state and Ready reason.
func current(cav string, state v1alpha1.CAPTenantState, reason string) tenantOpt {
	return func(t *v1alpha1.CAPTenant) {
		t.Status.CurrentCAPApplicationVersionInstance = cav
		t.Status.State = state
		if reason != "" {
			t.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "True", Reason: reason}}
		}
	}
}

// deleting marks the tenant deleted.
func deleting() tenantOpt {
	return func(t *v1alpha1.CAPTenant) { now := metav1.NewTime(t0); t.DeletionTimestamp = &now }
}

// never sets the upgrade strategy never.
func never() tenantOpt {
	return func(t *v1alpha1.CAPTenant) { t.Spec.VersionUpgradeStrategy = v1alpha1.VersionUpgradeStrategyNever }
}

// newCAV returns a version "cav-<version>" in the given state with a CAP workload (which
// runs the tenant operations).
func newCAV(version string, state v1alpha1.CAPApplicationVersionState) *v1alpha1.CAPApplicationVersion {
	return &v1alpha1.CAPApplicationVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "cav-" + version, Namespace: "ns"},
		Spec: v1alpha1.CAPApplicationVersionSpec{CAPApplicationInstance: "app", Version: version,
			Workloads: []v1alpha1.WorkloadDetails{{Name: "cap", DeploymentDefinition: &v1alpha1.DeploymentDetails{Type: v1alpha1.DeploymentCAP}}}},
		Status: v1alpha1.CAPApplicationVersionStatus{State: state},
	}
}

// result is how a test operation ended ("" = still running).
type result string

const (
	running   result = ""
	succeeded result = ReasonStepCompleted
	failed    result = ReasonStepFailed
)

// newOp returns operation number seq of the given type toward cav, with its attempt, ended
// at finished.
func newOp(seq int, op v1alpha1.CAPTenantOperationType, cav string, res result, attempt int, finished time.Time) *v1alpha1.CAPTenantOperation {
	o := &v1alpha1.CAPTenantOperation{
		ObjectMeta: metav1.ObjectMeta{
			Name: "t-op" + strconv.Itoa(seq), Namespace: "ns",
			CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour)),
			Annotations:       map[string]string{AnnotationSequence: strconv.Itoa(seq), AnnotationAttempt: strconv.Itoa(attempt)},
		},
		Spec: v1alpha1.CAPTenantOperationSpec{Operation: op, CAPApplicationVersionInstance: cav},
	}
	if res != running {
		o.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "True", Reason: string(res), Message: "step 1/1 (mtx): job ns/j failed: BackoffLimitExceeded", LastTransitionTime: metav1.NewTime(finished)}}
	} else {
		o.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "False", Reason: ReasonStepInitiated}}
	}
	return o
}
