package controllertest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	monitoringinformers "github.com/prometheus-operator/prometheus-operator/pkg/client/informers/externalversions"
	monitoringfake "github.com/prometheus-operator/prometheus-operator/pkg/client/versioned/fake"
	monitoringscheme "github.com/prometheus-operator/prometheus-operator/pkg/client/versioned/scheme"
	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	istioscheme "istio.io/client-go/pkg/clientset/versioned/scheme"
	istioinformers "istio.io/client-go/pkg/informers/externalversions"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/kube"
	smefake "github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
	smescheme "github.com/capstan-io/capstan/pkg/client/clientset/versioned/scheme"
	smeinformers "github.com/capstan-io/capstan/pkg/client/informers/externalversions"
)

// T0 is the time the fake clock of a Fake starts at.
var T0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Fake is a controller context on fake clientsets for unit tests of a controller's sync. The
// seeded objects are in the fake clientsets and in the informer caches, so a test constructs
// its controller from Context, calls sync for a key and inspects Writes. The informers are
// never started: the caches hold exactly what was seeded.
type Fake struct {
	// Context is passed to the controller's constructor.
	Context *controller.Context
	// Kube, SME, Istio, Monitoring and Metadata are the fake clientsets behind Context.
	Kube       *kubefake.Clientset
	SME        *smefake.Clientset
	Istio      *istiofake.Clientset
	Monitoring *monitoringfake.Clientset
	Metadata   *metadatafake.FakeMetadataClient
	// Recorder collects the events the controller records.
	Recorder *events.FakeRecorder
	// Clock is the context's clock, starting at T0.
	Clock *clocktesting.FakeClock
}

// NewFake builds a fake context with opts (DefaultOptions when nil is wanted, pass them) and
// seeds objs. Built-in objects go to the Kube clientset and the OwnedInformers cache, except
// Secrets, which go to the Kube clientset in full and to the Metadata clientset and the
// SecretInformers cache as metadata (as the operator's informer sees them). sme.sap.com and
// Istio and monitoring.coreos.com objects go to their clientsets and caches.
func NewFake(t testing.TB, opts controller.Options, objs ...runtime.Object) *Fake {
	t.Helper()
	var kubeObjs, smeObjs, istioObjs, monObjs, metaObjs []runtime.Object
	for _, o := range objs {
		switch {
		case isKind(smescheme.Scheme, o):
			smeObjs = append(smeObjs, o)
		case isKind(istioscheme.Scheme, o):
			istioObjs = append(istioObjs, o)
		case isKind(monitoringscheme.Scheme, o):
			monObjs = append(monObjs, o)
		case isKind(kubescheme.Scheme, o):
			kubeObjs = append(kubeObjs, o)
			if s, ok := o.(*corev1.Secret); ok {
				metaObjs = append(metaObjs, SecretMetadata(s))
			}
		default:
			t.Fatalf("controllertest: no fake clientset serves %T", o)
		}
	}
	metaScheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(metaScheme); err != nil {
		t.Fatal(err)
	}
	f := &Fake{
		Kube:       kubefake.NewClientset(kubeObjs...),
		SME:        smefake.NewSimpleClientset(smeObjs...),
		Istio:      istiofake.NewSimpleClientset(istioObjs...),
		Monitoring: monitoringfake.NewSimpleClientset(monObjs...),
		Metadata:   metadatafake.NewSimpleMetadataClient(metaScheme, metaObjs...),
		Recorder:   events.NewFakeRecorder(100),
		Clock:      clocktesting.NewFakeClock(T0),
	}
	f.Context = &controller.Context{
		Clients: &kube.Clients{Kube: f.Kube, SME: f.SME, Istio: f.Istio, Monitoring: f.Monitoring,
			Metadata: f.Metadata, Discovery: f.Kube.Discovery()},
		SMEInformers:        smeinformers.NewSharedInformerFactory(f.SME, 0),
		OwnedInformers:      informers.NewSharedInformerFactory(f.Kube, 0),
		SecretInformers:     metadatainformer.NewSharedInformerFactory(f.Metadata, 0),
		IstioInformers:      istioinformers.NewSharedInformerFactory(f.Istio, 0),
		MonitoringInformers: monitoringinformers.NewSharedInformerFactory(f.Monitoring, 0),
		APIs:                controller.APIs{ServiceMonitors: true},
		Recorder:            f.Recorder,
		Clock:               f.Clock,
		Options:             opts,
		Metrics:             controller.NewMetrics(false),
	}
	for _, o := range objs {
		f.AddToCache(t, o)
	}
	return f
}

