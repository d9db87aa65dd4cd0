package capapplicationversion

import (
	"context"
	"slices"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// scrapeCAP gives the walk-through CAP server a scrape configuration on its default port.
func scrapeCAP(t *testing.T, in versionrender.Input) *v1alpha1.WorkloadDetails {
	t.Helper()
	w := findWorkload(t, in.CAV, "cap-backend")
	w.DeploymentDefinition.Monitoring = &v1alpha1.WorkloadMonitoring{ScrapeConfig: &v1alpha1.MonitoringConfig{
		Port: versionrender.DefaultCAPPortName, Path: "/metrics", Interval: "30s", ScrapeTimeout: "10s",
	}}
	return w
}

func TestServiceMonitor(t *testing.T) {
	tests := map[string]struct {
		// setup
		existing  func(want *monitoringv1.ServiceMonitor) *monitoringv1.ServiceMonitor // nil: none exists
		notServed bool                                                                 // the ServiceMonitor API is not served

		// expectations
		wantWrites []string
	}{
		"created when missing": {wantWrites: []string{"create servicemonitors"}},
		"left alone when it matches": {
			existing: func(want *monitoringv1.ServiceMonitor) *monitoringv1.ServiceMonitor { return want },
		},
		"an edited endpoint is put back": {
			existing: func(want *monitoringv1.ServiceMonitor) *monitoringv1.ServiceMonitor {
				want.Spec.Endpoints[0].Path = "/other"
				return want
			},
			wantWrites: []string{"update servicemonitors"},
		},
		"a removed label is put back, foreign labels kept": {
			existing: func(want *monitoringv1.ServiceMonitor) *monitoringv1.ServiceMonitor {
				want.Labels = map[string]string{"team": "a"}
				return want
			},
			wantWrites: []string{"update servicemonitors"},
		},
		"skipped when the API is not served": {notServed: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := syncInput(t)
			w := scrapeCAP(t, in)
			want, err := versionrender.NewServiceMonitor(in, w)
			if err != nil {
				t.Fatal(err)
			}
			var objs []runtime.Object
			if tc.existing != nil {
				objs = append(objs, tc.existing(want.DeepCopy()))
			}
			f := controllertest.NewFake(t, controllertest.DefaultOptions("op"), objs...)
			f.Context.APIs.ServiceMonitors = !tc.notServed
			ctl, err := NewController(f.Context)
			if err != nil {
				t.Fatal(err)
			}
			if err := ctl.ensureServiceMonitor(context.Background(), in, w); err != nil {
				t.Fatal(err)
			}
			if got := f.Writes(); !slices.Equal(got, tc.wantWrites) {
				t.Fatalf("writes = %q, want %q", got, tc.wantWrites)
			}
			if len(tc.wantWrites) == 0 {
				return
			}
			got := f.Written(t, tc.wantWrites[0][:6], "servicemonitors", 0).(*monitoringv1.ServiceMonitor)
			if !equality.Semantic.DeepEqual(got.Spec, want.Spec) {
				t.Errorf("spec = %+v, want %+v", got.Spec, want.Spec)
			}
			for k, v := range want.Labels {
				if got.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, got.Labels[k], v)
				}
			}
			if tc.existing != nil && tc.existing(want.DeepCopy()).Labels["team"] != "" && got.Labels["team"] != "a" {
				t.Errorf("foreign label dropped: %v", got.Labels)
			}
		})
	}
}

// TestServiceMonitorBuilt checks what the ServiceMonitor selects and scrapes: the
// workload's Service, on the configured port, path, interval and timeout.
func TestServiceMonitorBuilt(t *testing.T) {
	in := syncInput(t)
	w := scrapeCAP(t, in)
	sm, err := versionrender.NewServiceMonitor(in, w)
	if err != nil {
		t.Fatal(err)
	}
	svc := versionrender.NewService(in, w)
	if sm.Name != svc.Name || sm.Namespace != svc.Namespace {
		t.Errorf("ServiceMonitor %s/%s, want it named after the Service %s/%s", sm.Namespace, sm.Name, svc.Namespace, svc.Name)
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the Service's labels %v", k, v, svc.Labels)
		}
	}
	want := monitoringv1.Endpoint{Port: versionrender.DefaultCAPPortName, Path: "/metrics", Interval: "30s", ScrapeTimeout: "10s"}
	if len(sm.Spec.Endpoints) != 1 || !equality.Semantic.DeepEqual(sm.Spec.Endpoints[0], want) {
		t.Errorf("endpoints = %+v, want [%+v]", sm.Spec.Endpoints, want)
	}
	w.DeploymentDefinition.Monitoring.ScrapeConfig.Port = "no-such-port"
	if _, err := versionrender.NewServiceMonitor(in, w); err == nil {
		t.Error("a scrape configuration naming an unknown port was accepted")
	}
}

// TestSyncCreatesServiceMonitor checks that a version sync reaches the ServiceMonitor.
func TestSyncCreatesServiceMonitor(t *testing.T) {
	in := syncInput(t)
	scrapeCAP(t, in)
	f := controllertest.NewFake(t, controllertest.DefaultOptions("op"), append(bindingSecrets(in.CA), in.CA, in.CAV)...)
	ctl, err := NewController(f.Context)
	if err != nil {
		t.Fatal(err)
	}
	if err := ctl.sync(context.Background(), cache.MetaObjectToName(in.CAV)); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(f.Writes(), "create servicemonitors") {
		t.Errorf("writes %q lack the ServiceMonitor", f.Writes())
	}
}
