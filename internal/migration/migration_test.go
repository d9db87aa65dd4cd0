package migration

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/kube"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smefake "github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
)

const ns = "app-ns"

// legacyMeta is the metadata the previous implementation's older releases left on an
// object of the application "my-app" of subaccount "sub".
func legacyMeta(name string, labels map[string]string) metav1.ObjectMeta {
	l := map[string]string{LegacyLabelAppIdentifierHash: identity.AppHash("sub", "my-app")}
	for k, v := range labels {
		l[k] = v
	}
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l,
		Annotations: map[string]string{LegacyAnnotationAppIdentifier: "sub.my-app", "keep": "me"}}
}

// referenceObjects are the objects a previous installation leaves: an application with
// legacy keys, its version, a tenant with a subscription GUID label and its running
// operation, an application without any account, and Secrets with the old finalizer.
func referenceObjects() (sme []runtime.Object, secrets []runtime.Object) {
	caHash := identity.OwnerHash(ns, "my-ca")
	catHash := identity.OwnerHash(ns, "my-ca-consumer")
	sme = []runtime.Object{
		&v1alpha1.CAPApplication{ObjectMeta: legacyMeta("my-ca", nil),
			Spec: v1alpha1.CAPApplicationSpec{BTPAppName: "my-app", ProviderSubaccountId: "sub", GlobalAccountId: "ga"}},
		&v1alpha1.CAPApplicationVersion{ObjectMeta: legacyMeta("my-cav", map[string]string{v1alpha1.LabelOwnerIdentifierHash: caHash})},
		&v1alpha1.CAPTenant{ObjectMeta: legacyMeta("my-ca-consumer", map[string]string{
			v1alpha1.LabelOwnerIdentifierHash: caHash, v1alpha1.LabelSubscriptionGUID: "guid-1"})},
		&v1alpha1.CAPTenantOperation{ObjectMeta: legacyMeta("my-ca-consumer-x7k2p", map[string]string{v1alpha1.LabelOwnerIdentifierHash: catHash})},
		// Same owner hash, other namespace: not this application's.
		&v1alpha1.CAPApplicationVersion{ObjectMeta: metav1.ObjectMeta{Name: "foreign", Namespace: "other",
			Labels: map[string]string{v1alpha1.LabelOwnerIdentifierHash: caHash}}},
		&v1alpha1.CAPApplication{ObjectMeta: metav1.ObjectMeta{Name: "no-account", Namespace: "bare",
			Labels: map[string]string{LegacyLabelAppIdentifierHash: "x"}}, Spec: v1alpha1.CAPApplicationSpec{BTPAppName: "bare"}},
	}
	secret := func(namespace, name string, finalizers ...string) runtime.Object {
		return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Finalizers: finalizers}}
	}
	secrets = []runtime.Object{
		secret(ns, "uaa", "other.io/keep", v1alpha1.FinalizerCAPApplication),
		secret(ns, "plain"),
		// The namespace of the application without account is not migrated.
		secret("bare", "held", v1alpha1.FinalizerCAPApplication),
	}
	return sme, secrets
}

// newClients returns fake clients holding the objects.
func newClients(sme, secrets []runtime.Object) (*kube.Clients, *smefake.Clientset, *metadatafake.FakeMetadataClient) {
	scheme := runtime.NewScheme()
	_ = metav1.AddMetaToScheme(scheme)
	smeClient := smefake.NewSimpleClientset(sme...)
	metaClient := metadatafake.NewSimpleMetadataClient(scheme, secrets...)
	return &kube.Clients{SME: smeClient, Metadata: metaClient}, smeClient, metaClient
}

// writes counts the patch actions of a fake client.
func writes(actions []clienttesting.Action) int {
	n := 0
	for _, a := range actions {
		if a.GetVerb() == "patch" || a.GetVerb() == "update" {
			n++
		}
	}
	return n
}

