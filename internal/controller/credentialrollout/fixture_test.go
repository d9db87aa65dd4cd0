package credentialrollout

import (
	"encoding/json"
	"testing"
	"time"

	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	istioinformers "istio.io/client-go/pkg/informers/externalversions"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smefake "github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
	smeinformers "github.com/capstan-io/capstan/pkg/client/informers/externalversions"
)

const (
	ns    = "apps"
	delay = 10 * time.Minute
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture is a controller on fake clients whose informer caches are seeded by hand.
type fixture struct {
	ctl    *Controller
	kube   *kubefake.Clientset
	clock  *clocktesting.FakeClock
	events *events.FakeRecorder
}

// newFixture builds the controller. Secrets and Deployments go into the fake clientset (and
// the metadata and Deployment caches), applications and versions into the sme caches.
func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	var kubeObjs []runtime.Object
	for _, o := range objs {
		switch o.(type) {
		case *corev1.Secret, *appsv1.Deployment:
			kubeObjs = append(kubeObjs, o)
		}
	}
	f := &fixture{kube: kubefake.NewClientset(kubeObjs...), clock: clocktesting.NewFakeClock(t0), events: events.NewFakeRecorder(100)}
	sme := smefake.NewSimpleClientset()
	scheme := runtime.NewScheme()
	_ = metav1.AddMetaToScheme(scheme)
	c := &controller.Context{
		Clients:         &kube.Clients{Kube: f.kube, SME: sme, Istio: istiofake.NewSimpleClientset()},
		SMEInformers:    smeinformers.NewSharedInformerFactory(sme, 0),
		OwnedInformers:  informers.NewSharedInformerFactory(f.kube, 0),
		SecretInformers: metadatainformer.NewSharedInformerFactory(metadatafake.NewSimpleMetadataClient(scheme), 0),
		IstioInformers:  istioinformers.NewSharedInformerFactory(istiofake.NewSimpleClientset(), 0),
		Recorder:        f.events,
		Clock:           f.clock,
		Options:         controller.Options{RolloutDelay: delay},
	}
	ctl, err := NewController(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ctl.queue.ShutDown)
	f.ctl = ctl
	for _, o := range objs {
		var err error
		switch x := o.(type) {
		case *v1alpha1.CAPApplication:
			err = ctl.caIndexer.Add(x)
		case *v1alpha1.CAPApplicationVersion:
			err = ctl.cavIndexer.Add(x)
		case *appsv1.Deployment:
			err = c.OwnedInformers.Apps().V1().Deployments().Informer().GetIndexer().Add(x)
		case *corev1.Secret:
			err = c.SecretInformers.ForResource(secretsGVR).Informer().GetIndexer().Add(&metav1.PartialObjectMetadata{ObjectMeta: x.ObjectMeta})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// writes returns the verbs and resources of the write calls, in order.
func (f *fixture) writes() []string {
	var out []string
	for _, a := range f.kube.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
			continue
		}
		out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
	}
	return out
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
