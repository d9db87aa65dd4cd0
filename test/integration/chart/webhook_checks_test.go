package chart

import (
	"slices"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// checkWebhookConfigurations checks both registrations against docs/internals/webhooks.md.
func checkWebhookConfigurations(t *testing.T, objs manifests, ns string, certManager bool) {
	t.Helper()
	var v admissionv1.ValidatingWebhookConfiguration
	objs.get(t, "ValidatingWebhookConfiguration", release, &v)
	var m admissionv1.MutatingWebhookConfiguration
	objs.get(t, "MutatingWebhookConfiguration", release, &m)
	if len(v.Webhooks) != 1 || len(m.Webhooks) != 1 {
		t.Fatalf("want one webhook per configuration, have %d validating, %d mutating", len(v.Webhooks), len(m.Webhooks))
	}
	vw, mw := v.Webhooks[0], m.Webhooks[0]
	type common struct {
		name         string
		cc           admissionv1.WebhookClientConfig
		versions     []string
		sideEffects  *admissionv1.SideEffectClass
		failure      *admissionv1.FailurePolicyType
		timeout      *int32
		rules        []admissionv1.RuleWithOperations
		path         string
		sideEffect   admissionv1.SideEffectClass
		operations   []admissionv1.OperationType
		resources    []string
		registration string
	}
	for _, w := range []common{
		{vw.Name, vw.ClientConfig, vw.AdmissionReviewVersions, vw.SideEffects, vw.FailurePolicy, vw.TimeoutSeconds, vw.Rules,
			"/validate", admissionv1.SideEffectClassNone,
			[]admissionv1.OperationType{admissionv1.Create, admissionv1.Update, admissionv1.Delete}, smeResources, "validating"},
		{mw.Name, mw.ClientConfig, mw.AdmissionReviewVersions, mw.SideEffects, mw.FailurePolicy, mw.TimeoutSeconds, mw.Rules,
			"/mutate", admissionv1.SideEffectClassNone,
			[]admissionv1.OperationType{admissionv1.Create, admissionv1.Update}, []string{"capapplications", "capapplicationversions"}, "mutating"},
	} {
		if w.name != "cap-operator.sme.sap.com" {
			t.Errorf("%s webhook name %q", w.registration, w.name)
		}
		svc := w.cc.Service
		if svc == nil || svc.Name != release+"-webhook" || svc.Namespace != ns || svc.Path == nil || *svc.Path != w.path || svc.Port == nil || *svc.Port != 443 {
			t.Errorf("%s clientConfig.service %+v, want %s-webhook.%s:443%s", w.registration, svc, release, ns, w.path)
		}
		if w.cc.URL != nil {
			t.Errorf("%s clientConfig has a URL", w.registration)
		}
		if certManager == (len(w.cc.CABundle) > 0) {
			t.Errorf("%s caBundle present: %v; want it only without cert-manager's injector", w.registration, len(w.cc.CABundle) > 0)
		}
		if !slices.Equal(w.versions, []string{"v1"}) {
			t.Errorf("%s admissionReviewVersions %v", w.registration, w.versions)
		}
		if w.sideEffects == nil || *w.sideEffects != w.sideEffect {
			t.Errorf("%s sideEffects %v, want %s", w.registration, w.sideEffects, w.sideEffect)
		}
		if w.failure == nil || *w.failure != admissionv1.Fail {
			t.Errorf("%s failurePolicy %v, want Fail", w.registration, w.failure)
		}
		if w.timeout == nil || *w.timeout != 15 {
			t.Errorf("%s timeoutSeconds %v, want 15", w.registration, w.timeout)
		}
		if len(w.rules) != 1 {
			t.Fatalf("%s rules %+v, want one", w.registration, w.rules)
		}
		r := w.rules[0]
		got := slices.Clone(r.Resources)
		slices.Sort(got)
		want := slices.Clone(w.resources)
		slices.Sort(want)
		if !slices.Equal(r.APIGroups, []string{"sme.sap.com"}) || !slices.Equal(r.APIVersions, []string{"v1alpha1"}) ||
			!slices.Equal(r.Operations, w.operations) || !slices.Equal(got, want) {
			t.Errorf("%s rule %+v, want %v on sme.sap.com/v1alpha1 %v", w.registration, r, w.operations, want)
		}
	}
}

// caBundles returns the caBundle of each webhook of a configuration kind.
func caBundles(t *testing.T, objs manifests, kind string) [][]byte {
	t.Helper()
	var out [][]byte
	switch kind {
	case "ValidatingWebhookConfiguration":
		var v admissionv1.ValidatingWebhookConfiguration
		objs.get(t, kind, release, &v)
		for _, w := range v.Webhooks {
			out = append(out, w.ClientConfig.CABundle)
		}
	default:
		var m admissionv1.MutatingWebhookConfiguration
		objs.get(t, kind, release, &m)
		for _, w := range m.Webhooks {
			out = append(out, w.ClientConfig.CABundle)
		}
	}
	return out
}

// checkWebhookTLSMount checks that the webhook pods mount the TLS Secret where TLS_CERT and
// TLS_KEY point.
func checkWebhookTLSMount(t *testing.T, d *appsv1.Deployment, secret string) {
	t.Helper()
	c := container(t, d, "webhook")
	var volume string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secret {
			volume = v.Name
			// Only the serving key pair: never the CA's key (ca.key) the Secret also holds.
			want := []corev1.KeyToPath{{Key: "tls.crt", Path: "tls.crt"}, {Key: "tls.key", Path: "tls.key"}}
			if !slices.Equal(v.Secret.Items, want) {
				t.Errorf("webhook Secret volume items %+v, want only %+v", v.Secret.Items, want)
			}
		}
	}
	if volume == "" {
		t.Fatalf("webhook pods do not mount Secret %s; volumes %+v", secret, d.Spec.Template.Spec.Volumes)
	}
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == volume })
	if i < 0 {
		t.Fatalf("webhook container does not mount volume %s", volume)
	}
	dir := c.VolumeMounts[i].MountPath
	if got := envValue(t, c, "TLS_CERT"); got != dir+"/tls.crt" {
		t.Errorf("TLS_CERT %q, want %s/tls.crt", got, dir)
	}
	if got := envValue(t, c, "TLS_KEY"); got != dir+"/tls.key" {
		t.Errorf("TLS_KEY %q, want %s/tls.key", got, dir)
	}
}