func TestRunMigratesReferenceObjects(t *testing.T) {
	ctx := context.Background()
	clients, smeClient, metaClient := newClients(referenceObjects())
	if err := Run(ctx, clients); err != nil {
		t.Fatal(err)
	}
	api := smeClient.SmeV1alpha1()
	wantHash, wantID := identity.AppHash("sub", "my-app"), "sub.my-app"
	check := func(kind string, obj metav1.Object, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		l, a := obj.GetLabels(), obj.GetAnnotations()
		if l[v1alpha1.LabelAppIdentifierHash] != wantHash || a[v1alpha1.AnnotationAppIdentifier] != wantID {
			t.Errorf("%s %s: identity %q %q", kind, obj.GetName(), l[v1alpha1.LabelAppIdentifierHash], a[v1alpha1.AnnotationAppIdentifier])
		}
		if _, ok := l[LegacyLabelAppIdentifierHash]; ok {
			t.Errorf("%s %s kept the legacy label", kind, obj.GetName())
		}
		if _, ok := a[LegacyAnnotationAppIdentifier]; ok {
			t.Errorf("%s %s kept the legacy annotation", kind, obj.GetName())
		}
		if a["keep"] != "me" {
			t.Errorf("%s %s lost an unrelated annotation: %v", kind, obj.GetName(), a)
		}
	}
	ca, err := api.CAPApplications(ns).Get(ctx, "my-ca", metav1.GetOptions{})
	check("CAPApplication", ca, err)
	cav, err := api.CAPApplicationVersions(ns).Get(ctx, "my-cav", metav1.GetOptions{})
	check("CAPApplicationVersion", cav, err)
	cat, err := api.CAPTenants(ns).Get(ctx, "my-ca-consumer", metav1.GetOptions{})
	check("CAPTenant", cat, err)
	if cat.Annotations[v1alpha1.AnnotationSubscriptionGUID] != "guid-1" {
		t.Errorf("tenant annotations %v lack the subscription GUID", cat.Annotations)
	}
	op, err := api.CAPTenantOperations(ns).Get(ctx, "my-ca-consumer-x7k2p", metav1.GetOptions{})
	check("CAPTenantOperation", op, err)

	foreign, _ := api.CAPApplicationVersions("other").Get(ctx, "foreign", metav1.GetOptions{})
	bare, _ := api.CAPApplications("bare").Get(ctx, "no-account", metav1.GetOptions{})
	if foreign.Labels[v1alpha1.LabelAppIdentifierHash] != "" || bare.Labels[LegacyLabelAppIdentifierHash] != "x" {
		t.Errorf("objects of other applications changed: %v %v", foreign.Labels, bare.Labels)
	}

	secrets := metaClient.Resource(secretsGVR)
	uaa, _ := secrets.Namespace(ns).Get(ctx, "uaa", metav1.GetOptions{})
	held, _ := secrets.Namespace("bare").Get(ctx, "held", metav1.GetOptions{})
	if !slices.Equal(uaa.Finalizers, []string{"other.io/keep"}) || !slices.Equal(held.Finalizers, []string{v1alpha1.FinalizerCAPApplication}) {
		t.Errorf("finalizers: uaa %v, held %v", uaa.Finalizers, held.Finalizers)
	}

	// A second run finds nothing to do and writes nothing.
	smeClient.ClearActions()
	metaClient.ClearActions()
	if err := Run(ctx, clients); err != nil {
		t.Fatal(err)
	}
	if n := writes(smeClient.Actions()) + writes(metaClient.Actions()); n != 0 {
		t.Errorf("second run wrote %d times: %v %v", n, smeClient.Actions(), metaClient.Actions())
	}
}

func TestIdentityChange(t *testing.T) {
	hash := identity.AppHash("ga", "app")
	tests := map[string]struct {
		labels, annotations map[string]string
		// wantLabels and wantAnnotations are the expected change (nil value = removal).
		wantLabels, wantAnnotations map[string]*string
	}{
		"already migrated": {
			labels:      map[string]string{v1alpha1.LabelAppIdentifierHash: hash},
			annotations: map[string]string{v1alpha1.AnnotationAppIdentifier: "ga.app"},
		},
		"legacy keys": {
			labels:          map[string]string{LegacyLabelAppIdentifierHash: hash},
			annotations:     map[string]string{LegacyAnnotationAppIdentifier: "ga.app"},
			wantLabels:      map[string]*string{v1alpha1.LabelAppIdentifierHash: &hash, LegacyLabelAppIdentifierHash: nil},
			wantAnnotations: map[string]*string{v1alpha1.AnnotationAppIdentifier: ptr.To("ga.app"), LegacyAnnotationAppIdentifier: nil},
		},
		"stale value is corrected": {
			labels:      map[string]string{v1alpha1.LabelAppIdentifierHash: "old"},
			annotations: map[string]string{v1alpha1.AnnotationAppIdentifier: "ga.app"},
			wantLabels:  map[string]*string{v1alpha1.LabelAppIdentifierHash: &hash},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := &metav1.ObjectMeta{Labels: tc.labels, Annotations: tc.annotations}
			got := identityChange(obj, "ga", "app")
			if !equalChange(got.labels, tc.wantLabels) || !equalChange(got.annotations, tc.wantAnnotations) {
				t.Errorf("change %s / %s", render(got.labels), render(got.annotations))
			}
		})
	}
}

// equalChange compares two change maps by value.
func equalChange(a, b map[string]*string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || (v == nil) != (w == nil) || (v != nil && *v != *w) {
			return false
		}
	}
	return true
}

// render prints a change map for messages.
func render(m map[string]*string) string {
	out := "{"
	for k, v := range m {
		if v == nil {
			out += k + ":<remove> "
		} else {
			out += k + ":" + *v + " "
		}
	}
	return out + "}"
}