// AddToCache adds an object to the informer cache that would hold it, without touching the
// clientsets: a test uses it to make the cache differ from the API (a stale cache).
func (f *Fake) AddToCache(t testing.TB, o runtime.Object) {
	t.Helper()
	var (
		gi  informers.GenericInformer
		err error
	)
	switch {
	case isKind(smescheme.Scheme, o):
		gi, err = f.Context.SMEInformers.ForResource(resourceOf(t, smescheme.Scheme, o))
	case isKind(istioscheme.Scheme, o):
		gi, err = f.Context.IstioInformers.ForResource(resourceOf(t, istioscheme.Scheme, o))
	case isKind(monitoringscheme.Scheme, o):
		gi, err = f.Context.MonitoringInformers.ForResource(resourceOf(t, monitoringscheme.Scheme, o))
	default:
		if s, ok := o.(*corev1.Secret); ok {
			add(t, f.Context.Secrets().Informer().GetIndexer(), SecretMetadata(s))
			return
		}
		gi, err = f.Context.OwnedInformers.ForResource(resourceOf(t, kubescheme.Scheme, o))
	}
	if err != nil {
		t.Fatalf("controllertest: no informer for %T: %v", o, err)
	}
	add(t, gi.Informer().GetIndexer(), o)
}

// add puts one object into an indexer.
func add(t testing.TB, indexer cache.Indexer, o runtime.Object) {
	t.Helper()
	if err := indexer.Add(o); err != nil {
		t.Fatalf("controllertest: seeding the cache with %T: %v", o, err)
	}
}

// SecretMetadata returns the metadata of a Secret as the metadata informer holds it.
func SecretMetadata(s *corev1.Secret) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: *s.ObjectMeta.DeepCopy(),
	}
}

// isKind reports whether scheme knows the Go type of o.
func isKind(scheme *runtime.Scheme, o runtime.Object) bool {
	_, _, err := scheme.ObjectKinds(o)
	return err == nil
}

// resourceOf returns the resource of an object by the usual pluralisation of its kind.
func resourceOf(t testing.TB, scheme *runtime.Scheme, o runtime.Object) schema.GroupVersionResource {
	t.Helper()
	gvks, _, err := scheme.ObjectKinds(o)
	if err != nil {
		t.Fatalf("controllertest: kind of %T: %v", o, err)
	}
	gvr, _ := meta.UnsafeGuessKindToResource(gvks[0])
	return gvr
}

// Actions returns the write actions on every fake clientset (everything but get, list and
// watch), in the order of the clientsets Kube, SME, Istio, Monitoring, Metadata.
func (f *Fake) Actions() []clienttesting.Action {
	var out []clienttesting.Action
	for _, as := range [][]clienttesting.Action{f.Kube.Actions(), f.SME.Actions(), f.Istio.Actions(), f.Monitoring.Actions(), f.Metadata.Actions()} {
		for _, a := range as {
			if !slices.Contains([]string{"get", "list", "watch"}, a.GetVerb()) {
				out = append(out, a)
			}
		}
	}
	return out
}

// Writes returns the write actions as "verb resource[/subresource]", the form sync tables
// compare against.
func (f *Fake) Writes() []string {
	var out []string
	for _, a := range f.Actions() {
		w := a.GetVerb() + " " + a.GetResource().Resource
		if a.GetSubresource() != "" {
			w += "/" + a.GetSubresource()
		}
		out = append(out, w)
	}
	return out
}

// ClearActions forgets the actions recorded so far, e.g. after a first sync.
func (f *Fake) ClearActions() {
	f.Kube.ClearActions()
	f.SME.ClearActions()
	f.Istio.ClearActions()
	f.Monitoring.ClearActions()
	f.Metadata.ClearActions()
}

// Written returns the object of the n-th write action of the given verb and resource (n
// counts from 0), failing the test when there is none.
func (f *Fake) Written(t testing.TB, verb, resource string, n int) runtime.Object {
	t.Helper()
	i := 0
	for _, a := range f.Actions() {
		if a.GetVerb() != verb || a.GetResource().Resource != resource {
			continue
		}
		if i == n {
			if o, ok := a.(interface{ GetObject() runtime.Object }); ok {
				return o.GetObject()
			}
			t.Fatalf("controllertest: action %s %s carries no object", verb, resource)
		}
		i++
	}
	t.Fatalf("controllertest: no write %d of %s %s in %v", n, verb, resource, f.Writes())
	return nil
}

// Events drains the events recorded so far.
func (f *Fake) Events() []string {
	var out []string
	for {
		select {
		case e := <-f.Recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// String describes the fake's writes, for failure messages.
func (f *Fake) String() string { return fmt.Sprint(f.Writes()) }
