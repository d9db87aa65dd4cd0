package faults

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	smeinformers "github.com/capstan-io/capstan/pkg/client/informers/externalversions"
	"github.com/capstan-io/capstan/test/framework"
)

// timeout bounds the waits of the scenarios; the provisioning of all tenants gets more.
const timeout = 3 * time.Minute

// fixture is one scenario's namespace with the chart's identities and caches of the tenants,
// operations and Jobs in it.
type fixture struct {
	t   *testing.T
	env *testenv.Env
	ns  string
	ids framework.Identities
	sme versioned.Interface

	tenants cache.Indexer
	// jobUIDs records every UID ever seen per Job name: a Job created twice (deleted and
	// created again, or replaced while the cache was disconnected) shows two.
	mu      sync.Mutex
	jobUIDs map[string]map[types.UID]bool
	// created counts the tenants createTenants made (the provider tenant not included).
	created int
}

// newFixture creates the namespace, applies the chart's RBAC for it and starts the caches.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Current()
	f := &fixture{t: t, env: env, ns: env.NewNamespace(t), sme: versioned.NewForConfigOrDie(env.Config), jobUIDs: map[string]map[types.UID]bool{}}
	f.ids = framework.ChartIdentities(t, env, f.ns)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	smeFactory := smeinformers.NewSharedInformerFactoryWithOptions(f.sme, 0, smeinformers.WithNamespace(f.ns))
	kubeFactory := informers.NewSharedInformerFactoryWithOptions(env.Clientset(), 0, informers.WithNamespace(f.ns))
	f.tenants = smeFactory.Sme().V1alpha1().CAPTenants().Informer().GetIndexer()
	record := func(obj any) {
		if j, ok := obj.(*batchv1.Job); ok {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.jobUIDs[j.Name] == nil {
				f.jobUIDs[j.Name] = map[types.UID]bool{}
			}
			f.jobUIDs[j.Name][j.UID] = true
		}
	}
	if _, err := kubeFactory.Batch().V1().Jobs().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: record, UpdateFunc: func(_, obj any) { record(obj) },
	}); err != nil {
		t.Fatal(err)
	}
	smeFactory.Start(ctx.Done())
	kubeFactory.Start(ctx.Done())
	smeFactory.WaitForCacheSync(ctx.Done())
	kubeFactory.WaitForCacheSync(ctx.Done())
	t.Cleanup(func() {
		cancel()
		smeFactory.Shutdown()
		kubeFactory.Shutdown()
	})
	return f
}

// controllerArgs are the controller's flags in every scenario: the application, version,
// tenant and tenant-operation controllers (the tests mark domains Ready themselves), quick
// retries, and workers for many tenants at once.
func (f *fixture) controllerArgs(metricsPort int) []string {
	return []string{"--metrics-bind-address=127.0.0.1:" + strconv.Itoa(metricsPort), "--operator-namespace=" + f.ns,
		"--controllers=capapplication,capapplicationversion,captenant,captenantoperation",
		"--retry-initial-delay=1s", "--retry-max-delay=4s", "--captenant-workers=20", "--captenantoperation-workers=20"}
}

// startController runs the controller with its ServiceAccount's token, without leader
// election unless args ask for it.
func (f *fixture) startController(args ...string) *framework.Process {
	f.t.Helper()
	base := append(f.controllerArgs(0), "--leader-elect=false")
	return framework.StartAs(f.t, f.env, f.ids["controller"], "controller", append(base, args...), "POD_NAMESPACE="+f.ns)
}

// readyApp creates the walk-through application (Ready domains, binding Secrets, provider
// tenant) and its first version, and waits until the version and the provider are Ready.
func (f *fixture) readyApp() {
	f.t.Helper()
	// A host of its own: the webhook rejects a host another test's Domain still uses.
	framework.MultitenantApp(f.t, f.env, f.ns, func(d *v1alpha1.Domain) { d.Spec.Domain = f.ns + "." + d.Spec.Domain })
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(f.t, "multitenant/cav-v1.yaml", f.ns, cav)
	if _, err := f.sme.SmeV1alpha1().CAPApplicationVersions(f.ns).Create(context.Background(), cav, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	testenv.Eventually(f.t, timeout, func() (bool, error) {
		got, err := f.sme.SmeV1alpha1().CAPApplicationVersions(f.ns).Get(context.Background(), cav.Name, metav1.GetOptions{})
		return err == nil && got.Status.State == v1alpha1.CAPApplicationVersionStateReady, err
	})
	f.waitReady(timeout)
}

// createTenants creates n consumer tenants named <prefix>-<i>, ten at a time, and returns
// their names.
func (f *fixture) createTenants(prefix string, n int) []string {
	f.t.Helper()
	names := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 10)
	var wg sync.WaitGroup
	f.mu.Lock()
	f.created += n
	f.mu.Unlock()
	for i := range n {
		names[i] = fmt.Sprintf("%s-%03d", prefix, i)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = f.createTenant(names[i])
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			f.t.Fatal(err)
		}
	}
	return names
}

