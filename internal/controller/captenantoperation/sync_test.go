package captenantoperation

import (
	"context"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// fixture holds a controller on fake clients whose informer caches are seeded by hand.
type fixture struct {
	*controllertest.Fake
	ctl *Controller
}

// newFixture builds the controller; objects go into the fake clients and the caches.
func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{Fake: controllertest.NewFake(t, controller.Options{}, objs...)}
	f.Context.Metrics = controller.NewMetrics(true)
	ctl, err := NewController(f.Context)
	if err != nil {
		t.Fatal(err)
	}
	f.ctl = ctl
	return f
}

// jobFor returns the Job of step i of op with the given terminal condition ("" = running).
func jobFor(op *v1alpha1.CAPTenantOperation, i int, cond batchv1.JobConditionType) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Name: tenant.JobName(op.Name, op.Spec.Steps, i), Namespace: op.Namespace,
		OwnerReferences: ownerRef(op),
	}}
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}
	}
	return j
}

// started sets an operation's status to step n running its Job.
func started(op *v1alpha1.CAPTenantOperation, n int) *v1alpha1.CAPTenantOperation {
	op = op.DeepCopy()
	name := tenant.JobName(op.Name, op.Spec.Steps, n-1)
	op.Status = computeStatus(op, outcome{reason: tenant.ReasonStepInitiated, message: stepMessage(op, n-1, "job ns/"+name+" created"), step: ptr.To(uint32(n)), job: ptr.To(name)})
	return op
}

