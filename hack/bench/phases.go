package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/hack/bench/measure"
	"github.com/capstan-io/capstan/internal/controller/versioncleanup"
	"github.com/capstan-io/capstan/internal/server"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

// parallelism is the number of concurrent requests the bench itself sends.
const parallelism = 32

// baseline creates as many bare Jobs as there are tenants and waits until all complete: the
// time the control plane itself needs for the Jobs the tenant operations run.
func (b *bench) baseline(ctx context.Context, r *report) error {
	var err error
	r.BareJobs, err = b.bareJobs(ctx, "baseline", 1)
	return err
}

// baselineTwoSteps is the baseline of an upgrade: two bare Jobs per tenant, the second
// created once the first completed, as an upgrade's two steps run.
func (b *bench) baselineTwoSteps(ctx context.Context, r *report) error {
	var err error
	r.BareJobsTwoSteps, err = b.bareJobs(ctx, "baseline-x2", 2)
	return err
}

// bareJobs runs, in a namespace of its own, a chain of steps bare Jobs per tenant (each
// created when the one before completed) and returns how long it took until all completed.
func (b *bench) bareJobs(ctx context.Context, ns string, steps int) (time.Duration, error) {
	if _, err := b.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	create := func(i, step int) error {
		_, err := b.kube.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("job-%05d-%d", i, step)},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
			}}},
		}, metav1.CreateOptions{})
		return err
	}
	start := time.Now()
	if err := runParallel(b.cfg.tenants, func(i int) error { return create(i, 1) }); err != nil {
		return 0, err
	}
	want := b.cfg.tenants * steps
	if err := b.poll(ctx, "bare jobs complete", func() (bool, string, error) {
		n, next := 0, []int{}
		created := map[string]bool{}
		for _, obj := range b.jobs.List() {
			if j := obj.(*batchv1.Job); j.Namespace == ns {
				created[j.Name] = true
			}
		}
		for _, obj := range b.jobs.List() {
			j := obj.(*batchv1.Job)
			if j.Namespace != ns || j.Status.Succeeded == 0 {
				continue
			}
			n++
			var i, step int
			if _, err := fmt.Sscanf(j.Name, "job-%05d-%d", &i, &step); err == nil && step < steps && !created[fmt.Sprintf("job-%05d-%d", i, step+1)] {
				next = append(next, i, step+1)
			}
		}
		err := runParallel(len(next)/2, func(k int) error {
			if err := create(next[2*k], next[2*k+1]); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			return nil
		})
		return n == want, fmt.Sprintf("%d/%d", n, want), err
	}); err != nil {
		return 0, err
	}
	took := time.Since(start)
	// The namespace must be gone before the next phase: deleting its Jobs and pods would
	// otherwise load the control plane while the operator is measured.
	policy := metav1.DeletePropagationBackground
	if err := b.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
		return took, err
	}
	return took, b.poll(ctx, "namespace "+ns+" deleted", func() (bool, string, error) {
		_, err := b.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, "", err
	})
}

// setup creates the namespace, ready domains, the walk-through application without a
// provider, its binding Secrets and the first version, and waits for the version to be Ready.
func (b *bench) setup(ctx context.Context, _ *report) error {
	// The namespace exists already: it holds the controller's ServiceAccount.
	if err := b.readyDomains(ctx); err != nil {
		return err
	}
	ca := &v1alpha1.CAPApplication{}
	if err := framework.DecodeExample("multitenant/capapplication.yaml", b.ns, ca); err != nil {
		return err
	}
	ca.Spec.Provider = nil
	ca.Spec.DomainRefs = ca.Spec.DomainRefs[:1]
	for _, svc := range ca.Spec.BTP.Services {
		fields := map[string]any{"url": "https://" + svc.Name + ".example.com", "xsappname": svc.Name}
		if c, ok := b.credentials[svc.Class]; ok {
			fields = c
		}
		creds, _ := json.Marshal(fields)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: svc.Secret, Namespace: b.ns}, StringData: map[string]string{"credentials": string(creds)}}
		if _, err := b.kube.CoreV1().Secrets(b.ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	if _, err := b.sme.SmeV1alpha1().CAPApplications(b.ns).Create(ctx, ca, metav1.CreateOptions{}); err != nil {
		return err
	}
	return b.createVersion(ctx, "multitenant/cav-v1.yaml")
}

