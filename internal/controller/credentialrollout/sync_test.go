package credentialrollout

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/internal/workload"
)

func TestSync(t *testing.T) {
	tests := map[string]struct {
		// application setup
		unflagged   bool
		deletingCAV bool
		// rotate gives binding Secrets a new client secret before the batch.
		rotate map[string]string
		// remove deletes binding Secrets before the batch.
		remove []string
		// legacy makes a workload's Deployment inject a Secret not named after its content,
		// holding the VCAP_SERVICES of the old ("old") or the current ("new") credentials.
		legacy map[string]string
		// expectations
		rolled []string
		writes []string
		events []string
		err    bool
	}{
		"nothing changed: no write": {},
		"a service only the router consumes: only the router rolls": {
			rotate: map[string]string{"dest-bind": "x2"},
			rolled: []string{"router"},
			writes: []string{"create secrets", "update deployments"},
			events: []string{ReasonCredentialsRolledOut},
		},
		"a service only the backend consumes: only the backend rolls": {
			rotate: map[string]string{"db-bind": "d2"},
			rolled: []string{"backend"},
			writes: []string{"create secrets", "update deployments"},
			events: []string{ReasonCredentialsRolledOut},
		},
		"a service both consume: both roll, once each": {
			rotate: map[string]string{"uaa-bind": "u2", "db-bind": "d2"},
			rolled: []string{"backend", "router"},
			writes: []string{"create secrets", "update deployments", "create secrets", "update deployments"},
			events: []string{ReasonCredentialsRolledOut, ReasonCredentialsRolledOut},
		},
		"application without rolloutOnCredentialUpdate: nothing rolls": {
			unflagged: true,
			rotate:    map[string]string{"uaa-bind": "u2"},
		},
		"version being deleted: left alone": {
			deletingCAV: true,
			rotate:      map[string]string{"uaa-bind": "u2"},
		},
		"legacy secret with the current content: no roll": {
			legacy: map[string]string{"backend": "new", "router": "new"},
			rotate: map[string]string{"dest-bind": "x2"},
		},
		"legacy secret with other content: rolls": {
			legacy: map[string]string{"router": "old"},
			rotate: map[string]string{"dest-bind": "x2"},
			rolled: []string{"router"},
			writes: []string{"create secrets", "update deployments"},
			events: []string{ReasonCredentialsRolledOut},
		},
		"missing binding secret: its consumers keep their credentials, a warning says why": {
			remove: []string{"db-bind"},
			rotate: map[string]string{"dest-bind": "x2"},
			rolled: []string{"router"},
			writes: []string{"create secrets", "update deployments"},
			events: []string{ReasonCredentialRolloutFailed, ReasonCredentialsRolledOut},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ca, cav := application(!tc.unflagged), version("app-v1")
			if tc.deletingCAV {
				cav.DeletionTimestamp = &metav1.Time{Time: t0}
			}
			old := []*corev1.Secret{binding("uaa-bind", "u1"), binding("db-bind", "d1"), binding("dest-bind", "x1")}
			var current []*corev1.Secret
			for _, b := range old {
				if slices.Contains(tc.remove, b.Name) {
					continue
				}
				if s, ok := tc.rotate[b.Name]; ok {
					b = binding(b.Name, s)
				}
				current = append(current, b)
			}
			objs := []runtime.Object{ca, cav}
			for _, b := range current {
				objs = append(objs, b)
			}
			injected := map[string]string{}
			for i := range cav.Spec.Workloads {
				w := &cav.Spec.Workloads[i]
				if w.DeploymentDefinition == nil {
					continue
				}
				secret := workload.VCAPSecret(cav, workload.Name(cav.Name, w.Name), vcapOf(t, ca, w, old))
				if content, ok := tc.legacy[w.Name]; ok {
					secret.Name = workload.Name(cav.Name, w.Name) + "-x7k2p"
					if content == "new" {
						secret.StringData[workload.EnvVCAPServices] = vcapOf(t, ca, w, current)
					}
				}
				secret.Data = map[string][]byte{workload.EnvVCAPServices: []byte(secret.StringData[workload.EnvVCAPServices])}
				injected[w.Name] = secret.Name
				objs = append(objs, secret, deploymentOf(cav, w, secret.Name))
			}
			f := newFixture(t, objs...)

			err := f.ctl.sync(context.Background(), cache.ObjectName{Namespace: ns})
			if (err != nil) != tc.err {
				t.Fatalf("sync error %v, want error %v", err, tc.err)
			}
			if got := f.Writes(); !slices.Equal(got, tc.writes) {
				t.Errorf("writes %v, want %v", got, tc.writes)
			}
			for i := range cav.Spec.Workloads {
				w := &cav.Spec.Workloads[i]
				if w.DeploymentDefinition == nil {
					continue
				}
				want := "" // the unchanged Secret
				if slices.Contains(tc.rolled, w.Name) {
					want = vcapOf(t, ca, w, current)
				}
				checkDeployment(t, f, workload.Name(cav.Name, w.Name), injected[w.Name], want)
			}
			if got := eventReasons(f); !slices.Equal(got, tc.events) {
				t.Errorf("events %v, want %v", got, tc.events)
			}
		})
	}
}

// checkDeployment asserts that a Deployment injects its old Secret (want empty) or, when it
// rolled, in every container the content-hash Secret holding want.
func checkDeployment(t *testing.T, f *fixture, name, old, want string) {
	t.Helper()
	d, err := f.Kube.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := injectedSecrets(d)
	if want == "" {
		if !slices.Equal(got, []string{old, old}) {
			t.Errorf("%s injects %v, want the unchanged %s", name, got, old)
		}
		return
	}
	if got[0] == old || got[0] != got[1] || got[0] != workload.VCAPSecretName(name, want) {
		t.Fatalf("%s injects %v, want %s (the current content) instead of %s", name, got, workload.VCAPSecretName(name, want), old)
	}
	s, err := f.Kube.CoreV1().Secrets(ns).Get(context.Background(), got[0], metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: the injected secret: %v", name, err)
	}
	if got := s.StringData[workload.EnvVCAPServices]; got != want {
		t.Errorf("%s: secret %s holds %s, want %s", name, s.Name, got, want)
	}
	if s.Labels["sme.sap.com/secret-owner-hash"] == "" || len(s.OwnerReferences) != 1 {
		t.Errorf("%s: secret %s lacks its owner label or reference: %+v", name, s.Name, s.ObjectMeta)
	}
}

// injectedSecrets returns the Secrets the init and main container inject.
func injectedSecrets(d *appsv1.Deployment) []string {
	spec := d.Spec.Template.Spec
	return []string{spec.InitContainers[0].EnvFrom[0].SecretRef.Name, spec.Containers[0].EnvFrom[0].SecretRef.Name}
}

// eventReasons returns the reasons of the recorded events, in order.
func eventReasons(f *fixture) []string {
	var out []string
	for {
		select {
		case e := <-f.Recorder.Events:
			out = append(out, strings.Fields(e)[1])
		default:
			return out
		}
	}
}
