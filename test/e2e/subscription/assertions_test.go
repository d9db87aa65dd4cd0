package subscription

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/server/pending"
	"github.com/capstan-io/capstan/internal/server/servertest"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

// tenant returns the tenant with the BTP tenant id in the fixture's namespace (nil when none).
func (f *fixture) tenant(tenantID string) *v1alpha1.CAPTenant {
	f.t.Helper()
	return framework.TenantByID(f.t, f.sme, f.ns, tenantID)
}

// waitTenantState waits until the tenant with the tenant id reaches the state.
func (f *fixture) waitTenantState(tenantID string, state v1alpha1.CAPTenantState) *v1alpha1.CAPTenant {
	f.t.Helper()
	var cat *v1alpha1.CAPTenant
	testenv.Eventually(f.t, timeout, func() (bool, error) {
		cat = f.tenant(tenantID)
		if cat == nil {
			return false, fmt.Errorf("no tenant %s", tenantID)
		}
		return cat.Status.State == state, fmt.Errorf("tenant %s is %q: %s", cat.Name, cat.Status.State, readyMessage(cat.Status.Conditions))
	})
	return cat
}

// assertSubscribedTenant checks the tenant the server created for a subscription: the
// server's labels and annotations, and the subscription-context Secret holding the payload
// and owned by the tenant.
func (f *fixture) assertSubscribedTenant(cat *v1alpha1.CAPTenant, tenantID, guid, subdomain string) {
	t := f.t
	t.Helper()
	if cat == nil {
		t.Fatal("the server created no CAPTenant")
	}
	for k, v := range map[string]string{
		v1alpha1.LabelBTPTenantIdentifier: tenantID,
		v1alpha1.LabelSubscriptionGUID:    guid,
		v1alpha1.LabelTenantType:          v1alpha1.TenantTypeConsumer,
		v1alpha1.LabelAppIdentifierHash:   identity.AppHash(f.account, appName),
	} {
		if cat.Labels[k] != v {
			t.Errorf("tenant label %s = %q, want %q (labels %v)", k, cat.Labels[k], v, cat.Labels)
		}
	}
	if cat.Spec.CAPApplicationInstance != appName || cat.Spec.SubDomain != subdomain || cat.Spec.TenantId != tenantID {
		t.Errorf("tenant spec = %+v", cat.Spec)
	}
	if cat.Annotations[v1alpha1.AnnotationSubscriptionGUID] != guid {
		t.Errorf("tenant annotations = %v", cat.Annotations)
	}
	secret, err := f.kube.CoreV1().Secrets(f.ns).Get(context.Background(), cat.Annotations[v1alpha1.AnnotationSubscriptionContextSecret], metav1.GetOptions{})
	if err != nil {
		t.Fatalf("subscription-context Secret: %v", err)
	}
	var stored map[string]any
	if err := json.Unmarshal(secret.Data[v1alpha1.SubscriptionContextKey], &stored); err != nil {
		t.Errorf("stored payload: %v", err)
	}
	if !strings.Contains(string(secret.Data[v1alpha1.SubscriptionContextKey]), guid) {
		t.Errorf("stored payload %s lacks the subscription GUID %s", secret.Data[v1alpha1.SubscriptionContextKey], guid)
	}
	if len(secret.OwnerReferences) != 1 || secret.OwnerReferences[0].UID != cat.UID || secret.OwnerReferences[0].Kind != "CAPTenant" {
		t.Errorf("Secret owners = %+v, want the tenant", secret.OwnerReferences)
	}
}

// operations returns a tenant's operations, oldest first.
func (f *fixture) operations(cat *v1alpha1.CAPTenant) []v1alpha1.CAPTenantOperation {
	f.t.Helper()
	list, err := f.sme.SmeV1alpha1().CAPTenantOperations(f.ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(f.ns, cat.Name),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	ops := list.Items
	slices.SortFunc(ops, func(a, b v1alpha1.CAPTenantOperation) int {
		return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
	})
	return ops
}

// jobsOf returns the Jobs of an operation.
func (f *fixture) jobsOf(op *v1alpha1.CAPTenantOperation) []batchv1.Job {
	f.t.Helper()
	list, err := f.kube.BatchV1().Jobs(f.ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(op.Namespace, op.Name),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return list.Items
}

// assertProvisioned checks that the tenant was provisioned by exactly one Completed
// provisioning operation whose single Job (given the subscription payload) succeeded.
func (f *fixture) assertProvisioned(cat *v1alpha1.CAPTenant) {
	t := f.t
	t.Helper()
	ops := f.operations(cat)
	if len(ops) != 1 || ops[0].Spec.Operation != v1alpha1.CAPTenantOperationTypeProvisioning || ops[0].Status.State != v1alpha1.CAPTenantOperationStateCompleted {
		t.Fatalf("want one Completed provisioning operation, got %+v", ops)
	}
	jobs := f.jobsOf(&ops[0])
	if len(jobs) != 1 || !jobCondition(&jobs[0], batchv1.JobComplete) || jobs[0].Status.Succeeded < 1 {
		t.Fatalf("want one succeeded Job for %s, got %+v", ops[0].Name, jobs)
	}
	if !hasEnv(jobs[0].Spec.Template.Spec.Containers[0].Env, "CAPOP_SUBSCRIPTION_PAYLOAD") {
		t.Errorf("provisioning Job %s lacks the subscription payload", jobs[0].Name)
	}
}

// jobCondition reports whether a Job's condition of the type is true.
func jobCondition(job *batchv1.Job, typ batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// hasEnv reports whether env sets name.
func hasEnv(env []corev1.EnvVar, name string) bool {
	return slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.Name == name })
}

// readyMessage returns the message of an object's Ready condition.
func readyMessage(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, v1alpha1.ConditionTypeReady); c != nil {
		return c.Message
	}
	return ""
}

