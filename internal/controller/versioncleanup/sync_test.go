package versioncleanup

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smefake "github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
	smeinformers "github.com/capstan-io/capstan/pkg/client/informers/externalversions"
)

// fixture holds a controller on fake clients whose caches are seeded by hand.
type fixture struct {
	ctl     *Controller
	sme     *smefake.Clientset
	events  *events.FakeRecorder
	metrics *controller.Metrics
}

// newFixture builds the controller with the given Prometheus address; objects go into the
// fake client and the caches.
func newFixture(t *testing.T, promAddress string, objs ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{sme: smefake.NewSimpleClientset(objs...), events: events.NewFakeRecorder(100), metrics: controller.NewMetrics(false)}
	c := &controller.Context{
		Clients:      &kube.Clients{SME: f.sme, Kube: kubefake.NewClientset()},
		SMEInformers: smeinformers.NewSharedInformerFactory(f.sme, 0),
		Recorder:     f.events,
		Clock:        clocktesting.NewFakeClock(time.Now()),
		Metrics:      f.metrics,
		Options: controller.Options{VersionCleanup: controller.VersionCleanupOptions{
			PrometheusAddress: promAddress, QueryTimeout: 300 * time.Millisecond}},
	}
	ctl, err := NewController(c)
	if err != nil {
		t.Fatal(err)
	}
	f.ctl = ctl
	for _, o := range objs {
		informer, err := c.SMEInformers.ForResource(resourceOf(o))
		if err != nil {
			t.Fatal(err)
		}
		if err := informer.Informer().GetIndexer().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// resourceOf maps a test object to its resource.
func resourceOf(o runtime.Object) schema.GroupVersionResource {
	switch o.(type) {
	case *v1alpha1.CAPApplication:
		return v1alpha1.SchemeGroupVersion.WithResource("capapplications")
	case *v1alpha1.CAPApplicationVersion:
		return v1alpha1.SchemeGroupVersion.WithResource("capapplicationversions")
	}
	return v1alpha1.SchemeGroupVersion.WithResource("captenants")
}

// writes returns the write calls, as "verb resource/name".
func (f *fixture) writes() []string {
	var out []string
	for _, a := range f.sme.Actions() {
		if d, ok := a.(interface{ GetName() string }); ok && a.GetVerb() == "delete" {
			out = append(out, "delete "+a.GetResource().Resource+"/"+d.GetName())
		} else if !slices.Contains([]string{"get", "list", "watch"}, a.GetVerb()) {
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

// recorded drains the recorded events.
func (f *fixture) recorded() []string {
	var out []string
	for {
		select {
		case e := <-f.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestSync(t *testing.T) {
	latest := newCAV("3.0.0", true)
	plain := newCAV("1.0.0", true)
	withExpr := newCAV("1.0.0", true, withRules("backend", expression(idleExpr)))
	cases := map[string]struct {
		// setup
		mode    string
		objs    []runtime.Object
		answers map[string]string // nil: no Prometheus configured
		down    bool              // Prometheus configured but not listening
		// expectations
		writes []string
		events []string // prefixes "<type> <reason> " plus a part of the note
		result string   // value of the result label of the evaluation, "" when not evaluated
	}{
		"true: unused version without rules is deleted": {
			mode: "true", objs: []runtime.Object{plain, latest},
			writes: []string{"delete capapplicationversions/cav-1.0.0"},
			events: []string{"Normal ReadyForDeletion Version 1.0.0 is no longer used (every deletion rule passed); deleting it"},
			result: "eligible",
		},
		"dry-run: reported, never deleted": {
			mode: "dry-run", objs: []runtime.Object{plain, latest},
			events: []string{"Normal ReadyForDeletion Version 1.0.0 is no longer used (every deletion rule passed); not deleted because sme.sap.com/enable-cleanup-monitoring is dry-run"},
			result: "eligible",
		},
		"idle by its expression: deleted": {
			mode: "TRUE", objs: []runtime.Object{withExpr, latest}, answers: map[string]string{idleExpr: scalarJSON("1")},
			writes: []string{"delete capapplicationversions/cav-1.0.0"},
			events: []string{"Normal ReadyForDeletion "}, result: "eligible",
		},
		"busy by its expression: kept without an event": {
			mode: "true", objs: []runtime.Object{withExpr, latest}, answers: map[string]string{idleExpr: scalarJSON("0")},
			result: "in_use",
		},
		"expression giving a vector: kept, the warning names the rule": {
			mode: "true", objs: []runtime.Object{withExpr, latest}, answers: map[string]string{idleExpr: vectorJSON("1")},
			events: []string{`Warning DeletionRuleFailed Version 1.0.0 is kept: workload "backend": expression rule: the expression returned a vector`},
			result: "failed",
		},
		"Prometheus down: kept, the warning says so": {
			mode: "true", objs: []runtime.Object{withExpr, latest}, down: true,
			events: []string{`Warning DeletionRuleFailed Version 1.0.0 is kept: workload "backend": expression rule: Prometheus at http://127.0.0.1`},
			result: "failed",
		},
		"no Prometheus: a version with rules is kept": {
			mode: "true", objs: []runtime.Object{withExpr, latest},
			events: []string{"Warning DeletionRuleFailed Version 1.0.0 is kept: workload \"backend\": expression rule: no Prometheus is configured"},
			result: "failed",
		},
		"version a tenant runs is not evaluated": {
			mode: "true", objs: []runtime.Object{plain, latest, newTenant("t1", "cav-1.0.0", "3.0.0")},
		},
		"latest Ready version is not evaluated": {
			mode: "true", objs: []runtime.Object{newCAV("1.0.0", true)},
		},
		"annotation absent: not evaluated": {
			objs: []runtime.Object{plain, latest},
		},
		"version already gone: nothing": {
			mode: "true", objs: []runtime.Object{latest},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			address := ""
			if tc.answers != nil || tc.down {
				prom := newFakePrometheus(t, tc.answers)
				address = prom.URL
				if tc.down {
					prom.Close()
				}
			}
			f := newFixture(t, address, append(tc.objs, newCA(tc.mode))...)
			if err := f.ctl.sync(context.Background(), cache.ObjectName{Namespace: testNS, Name: "cav-1.0.0"}); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := f.writes(); strings.Join(got, ";") != strings.Join(tc.writes, ";") {
				t.Errorf("writes %q, want %q", got, tc.writes)
			}
			got := f.recorded()
			if len(got) != len(tc.events) {
				t.Fatalf("events %q, want %d like %q", got, len(tc.events), tc.events)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.events[i]) {
					t.Errorf("event %q, want it to start with %q", got[i], tc.events[i])
				}
			}
			total := testutil.CollectAndCount(f.ctl.metrics.evaluations)
			if tc.result == "" && total != 0 {
				t.Errorf("%d evaluations counted, want none", total)
			}
			if tc.result != "" {
				mode := string(modeOf(tc.mode))
				if v := testutil.ToFloat64(f.ctl.metrics.evaluations.WithLabelValues(testNS, testApp, mode, tc.result)); v != 1 {
					t.Errorf("evaluations{result=%q} = %v, want 1", tc.result, v)
				}
			}
		})
	}
}

// modeOf returns the mode of an annotation value.
func modeOf(annotation string) Mode {
	m, _ := ModeOf(newCA(annotation))
	return m
}

func TestEnqueueCandidates(t *testing.T) {
	other := newCA("true")
	other.Name, other.Namespace = "other", "elsewhere"
	invalid := newCA("yes")
	invalid.Namespace = "invalid"
	f := newFixture(t, "",
		newCA("dry-run"), newCAV("1.0.0", true), newCAV("1.1.0", true), newCAV("2.0.0", true), newCAV("3.0.0", false),
		newTenant("t1", "cav-1.1.0", "2.0.0"),
		other, invalid,
	)
	f.ctl.enqueueCandidates(context.Background())
	var queued []string
	for f.ctl.queue.Len() > 0 {
		key, _ := f.ctl.queue.Get()
		queued = append(queued, key.String())
		f.ctl.queue.Done(key)
	}
	if want := []string{"demo/cav-1.0.0"}; !slices.Equal(queued, want) {
		t.Errorf("queued %v, want %v", queued, want)
	}
	got := f.recorded()
	if len(got) != 1 || !strings.HasPrefix(got[0], `Warning InvalidCleanupMonitoring annotation sme.sap.com/enable-cleanup-monitoring has the value "yes"`) {
		t.Errorf("events %q, want one warning about the invalid annotation", got)
	}
	if v := testutil.ToFloat64(f.ctl.metrics.lastRun); v == 0 {
		t.Error("last run timestamp not set")
	}
}

// TestRunEvaluatesEveryInterval runs the controller on started informers and a fake clock: the
// first pass right after the caches synced deletes the unused version, and a version that
// becomes unused later goes only when the clock reaches the next interval.
func TestRunEvaluatesEveryInterval(t *testing.T) {
	f := newFixture(t, "", newCA("true"), newCAV("1.0.0", true), newCAV("3.0.0", true))
	clk := f.ctl.c.Clock.(*clocktesting.FakeClock)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	f.ctl.c.SMEInformers.Start(ctx.Done())
	go func() { done <- f.ctl.Run(ctx, 1) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		f.ctl.c.SMEInformers.Shutdown()
	}()
	waitFor(t, "the first pass deletes 1.0.0", func() bool { return slices.Contains(f.writes(), "delete capapplicationversions/cav-1.0.0") })
	waitFor(t, "the ticker to wait", clk.HasWaiters)

	// 2.0.0 arrives Ready but 3.0.0 is the latest; nothing evaluates it before the next tick.
	cav := newCAV("2.0.0", true)
	if _, err := f.sme.SmeV1alpha1().CAPApplicationVersions(testNS).Create(ctx, cav, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cache to hold 2.0.0", func() bool {
		_, err := f.ctl.cavs.CAPApplicationVersions(testNS).Get("cav-2.0.0")
		return err == nil
	})
	if slices.Contains(f.writes(), "delete capapplicationversions/cav-2.0.0") {
		t.Fatal("2.0.0 deleted before the next interval")
	}
	clk.Step(DefaultEvaluationInterval)
	waitFor(t, "the next pass deletes 2.0.0", func() bool { return slices.Contains(f.writes(), "delete capapplicationversions/cav-2.0.0") })
}

// waitFor polls cond until it holds, failing the test after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
