package credentials

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	"github.com/capstan-io/capstan/test/framework"
)

// timeout bounds every wait of these tests.
const timeout = 120 * time.Second

// rolloutDelay is the short ROLLOUT_DELAY the tests run the controller with.
const rolloutDelay = 3 * time.Second

// Names of the walk-through application's objects.
const (
	cavName  = "cav-cap-app-01-1"
	backend  = cavName + "-cap-backend" // consumes app-uaa, app-service-manager, app-saas-registry
	router   = cavName + "-app-router"  // consumes app-uaa, app-destination, app-saas-registry, app-html5-repo-runtime, app-portal
	destBind = "cap-app-01-dest-bind-cf"
	smBind   = "cap-app-01-svc-man-bind-cf"
)

// sme returns the sme.sap.com client of the environment.
func sme(env *testenv.Env) versioned.Interface { return versioned.NewForConfigOrDie(env.Config) }

// startController runs the controller binary with the application, version, tenant and
// credential-rollout controllers and a short rollout delay. It returns the URL of the
// controller's metrics.
func startController(t *testing.T, env *testenv.Env, ns string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	args := []string{"--metrics-bind-address=" + addr, "--leader-elect=false", "--operator-namespace=" + ns,
		"--controllers=capapplication,capapplicationversion,captenant,captenantoperation,credentialrollout",
		"--rollout-delay=" + rolloutDelay.String()}
	framework.Start(t, env, "controller", args, "POD_NAMESPACE="+ns)
	return "http://" + addr + "/metrics"
}

// finishedBatches returns how many credential-rollout batches the controller has finished
// (the work-duration count of its queue), or -1 while the metrics cannot be read.
func finishedBatches(metricsURL string) float64 {
	resp, err := http.Get(metricsURL) //nolint:gosec // loopback URL of the test's own process
	if err != nil {
		return -1
	}
	defer func() { _ = resp.Body.Close() }()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return -1
	}
	for _, m := range families["cap_op_queue_work_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "name" && l.GetValue() == "rollout-manager" {
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// walkthroughApp creates the walk-through application (rolloutOnCredentialUpdate as given)
// and its first version, and waits until the version is Ready: its Deployments are available.
func walkthroughApp(t *testing.T, env *testenv.Env, ns string, rollout bool) {
	t.Helper()
	ctx := context.Background()
	client := sme(env).SmeV1alpha1()
	ca := framework.MultitenantApp(t, env, ns)
	if rollout {
		ca.Spec.RolloutOnCredentialUpdate = true
		if _, err := client.CAPApplications(ns).Update(ctx, ca, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "multitenant/cav-v1.yaml", ns, cav)
	if _, err := client.CAPApplicationVersions(ns).Create(ctx, cav, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, timeout, func() (bool, error) {
		got, err := client.CAPApplicationVersions(ns).Get(ctx, cav.Name, metav1.GetOptions{})
		return err == nil && got.Status.State == v1alpha1.CAPApplicationVersionStateReady, err
	})
}

// deploymentState is what a credential rollout changes on a Deployment.
type deploymentState struct {
	generation int64
	injected   string
}

// stateOf reads a Deployment's generation and injected VCAP_SERVICES Secret.
func stateOf(t *testing.T, env *testenv.Env, ns, name string) deploymentState {
	t.Helper()
	d, err := env.Clientset().AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return deploymentState{generation: d.Generation, injected: workload.VCAPSecretOf(&d.Spec.Template.Spec)}
}

// rotate gives a binding Secret in the `credentials` form a new client secret.
func rotate(t *testing.T, env *testenv.Env, ns, name, clientSecret string) {
	t.Helper()
	ctx := context.Background()
	secrets := env.Clientset().CoreV1().Secrets(ns)
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var creds map[string]any
	if err := json.Unmarshal(s.Data["credentials"], &creds); err != nil {
		t.Fatal(err)
	}
	creds["clientsecret"] = clientSecret
	data, _ := json.Marshal(creds)
	s.Data["credentials"] = data
	if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitRolled waits until a Deployment injects a Secret other than old and returns its state.
func waitRolled(t *testing.T, env *testenv.Env, ns, name string, old deploymentState) deploymentState {
	t.Helper()
	var now deploymentState
	testenv.Eventually(t, timeout, func() (bool, error) {
		now = stateOf(t, env, ns, name)
		return now.injected != old.injected, nil
	})
	return now
}

// clientSecretIn returns the client secret of the first entry of a service class in a VCAP
// Secret's VCAP_SERVICES.
func clientSecretIn(t *testing.T, env *testenv.Env, ns, secret, class string) string {
	t.Helper()
	s, err := env.Clientset().CoreV1().Secrets(ns).Get(context.Background(), secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var vcap map[string][]struct {
		Credentials map[string]any `json:"credentials"`
	}
	if err := json.Unmarshal(s.Data[workload.EnvVCAPServices], &vcap); err != nil {
		t.Fatalf("VCAP_SERVICES of %s: %v", secret, err)
	}
	if len(vcap[class]) == 0 {
		t.Fatalf("VCAP_SERVICES of %s has no %s entry", secret, class)
	}
	return fmt.Sprint(vcap[class][0].Credentials["clientsecret"])
}

// waitPodsInject waits until every pod of a Deployment, and exactly as many as it wants,
// runs with the Secret injected, and no pod of an older template is left.
func waitPodsInject(t *testing.T, env *testenv.Env, ns, name, secret string) {
	t.Helper()
	ctx := context.Background()
	var last string
	err := testenv.Poll(timeout, func() (bool, error) {
		d, err := env.Clientset().AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pods, err := env.Clientset().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
		if err != nil {
			return false, err
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		last = fmt.Sprintf("%d pods, want %d injecting %s:", len(pods.Items), want, secret)
		ok := int32(len(pods.Items)) == want
		for _, p := range pods.Items {
			last += fmt.Sprintf(" %s(%s, %s)", p.Name, p.Status.Phase, workload.VCAPSecretOf(&p.Spec))
			ok = ok && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && workload.VCAPSecretOf(&p.Spec) == secret
		}
		return ok && rolledOut(d), nil
	})
	if err != nil {
		t.Fatalf("pods of %s: %v; last seen %s", name, err, last)
	}
}

// rolledOut reports whether a Deployment finished its rollout.
func rolledOut(d *appsv1.Deployment) bool {
	return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == d.Status.Replicas &&
		d.Status.AvailableReplicas == d.Status.Replicas
}

// waitGone waits until a Secret no longer exists.
func waitGone(t *testing.T, env *testenv.Env, ns, name string) {
	t.Helper()
	testenv.Eventually(t, timeout, func() (bool, error) {
		_, err := env.Clientset().CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}