// records returns the pending-callback ConfigMaps of the namespace.
func (f *fixture) records() []corev1.ConfigMap {
	f.t.Helper()
	list, err := f.kube.CoreV1().ConfigMaps(f.ns).List(context.Background(), metav1.ListOptions{LabelSelector: pending.LabelCallback})
	if err != nil {
		f.t.Fatal(err)
	}
	return list.Items
}

// awaitCallback waits until the receiver got a callback for path and no pending-callback
// record is left, and fails if more than one arrived.
func (f *fixture) awaitCallback(path string) servertest.Callback {
	f.t.Helper()
	testenv.Eventually(f.t, timeout, func() (bool, error) {
		got := len(f.receiver.ForPath(path))
		if got > 1 {
			f.t.Fatalf("%d callbacks for %s, want 1: %+v", got, path, f.receiver.ForPath(path))
		}
		return got == 1 && len(f.records()) == 0, fmt.Errorf("%d callbacks for %s, %d pending records", got, path, len(f.records()))
	})
	return f.receiver.ForPath(path)[0]
}

// assertCallback checks a callback's method, token and body.
func (f *fixture) assertCallback(got servertest.Callback, want map[string]any) {
	f.t.Helper()
	if got.Method != http.MethodPut || got.Authorization != "Bearer "+servertest.AccessToken || got.ContentType != "application/json" {
		f.t.Errorf("callback = %s with Authorization %q, Content-Type %q", got.Method, got.Authorization, got.ContentType)
	}
	if !reflect.DeepEqual(got.Body, want) {
		f.t.Errorf("callback body = %v, want %v", got.Body, want)
	}
}

// assertNoCallback checks that nothing was received for path.
func (f *fixture) assertNoCallback(path string) {
	f.t.Helper()
	if got := f.receiver.ForPath(path); len(got) != 0 {
		f.t.Fatalf("unexpected callbacks for %s: %+v", path, got)
	}
}

// opWatch records the CAPTenantOperations of a namespace as they change.
type opWatch struct {
	mu   sync.Mutex
	seen []v1alpha1.CAPTenantOperation
}

// watchOperations records every version of every CAPTenantOperation of the namespace from
// now until the test ends, so that short-lived operations (a deprovisioning operation goes
// with its tenant) can be checked afterwards.
func (f *fixture) watchOperations() *opWatch {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := f.sme.SmeV1alpha1().CAPTenantOperations(f.ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		f.t.Fatal(err)
	}
	ow := &opWatch{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if op, ok := ev.Object.(*v1alpha1.CAPTenantOperation); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
				ow.mu.Lock()
				ow.seen = append(ow.seen, *op)
				ow.mu.Unlock()
			}
		}
	}()
	f.t.Cleanup(func() {
		w.Stop()
		cancel()
		<-done
	})
	return ow
}

// reached reports whether an operation of the type for the tenant id was seen in the state.
func (ow *opWatch) reached(tenantID string, typ v1alpha1.CAPTenantOperationType, state v1alpha1.CAPTenantOperationState) bool {
	ow.mu.Lock()
	defer ow.mu.Unlock()
	return slices.ContainsFunc(ow.seen, func(op v1alpha1.CAPTenantOperation) bool {
		return op.Spec.TenantId == tenantID && op.Spec.Operation == typ && op.Status.State == state
	})
}

// awaitDeprovisioned waits until the tenant is gone and the deprovisioning callback arrived.
// The callback must not arrive while the tenant exists, and a deprovisioning operation for
// the tenant must have completed.
func (f *fixture) awaitDeprovisioned(ops *opWatch, cat *v1alpha1.CAPTenant, path string) servertest.Callback {
	f.t.Helper()
	testenv.Eventually(f.t, timeout, func() (bool, error) {
		// The order matters: a callback seen before a tenant that still exists was too early.
		callbacks := len(f.receiver.ForPath(path))
		cur := f.tenant(cat.Spec.TenantId)
		if cur != nil && callbacks > 0 {
			f.t.Fatalf("deprovisioning callback sent while tenant %s still exists (state %s)", cur.Name, cur.Status.State)
		}
		return cur == nil && callbacks > 0, fmt.Errorf("tenant present: %v, %d callbacks", cur != nil, callbacks)
	})
	if !ops.reached(cat.Spec.TenantId, v1alpha1.CAPTenantOperationTypeDeprovisioning, v1alpha1.CAPTenantOperationStateCompleted) {
		f.t.Errorf("no Completed deprovisioning operation was seen for tenant %s", cat.Name)
	}
	return f.awaitCallback(path)
}
