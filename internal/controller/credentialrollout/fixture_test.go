package credentialrollout

import (
	"encoding/json"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

const (
	ns    = "apps"
	delay = 10 * time.Minute
)

// t0 is where the fake clock starts.
var t0 = controllertest.T0

// fixture is a controller on fake clients whose informer caches are seeded by hand.
type fixture struct {
	*controllertest.Fake
	ctl *Controller
}

// newFixture builds the controller on controllertest.Fake: objects go into the fake clientsets
// and the caches (Secrets into the metadata cache).
func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{Fake: controllertest.NewFake(t, controller.Options{RolloutDelay: delay}, objs...)}
	ctl, err := NewController(f.Context)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ctl.queue.ShutDown)
	f.ctl = ctl
	return f
}

// application returns the test application: three services, flagged as asked.
func application(flagged bool) *v1alpha1.CAPApplication {
	ca := &v1alpha1.CAPApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns, UID: "ca-uid", Generation: 1},
		Spec:       v1alpha1.CAPApplicationSpec{BTPAppName: "app", RolloutOnCredentialUpdate: flagged},
	}
	ca.Spec.BTP.Services = []v1alpha1.ServiceInfo{
		{Name: "uaa", Class: "xsuaa", Secret: "uaa-bind"},
		{Name: "db", Class: "hana", Secret: "db-bind"},
		{Name: "dest", Class: "destination", Secret: "dest-bind"},
	}
	return ca
}

// version returns a version of the application with a backend (uaa, db), a router (uaa,
// dest) and a content job (uaa).
func version(name string) *v1alpha1.CAPApplicationVersion {
	deployment := func(name string, typ v1alpha1.DeploymentType, consumed ...string) v1alpha1.WorkloadDetails {
		return v1alpha1.WorkloadDetails{Name: name, ConsumedBTPServices: consumed, DeploymentDefinition: &v1alpha1.DeploymentDetails{
			Type: typ, CommonDetails: v1alpha1.CommonDetails{Image: "img"}}}
	}
	return &v1alpha1.CAPApplicationVersion{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name), Generation: 1},
		Spec: v1alpha1.CAPApplicationVersionSpec{CAPApplicationInstance: "app", Version: "1", Workloads: []v1alpha1.WorkloadDetails{
			deployment("backend", v1alpha1.DeploymentCAP, "uaa", "db"),
			deployment("router", v1alpha1.DeploymentRouter, "uaa", "dest"),
			{Name: "content", ConsumedBTPServices: []string{"uaa"}, JobDefinition: &v1alpha1.JobDetails{
				Type: v1alpha1.JobContent, CommonDetails: v1alpha1.CommonDetails{Image: "img"}}},
		}},
	}
}

// binding returns a binding Secret in the credentials form with the given client secret.
func binding(name, secret string) *corev1.Secret {
	creds, _ := json.Marshal(map[string]string{"clientid": name, "clientsecret": secret})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: secret},
		Data:       map[string][]byte{"credentials": creds},
	}
}

// vcapOf builds the VCAP_SERVICES of a workload from binding Secrets, as the controllers do.
func vcapOf(t *testing.T, ca *v1alpha1.CAPApplication, w *v1alpha1.WorkloadDetails, bindings []*corev1.Secret) string {
	t.Helper()
	vcap, _, err := workload.VCAPServices(ca.Spec.BTP.Services, w.ConsumedBTPServices, func(name string) (map[string][]byte, error) {
		for _, b := range bindings {
			if b.Name == name {
				return b.Data, nil
			}
		}
		t.Fatalf("no binding %s", name)
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return vcap
}

// deploymentOf returns the Deployment of a workload injecting the given Secret, as the
// version controller builds it (main and init container).
func deploymentOf(cav *v1alpha1.CAPApplicationVersion, w *v1alpha1.WorkloadDetails, injected string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: workload.Name(cav.Name, w.Name), Namespace: ns, ResourceVersion: "1",
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cav, v1alpha1.SchemeGroupVersion.WithKind("CAPApplicationVersion"))}},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", EnvFrom: workload.EnvFromSecret(injected)}},
			Containers:     []corev1.Container{{Name: w.Name, EnvFrom: workload.EnvFromSecret(injected)}},
		}}},
	}
}