// readyDomains creates the walk-through Domain with a Ready status: the domain controllers
// are not part of this measurement.
func (b *bench) readyDomains(ctx context.Context) error {
	dom := &v1alpha1.Domain{}
	if err := framework.DecodeExample("multitenant/domain.yaml", b.ns, dom); err != nil {
		return err
	}
	created, err := b.sme.SmeV1alpha1().Domains(b.ns).Create(ctx, dom, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	created.Status.State, created.Status.GatewayName = v1alpha1.DomainStateReady, "gateway"
	meta.SetStatusCondition(&created.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready"})
	_, err = b.sme.SmeV1alpha1().Domains(b.ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	return err
}

// createVersion creates a version from an example and waits until it is Ready.
func (b *bench) createVersion(ctx context.Context, path string) error {
	cav := &v1alpha1.CAPApplicationVersion{}
	if err := framework.DecodeExample(path, b.ns, cav); err != nil {
		return err
	}
	cav.Spec.CAPApplicationInstance = "cap-app-01"
	if _, err := b.sme.SmeV1alpha1().CAPApplicationVersions(b.ns).Create(ctx, cav, metav1.CreateOptions{}); err != nil {
		return err
	}
	return b.poll(ctx, "version "+cav.Name+" Ready", func() (bool, string, error) {
		got, err := b.sme.SmeV1alpha1().CAPApplicationVersions(b.ns).Get(ctx, cav.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return got.Status.State == v1alpha1.CAPApplicationVersionStateReady, string(got.Status.State), nil
	})
}

// subscribe creates the tenants at once, as the subscription server does (a
// subscription-context Secret and a prepared CAPTenant on the latest Ready version each, built
// by the server's own builder), and waits until all are Ready.
func (b *bench) subscribe(ctx context.Context, r *report) error {
	ca, err := b.sme.SmeV1alpha1().CAPApplications(b.ns).Get(ctx, "cap-app-01", metav1.GetOptions{})
	if err != nil {
		return err
	}
	cavs, err := b.sme.SmeV1alpha1().CAPApplicationVersions(b.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var versions []*v1alpha1.CAPApplicationVersion
	for i := range cavs.Items {
		versions = append(versions, &cavs.Items[i])
	}
	version := ""
	if latest := versioncleanup.LatestReady(versions); latest != nil {
		version = latest.Spec.Version
	}
	start := time.Now()
	r.Writes["subscribe"], err = b.countWrites(func() error {
		if err := b.forEachTenant(func(i int) error { return b.createTenant(ctx, ca, version, i) }); err != nil {
			return err
		}
		return b.waitTenants(ctx, "Ready", func(t *v1alpha1.CAPTenant) bool {
			return t.Status.State == v1alpha1.CAPTenantStateReady
		})
	})
	r.Subscribe = time.Since(start) - settle
	return err
}

// settle is how long countWrites lets the last status writes and events land.
const settle = 3 * time.Second

// countWrites runs a phase and returns the controller's API writes by verb per tenant,
// counted from its client metrics (events included) once the phase's last writes landed.
func (b *bench) countWrites(phase func() error) (map[string]float64, error) {
	before, err := b.scrape()
	if err != nil {
		return nil, err
	}
	if err := phase(); err != nil {
		return nil, err
	}
	time.Sleep(settle)
	after, err := b.scrape()
	if err != nil {
		return nil, err
	}
	perTenant := map[string]float64{}
	for verb, v := range after {
		if d := v - before[verb]; d != 0 {
			perTenant[verb] = d / float64(b.cfg.tenants)
		}
	}
	return perTenant, nil
}

// createTenant creates tenant i and its subscription-context Secret.
func (b *bench) createTenant(ctx context.Context, ca *v1alpha1.CAPApplication, version string, i int) error {
	id := fmt.Sprintf("tenant-%05d", i)
	payload, _ := json.Marshal(map[string]string{"subscribedTenantId": id, "subscribedSubdomain": id})
	secret, err := b.kube.CoreV1().Secrets(b.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "cap-app-01-consumer-", Namespace: b.ns, Labels: map[string]string{v1alpha1.LabelBTPTenantIdentifier: id}},
		StringData: map[string]string{v1alpha1.SubscriptionContextKey: string(payload)},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	cat := server.ConsumerTenant(ca, id, id, "guid-"+id, id, secret.Name, version)
	_, err = b.sme.SmeV1alpha1().CAPTenants(b.ns).Create(ctx, cat, metav1.CreateOptions{})
	return err
}

// idle counts the controller's writes while nothing changes.
func (b *bench) idle(_ context.Context, r *report) error {
	before, err := b.scrape()
	if err != nil {
		return err
	}
	time.Sleep(b.cfg.idle)
	after, err := b.scrape()
	if err != nil {
		return err
	}
	r.IdleWrites = total(after) - total(before)
	r.IdleMeasured = true
	return nil
}

// upgrade creates the second version and waits until every tenant runs it.
func (b *bench) upgrade(ctx context.Context, r *report) error {
	start := time.Now()
	var err error
	r.Writes["upgrade"], err = b.countWrites(func() error {
		if err := b.createVersion(ctx, "multitenant/cav-v2-upgrade.yaml"); err != nil {
			return err
		}
		return b.waitTenants(ctx, "Ready on v2", func(t *v1alpha1.CAPTenant) bool {
			return t.Status.State == v1alpha1.CAPTenantStateReady && t.Status.CurrentCAPApplicationVersionInstance == "cav-cap-app-01-2"
		})
	})
	r.Upgrade = time.Since(start) - settle
	return err
}

// unsubscribe deletes every tenant and waits until all are gone (deprovisioned).
func (b *bench) unsubscribe(ctx context.Context, r *report) error {
	start := time.Now()
	var err error
	r.Writes["unsubscribe"], err = b.countWrites(func() error {
		err := b.forEachTenant(func(i int) error {
			return b.sme.SmeV1alpha1().CAPTenants(b.ns).Delete(ctx, fmt.Sprintf("tenant-%05d", i), metav1.DeleteOptions{})
		})
		if err != nil {
			return err
		}
		return b.poll(ctx, "all tenants gone", func() (bool, string, error) {
			n := len(b.tenants.List())
			return n == 0, fmt.Sprintf("%d left", n), nil
		})
	})
	r.Unsubscribe = time.Since(start) - settle
	return err
}

// memory creates unrelated large Secrets in another namespace, restarts the controller so
// that it lists them all at start (its peak), and reads its resident memory once it runs.
func (b *bench) memory(ctx context.Context, r *report) error {
	if b.cfg.secrets == 0 {
		return nil
	}
	before, err := measure.ProcessRSS(b.controllerPID())
	if err != nil {
		return err
	}
	r.MemoryBeforeSecrets = before
	if _, err := b.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "unrelated"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	blob := strings.Repeat("x", b.cfg.secretSize*1024)
	err = runParallel(b.cfg.secrets, func(i int) error {
		_, err := b.kube.CoreV1().Secrets("unrelated").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("blob-%05d", i)}, StringData: map[string]string{"data": blob},
		}, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	b.stop()
	if err := b.startController("controller-memory.log"); err != nil {
		return err
	}
	// Sample the resident memory for a while after the caches synced; report the peak.
	if err := b.poll(ctx, "controller metrics", func() (bool, string, error) { _, err := b.scrape(); return err == nil, "", nil }); err != nil {
		return err
	}
	for range 10 {
		time.Sleep(time.Second)
		rss, err := measure.ProcessRSS(b.controllerPID())
		if err != nil {
			return err
		}
		r.MemoryBytes = max(r.MemoryBytes, rss)
	}
	r.UnrelatedSecrets = b.cfg.secrets
	return nil
}
