package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	"github.com/capstan-io/capstan/test/framework"
)

// timeout bounds every wait of these tests.
const timeout = 90 * time.Second

// sme returns the sme.sap.com client of the environment.
func sme(env *testenv.Env) versioned.Interface { return versioned.NewForConfigOrDie(env.Config) }

// startController runs the controller binary for the test, without leader election unless
// args ask for it. The domain controllers are left out: these tests mark domains Ready
// themselves (the networking tests cover the domain controllers).
func startController(t *testing.T, env *testenv.Env, ns string, args ...string) *framework.Process {
	t.Helper()
	base := []string{"--metrics-bind-address=127.0.0.1:0", "--leader-elect=false", "--operator-namespace=" + ns,
		"--controllers=capapplication,capapplicationversion"}
	// The controller runs with a token of the chart's ServiceAccount: a permission the chart
	// lacks fails the test.
	id := framework.ChartIdentities(t, env, ns)["controller"]
	return framework.StartAs(t, env, id, "controller", append(base, args...), "POD_NAMESPACE="+ns)
}

// waitCAV waits until a version reaches the state.
func waitCAV(t *testing.T, env *testenv.Env, ns, name string, state v1alpha1.CAPApplicationVersionState) *v1alpha1.CAPApplicationVersion {
	t.Helper()
	var cav *v1alpha1.CAPApplicationVersion
	testenv.Eventually(t, timeout, func() (bool, error) {
		var err error
		cav, err = sme(env).SmeV1alpha1().CAPApplicationVersions(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && cav.Status.State == state, err
	})
	return cav
}

// waitCA waits until an application reaches the state.
func waitCA(t *testing.T, env *testenv.Env, ns, name string, state v1alpha1.CAPApplicationState) *v1alpha1.CAPApplication {
	t.Helper()
	var ca *v1alpha1.CAPApplication
	testenv.Eventually(t, timeout, func() (bool, error) {
		var err error
		ca, err = sme(env).SmeV1alpha1().CAPApplications(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && ca.Status.State == state, err
	})
	return ca
}

// vsGVR is the resource of Istio VirtualServices.
var vsGVR = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}

// unstructuredStrings reads a string list from an unstructured object.
func unstructuredStrings(obj map[string]any, fields ...string) ([]string, bool, error) {
	return unstructured.NestedStringSlice(obj, fields...)
}
