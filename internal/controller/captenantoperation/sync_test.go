package captenantoperation

import (
	"context"
	"testing"

	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	istioinformers "istio.io/client-go/pkg/informers/externalversions"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smefake "github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
	smeinformers "github.com/capstan-io/capstan/pkg/client/informers/externalversions"
)

// fixture holds a controller on fake clients whose informer caches are seeded by hand.
type fixture struct {
	ctl  *Controller
	kube *kubefake.Clientset
	sme  *smefake.Clientset
}

// newFixture builds the controller; objects go into the fake clients and the caches.
func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	var kubeObjs, smeObjs []runtime.Object
	for _, o := range objs {
		switch o.(type) {
		case *corev1.Secret, *batchv1.Job:
			kubeObjs = append(kubeObjs, o)
		default:
			smeObjs = append(smeObjs, o)
		}
	}
	f := &fixture{kube: kubefake.NewClientset(kubeObjs...), sme: smefake.NewSimpleClientset(smeObjs...)}
	scheme := runtime.NewScheme()
	_ = metav1.AddMetaToScheme(scheme)
	c := &controller.Context{
		Clients:         &kube.Clients{Kube: f.kube, SME: f.sme, Istio: istiofake.NewSimpleClientset()},
		SMEInformers:    smeinformers.NewSharedInformerFactory(f.sme, 0),
		OwnedInformers:  informers.NewSharedInformerFactory(f.kube, 0),
		SecretInformers: metadatainformer.NewSharedInformerFactory(metadatafake.NewSimpleMetadataClient(scheme), 0),
		IstioInformers:  istioinformers.NewSharedInformerFactory(istiofake.NewSimpleClientset(), 0),
		Recorder:        events.NewFakeRecorder(100),
		Clock:           clocktesting.NewFakeClock(t0),
		Metrics:         controller.NewMetrics(true),
	}
	ctl, err := NewController(c)
	if err != nil {
		t.Fatal(err)
	}
	f.ctl = ctl
	sme := c.SMEInformers.Sme().V1alpha1()
	for _, o := range objs {
		var indexer cache.Indexer
		switch x := o.(type) {
		case *v1alpha1.CAPApplication:
			indexer = sme.CAPApplications().Informer().GetIndexer()
		case *v1alpha1.CAPApplicationVersion:
			indexer = sme.CAPApplicationVersions().Informer().GetIndexer()
		case *v1alpha1.CAPTenant:
			indexer = sme.CAPTenants().Informer().GetIndexer()
		case *v1alpha1.CAPTenantOperation:
			indexer = sme.CAPTenantOperations().Informer().GetIndexer()
		case *batchv1.Job:
			indexer = c.OwnedInformers.Batch().V1().Jobs().Informer().GetIndexer()
		case *corev1.Secret:
			indexer = c.SecretInformers.ForResource(secretsGVR).Informer().GetIndexer()
			o = &metav1.PartialObjectMetadata{ObjectMeta: x.ObjectMeta}
		}
		if err := indexer.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// writes returns the verbs and resources of the write calls, in order.
func (f *fixture) writes() []string {
	var out []string
	for _, a := range append(f.kube.Actions(), f.sme.Actions()...) {
		switch a.GetVerb() {
		case "get", "list", "watch":
			continue
		}
		w := a.GetVerb() + " " + a.GetResource().Resource
		if a.GetSubresource() != "" {
			w += "/" + a.GetSubresource()
		}
		out = append(out, w)
	}
	return out
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
	cases := map[string]struct {
		// operation and cluster setup
		op   *v1alpha1.CAPTenantOperation
		jobs []*batchv1.Job
		// expectations
		writes  []string
		state   v1alpha1.CAPTenantOperationState
		reason  string
		step    uint32
		jobName string
	}{
		"first step gets its VCAP secret and job, status written once": {
			op:     base,
			writes: []string{"create secrets", "create jobs", "update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateProcessing, reason: tenant.ReasonStepInitiated, step: 1, jobName: "t-abcde-mtx",
		},
		"running job costs nothing": {
			op: started(base, 1), jobs: []*batchv1.Job{jobFor(base, 0, "")},
			state: v1alpha1.CAPTenantOperationStateProcessing, reason: tenant.ReasonStepInitiated, step: 1, jobName: "t-abcde-mtx",
		},
		"completed step starts the next in the same write": {
			op: started(base, 1), jobs: []*batchv1.Job{jobFor(base, 0, batchv1.JobComplete)},
			writes: []string{"create jobs", "update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateProcessing, reason: tenant.ReasonStepInitiated, step: 2, jobName: "t-abcde-notify",
		},
		"completed last step completes the operation": {
			op: started(base, 2), jobs: []*batchv1.Job{jobFor(base, 0, batchv1.JobComplete), jobFor(base, 1, batchv1.JobComplete)},
			writes: []string{"update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateCompleted, reason: tenant.ReasonStepCompleted,
		},
		"failed step fails the operation": {
			op: started(base, 1), jobs: []*batchv1.Job{jobFor(base, 0, batchv1.JobFailed)},
			writes: []string{"update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateFailed, reason: tenant.ReasonStepFailed, step: 1, jobName: "t-abcde-mtx",
		},
		"failed step with continueOnFailure is skipped": {
			op: started(base, 2), jobs: []*batchv1.Job{jobFor(base, 0, batchv1.JobComplete), jobFor(base, 1, batchv1.JobFailed)},
			writes: []string{"update captenantoperations/status"},
			state:  v1alpha1.CAPTenantOperationStateCompleted, reason: tenant.ReasonStepCompleted,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			objs := append(fixtures(), tc.op)
			for _, j := range tc.jobs {
				objs = append(objs, j)
			}
			f := newFixture(t, objs...)
			if err := f.ctl.sync(context.Background(), cache.MetaObjectToName(tc.op)); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := f.writes(); !equalStrings(got, tc.writes) {
				t.Errorf("writes %v, want %v", got, tc.writes)
			}
			got, _ := f.sme.SmeV1alpha1().CAPTenantOperations("ns").Get(context.Background(), tc.op.Name, metav1.GetOptions{})
			ready := got.Status.Conditions[0]
			if got.Status.State != tc.state || ready.Reason != tc.reason {
				t.Errorf("state %s reason %s (%s), want %s %s", got.Status.State, ready.Reason, ready.Message, tc.state, tc.reason)
			}
			if ptr.Deref(got.Status.CurrentStep, 0) != tc.step || ptr.Deref(got.Status.ActiveJob, "") != tc.jobName {
				t.Errorf("step %d job %q, want %d %q", ptr.Deref(got.Status.CurrentStep, 0), ptr.Deref(got.Status.ActiveJob, ""), tc.step, tc.jobName)
			}
		})
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