func TestSync(t *testing.T) {
	base := newOperation(v1alpha1.CAPTenantOperationTypeProvisioning)
	cases := map[string]syncCase{
		"first step gets the shared VCAP secret and its job, no status write": {
			op:     base,
			writes: []string{"create secrets", "create jobs"},
		},
		"running job costs nothing": {
			op: base, jobs: []*batchv1.Job{jobFor(base, 0, "")},
		},
		"completed step starts the next without a status write": {
			op: base, jobs: []*batchv1.Job{jobFor(base, 0, batchv1.JobComplete)},
			writes: []string{"create jobs"},
		},
		"a step whose job is gone once the next started is not run again": {
			op: base, jobs: []*batchv1.Job{jobFor(base, 1, "")},
		},
		"completed last step completes the operation": {
			op: base, jobs: []*batchv1.Job{jobFor(base, 0, batchv1.JobComplete), jobFor(base, 1, batchv1.JobComplete)},
			writes: []string{"update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateCompleted, reason: tenant.ReasonStepCompleted,
		},
		"failed step fails the operation": {
			op: base, jobs: []*batchv1.Job{jobFor(base, 0, batchv1.JobFailed)},
			writes: []string{"update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateFailed, reason: tenant.ReasonStepFailed, step: 1, jobName: "t-abcde-mtx",
		},
		"failed step with continueOnFailure is skipped": {
			op: base, jobs: []*batchv1.Job{jobFor(base, 0, batchv1.JobComplete), jobFor(base, 1, batchv1.JobFailed)},
			writes: []string{"update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateCompleted, reason: tenant.ReasonStepCompleted,
		},
		"a status from before this version is kept current": {
			op: started(base, 1), jobs: []*batchv1.Job{jobFor(base, 0, batchv1.JobComplete)},
			writes: []string{"create jobs", "update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateProcessing, reason: tenant.ReasonStepInitiated, step: 2, jobName: "t-abcde-notify",
		},
	}
	for name, tc := range cases {
		t.Run(name, tc.run)
	}
}

// syncCase is one sync of an operation among Jobs and what it must write and leave.
type syncCase struct {
	// operation and cluster setup
	op   *v1alpha1.CAPTenantOperation
	jobs []*batchv1.Job
	// expectations
	writes  []string
	state   v1alpha1.CAPTenantOperationState
	reason  string
	step    uint32
	jobName string
}

// run syncs the case's operation and checks the writes and the resulting status.
func (tc syncCase) run(t *testing.T) {
	objs := append(fixtures(), tc.op)
	for _, j := range tc.jobs {
		objs = append(objs, j)
	}
	f := newFixture(t, objs...)
	if err := f.ctl.sync(context.Background(), cache.MetaObjectToName(tc.op)); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.Writes(); !equalStrings(got, tc.writes) {
		t.Errorf("writes %v, want %v", got, tc.writes)
	}
	got, err := f.SME.SmeV1alpha1().CAPTenantOperations("ns").Get(context.Background(), tc.op.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := metav1.Condition{}
	if c := meta.FindStatusCondition(got.Status.Conditions, "Ready"); c != nil {
		ready = *c
	}
	if got.Status.State != tc.state || ready.Reason != tc.reason {
		t.Errorf("state %s reason %s (%s), want %s %s", got.Status.State, ready.Reason, ready.Message, tc.state, tc.reason)
	}
	if ptr.Deref(got.Status.CurrentStep, 0) != tc.step || ptr.Deref(got.Status.ActiveJob, "") != tc.jobName {
		t.Errorf("step %d job %q, want %d %q", ptr.Deref(got.Status.CurrentStep, 0), ptr.Deref(got.Status.ActiveJob, ""), tc.step, tc.jobName)
	}
}

// equalStrings compares string lists, nil equal to empty.
func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTenantJobsShareTheVCAPSecret counts the writes of two tenants' provisioning with one
// version: one VCAP_SERVICES Secret for both, owned by the version.
func TestTenantJobsShareTheVCAPSecret(t *testing.T) {
	a := newOperation(v1alpha1.CAPTenantOperationTypeProvisioning)
	b := a.DeepCopy()
	b.Name, b.UID = "t-fghij", "uid-op-b"
	f := newFixture(t, append(fixtures(), a, b)...)
	for _, op := range []*v1alpha1.CAPTenantOperation{a, b} {
		if err := f.ctl.sync(context.Background(), cache.MetaObjectToName(op)); err != nil {
			t.Fatalf("sync %s: %v", op.Name, err)
		}
	}
	if got, want := f.Writes(), []string{"create secrets", "create jobs", "create jobs"}; !equalStrings(got, want) {
		t.Errorf("writes %v, want %v", got, want)
	}
	secrets, err := f.Kube.CoreV1().Secrets("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var vcap *corev1.Secret
	for i := range secrets.Items {
		if owner := metav1.GetControllerOfNoCopy(&secrets.Items[i]); owner != nil && owner.Kind == "CAPApplicationVersion" {
			vcap = &secrets.Items[i]
		}
	}
	if vcap == nil {
		t.Fatal("no VCAP_SERVICES Secret owned by the version")
	}
	for _, name := range []string{"t-abcde-mtx", "t-fghij-mtx"} {
		job, err := f.Kube.BatchV1().Jobs("ns").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := workload.VCAPSecretOf(&job.Spec.Template.Spec); got != vcap.Name {
			t.Errorf("job %s injects %q, want %q", name, got, vcap.Name)
		}
	}
}

// TestOperationsOfEarlierVersions syncs operations as earlier versions created them, owned
// by their tenant and with the finalizer: a running one is released from its tenant (so a
// foreground deletion of the tenant cannot reach its Jobs) and runs on; a finished one that
// is deleted loses the finalizer. Operations created now cost no such write.
func TestOperationsOfEarlierVersions(t *testing.T) {
	deleted := func(op *v1alpha1.CAPTenantOperation) *v1alpha1.CAPTenantOperation {
		op.DeletionTimestamp = ptr.To(metav1.NewTime(t0))
		op.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "True", Reason: tenant.ReasonStepCompleted}}
		return op
	}
	cases := map[string]struct {
		op         *v1alpha1.CAPTenantOperation
		writes     []string
		finalizers int
	}{
		"running, owned by its tenant: the reference goes, the step starts": {
			op:     legacyOperation(v1alpha1.CAPTenantOperationTypeProvisioning),
			writes: []string{"create secrets", "create jobs", "update captenantoperations"}, finalizers: 1, // Kube's writes listed first
		},
		"finished and deleted, with the finalizer: it goes": {
			op:     deleted(legacyOperation(v1alpha1.CAPTenantOperationTypeProvisioning)),
			writes: []string{"update captenantoperations"},
		},
		"finished and deleted, created now: nothing to write": {
			op: deleted(newOperation(v1alpha1.CAPTenantOperationTypeProvisioning)),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, append(fixtures(), tc.op)...)
			if err := f.ctl.sync(context.Background(), cache.MetaObjectToName(tc.op)); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := f.Writes(); !equalStrings(got, tc.writes) {
				t.Errorf("writes %v, want %v", got, tc.writes)
			}
			got, err := f.SME.SmeV1alpha1().CAPTenantOperations("ns").Get(context.Background(), tc.op.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.OwnerReferences) != 0 && tc.op.DeletionTimestamp == nil {
				t.Errorf("owner references %v, want none", got.OwnerReferences)
			}
			if len(got.Finalizers) != tc.finalizers {
				t.Errorf("finalizers %v, want %d", got.Finalizers, tc.finalizers)
			}
		})
	}
}
