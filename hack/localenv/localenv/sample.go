package localenv

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/examples"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

// The sample application: the published walk-through in examples/multitenant, applied in
// its own namespace with its own names.
const (
	SampleNamespace      = "cap-app-01"
	SampleApplication    = "cap-app-01"
	SampleVersion        = "cav-cap-app-01-1"
	SampleProviderTenant = "cap-app-01-provider"
	// sampleVersionFile is applied as published, numeric PORT included.
	sampleVersionFile = "multitenant/cav-v1.yaml"
)

// applySample creates the walk-through's Domain, ClusterDomain, binding Secrets (and a
// placeholder for the image pull Secret the version names), CAPApplication and, through the
// webhooks and exactly as published, the CAPApplicationVersion.
func (s *Session) applySample(ctx context.Context) error {
	dom, cdom, ca := &v1alpha1.Domain{}, &v1alpha1.ClusterDomain{}, &v1alpha1.CAPApplication{}
	for path, obj := range map[string]runtime.Object{"multitenant/domain.yaml": dom, "multitenant/clusterdomain.yaml": cdom, "multitenant/capapplication.yaml": ca} {
		if err := framework.DecodeExample(path, "", obj); err != nil {
			return err
		}
	}
	if err := s.ensureNamespace(ctx, ca.Namespace); err != nil {
		return err
	}
	if err := s.createSecrets(ctx, ca); err != nil {
		return err
	}
	sme := s.clients.SME.SmeV1alpha1()
	if _, err := sme.Domains(dom.Namespace).Create(ctx, dom, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating Domain %s/%s: %w", dom.Namespace, dom.Name, err)
	}
	if _, err := sme.ClusterDomains().Create(ctx, cdom, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating ClusterDomain %s: %w", cdom.Name, err)
	}
	if _, err := sme.CAPApplications(ca.Namespace).Create(ctx, ca, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating CAPApplication %s/%s: %w", ca.Namespace, ca.Name, err)
	}
	s.opts.Logf("sample: created Domain %s/%s, ClusterDomain %s, CAPApplication %s/%s and %d binding Secrets",
		dom.Namespace, dom.Name, cdom.Name, ca.Namespace, ca.Name, len(ca.Spec.BTP.Services))
	return s.createPublishedVersion(ctx, sampleVersionFile, false)
}

// createSecrets creates the application's binding Secrets (for the demo, the saas-registry one
// trusts the XSUAA stand-in) and a placeholder image pull Secret "regcred" (kwok pulls no
// images).
func (s *Session) createSecrets(ctx context.Context, ca *v1alpha1.CAPApplication) error {
	secrets, err := framework.BindingSecretObjects(ca)
	if err != nil {
		return err
	}
	if s.issuer != nil {
		if s.xsappname, err = demoSecrets(ca, secrets, s.issuer.URL()); err != nil {
			return err
		}
	}
	secrets = append(secrets, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: ca.Namespace},
		Type:       corev1.SecretTypeDockerConfigJson,
		StringData: map[string]string{corev1.DockerConfigJsonKey: `{"auths":{}}`},
	})
	for _, secret := range secrets {
		if _, err := s.clients.Kube.CoreV1().Secrets(secret.Namespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating Secret %s/%s: %w", secret.Namespace, secret.Name, err)
		}
	}
	return nil
}

// createPublishedVersion creates a CAPApplicationVersion of examples/ (the last document of
// file) as kubectl would: its numeric PORT value is turned into a string by the mutating
// webhook, whose warnings are printed. With toSample, spec.capApplicationInstance is set to
// the sample's CAPApplication (the published upgrade names another one); otherwise the
// object is unchanged.
func (s *Session) createPublishedVersion(ctx context.Context, file string, toSample bool) error {
	docs := examples.Documents(examples.MustRead(file))
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(docs[len(docs)-1], &obj.Object); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if toSample {
		if err := s.pointAtSample(obj, file); err != nil {
			return err
		}
	}
	warnings := &warningLog{}
	cfg := rest.CopyConfig(s.Env.Config)
	cfg.WarningHandler = warnings
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = client.Resource(framework.Resource(obj.GetKind())).Namespace(obj.GetNamespace()).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating %s as published: %w", file, err)
	}
	how := "as published"
	if toSample {
		how = "for " + SampleApplication
	}
	s.opts.Logf("sample: created CAPApplicationVersion %s/%s from %s %s", obj.GetNamespace(), obj.GetName(), file, how)
	for _, w := range warnings.list {
		s.opts.Logf("sample: warning from the API server: %s", w)
	}
	return nil
}

// pointAtSample sets spec.capApplicationInstance of a CAPApplicationVersion to the sample's
// CAPApplication, logging a change.
func (s *Session) pointAtSample(obj *unstructured.Unstructured, file string) error {
	app, _, err := unstructured.NestedString(obj.Object, "spec", "capApplicationInstance")
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if app == SampleApplication {
		return nil
	}
	if err := unstructured.SetNestedField(obj.Object, SampleApplication, "spec", "capApplicationInstance"); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	s.opts.Logf("sample: %s names CAPApplication %q; creating it for %q", file, app, SampleApplication)
	return nil
}

// warningLog collects the warnings of API responses.
type warningLog struct {
	mu   sync.Mutex
	list []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *warningLog) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// waitSample polls until the version is Ready, the provider tenant Ready and the application
// Consistent, printing the states whenever they change.
func (s *Session) waitSample(ctx context.Context) error {
	last := ""
	return s.poll(ctx, s.opts.SampleTimeout, "the sample application", func() (bool, error) {
		states, done := s.sampleStates(ctx)
		if states != last {
			s.opts.Logf("sample: %s", states)
			last = states
		}
		if done {
			return true, nil
		}
		return false, fmt.Errorf("not ready yet: %s", states)
	})
}

// sampleStates describes the states of the sample's objects ("-" for none yet) and reports
// whether the sample is ready.
func (s *Session) sampleStates(ctx context.Context) (string, bool) {
	sme := s.clients.SME.SmeV1alpha1()
	get := metav1.GetOptions{}
	cavState, catState, caState := "-", "-", "-"
	if cav, err := sme.CAPApplicationVersions(SampleNamespace).Get(ctx, SampleVersion, get); err == nil {
		cavState = orDash(string(cav.Status.State))
	}
	if cat, err := sme.CAPTenants(SampleNamespace).Get(ctx, SampleProviderTenant, get); err == nil {
		catState = orDash(string(cat.Status.State))
	}
	if ca, err := sme.CAPApplications(SampleNamespace).Get(ctx, SampleApplication, get); err == nil {
		caState = orDash(string(ca.Status.State))
	}
	done := cavState == string(v1alpha1.CAPApplicationVersionStateReady) &&
		catState == string(v1alpha1.CAPTenantStateReady) &&
		caState == string(v1alpha1.CAPApplicationStateConsistent)
	return fmt.Sprintf("CAPApplicationVersion %s %s, CAPTenant %s %s, CAPApplication %s %s",
		SampleVersion, cavState, SampleProviderTenant, catState, SampleApplication, caState), done
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