// createTenant creates one consumer tenant of the walk-through application, retrying while
// the API server or the webhook is unavailable (as a client of the API would).
func (f *fixture) createTenant(name string) error {
	cat := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns, Labels: map[string]string{v1alpha1.LabelTenantType: v1alpha1.TenantTypeConsumer}},
		Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: "cap-app-01",
			BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: name, TenantId: name + "-id"}},
	}
	_, err := f.sme.SmeV1alpha1().CAPTenants(f.ns).Create(context.Background(), cat, metav1.CreateOptions{})
	return err
}

// progress counts the Jobs created and the tenants Ready so far.
func (f *fixture) progress() int {
	f.mu.Lock()
	jobs := len(f.jobUIDs)
	f.mu.Unlock()
	ready := 0
	for _, obj := range f.tenants.List() {
		if obj.(*v1alpha1.CAPTenant).Status.State == v1alpha1.CAPTenantStateReady {
			ready++
		}
	}
	return jobs + ready
}

// waitProgress waits until progress reaches n.
func (f *fixture) waitProgress(n int, within time.Duration) {
	f.t.Helper()
	testenv.Eventually(f.t, within, func() (bool, error) {
		got := f.progress()
		return got >= n, fmt.Errorf("progress %d of %d", got, n)
	})
}

// waitReady waits until every tenant of the namespace is Ready: the provider and all that
// createTenants made (the cache may not show the newest yet, e.g. after an API server
// restart).
func (f *fixture) waitReady(within time.Duration) {
	f.t.Helper()
	f.mu.Lock()
	want := f.created + 1
	f.mu.Unlock()
	testenv.Eventually(f.t, within, func() (bool, error) {
		var notReady []string
		all := f.tenants.List()
		for _, obj := range all {
			if cat := obj.(*v1alpha1.CAPTenant); cat.Status.State != v1alpha1.CAPTenantStateReady {
				notReady = append(notReady, cat.Name+" "+string(cat.Status.State))
			}
		}
		if len(notReady) > 0 || len(all) < want {
			return false, fmt.Errorf("%d of %d tenants seen, %d not Ready, e.g. %v", len(all), want, len(notReady), notReady[:min(len(notReady), 5)])
		}
		return true, nil
	})
}

// checkProvisionedOnce checks that every tenant was provisioned by exactly one operation
// whose Jobs (one per step) were each created once.
func (f *fixture) checkProvisionedOnce() {
	f.t.Helper()
	// Live lists, not the caches: these are the final counts.
	ops, err := f.sme.SmeV1alpha1().CAPTenantOperations(f.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	opsOf := map[string][]*v1alpha1.CAPTenantOperation{}
	for i := range ops.Items {
		op := &ops.Items[i]
		if owner, ok := tenant.OperationTenant(op); ok {
			opsOf[owner] = append(opsOf[owner], op)
		}
	}
	jobsOf := map[string][]string{}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, obj := range f.jobNamesByOwner() {
		jobsOf[obj.owner] = append(jobsOf[obj.owner], obj.name)
	}
	for name, uids := range f.jobUIDs {
		if len(uids) != 1 {
			f.t.Errorf("Job %s was created %d times", name, len(uids))
		}
	}
	tenants := f.tenants.List()
	for _, obj := range tenants {
		cat := obj.(*v1alpha1.CAPTenant)
		ops := opsOf[cat.Name]
		if len(ops) != 1 || ops[0].Spec.Operation != v1alpha1.CAPTenantOperationTypeProvisioning {
			f.t.Errorf("tenant %s has %d operations, want one provisioning", cat.Name, len(ops))
			continue
		}
		if jobs := jobsOf[ops[0].Name]; len(jobs) != len(ops[0].Spec.Steps) {
			f.t.Errorf("operation %s of tenant %s ran Jobs %v for %d steps", ops[0].Name, cat.Name, jobs, len(ops[0].Spec.Steps))
		}
	}
	f.t.Logf("%d tenants provisioned by one operation each, %d Jobs each created once", len(tenants), len(f.jobUIDs))
}

// ownedJob is a Job name and the name of its controlling owner.
type ownedJob struct{ name, owner string }

// jobNamesByOwner lists the Jobs of the namespace with their controlling owners.
func (f *fixture) jobNamesByOwner() []ownedJob {
	list, err := f.env.Clientset().BatchV1().Jobs(f.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]ownedJob, 0, len(list.Items))
	for _, j := range list.Items {
		if owner := metav1.GetControllerOf(&j); owner != nil {
			out = append(out, ownedJob{j.Name, owner.Name})
		}
	}
	return out
}

// freePort returns a TCP port that is free on loopback.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
