package chart

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/internal/webhook/certrenewal"
)

// TestWebhookRenewsCertificate installs the chart and runs the webhook's certificate renewal
// as the webhook's ServiceAccount, with a clock 950 days ahead (the certificate is valid for
// 1000 and renewed 60 days before it expires). The renewal must succeed with the chart's RBAC,
// keep the CA (so the caBundle the API server holds still verifies the new certificate) and
// survive a later helm upgrade, which must neither undo it nor change the caBundle.
func TestWebhookRenewsCertificate(t *testing.T) {
	env := testenv.Current()
	ns := newNamespace(t)
	name := uniqueRelease(t)
	install(t, name, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kube := env.Clientset()
	secretName := name + "-webhook-tls"
	before, err := kube.CoreV1().Secrets(ns).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: serviceAccountUser(ns, name+"-webhook"), Groups: serviceAccountGroups(ns)}
	asWebhook := kubernetes.NewForConfigOrDie(cfg)
	later := time.Now().Add(950 * 24 * time.Hour)
	r := certrenewal.NewRenewer(asWebhook, secretName, certrenewal.Config{
		Namespace: ns, ServiceName: name + "-webhook", Validity: 1000 * 24 * time.Hour, RenewBefore: 60 * 24 * time.Hour,
	})
	r.Now = func() time.Time { return later }
	if err := r.Check(ctx); err != nil {
		t.Fatalf("renewal as the webhook's ServiceAccount: %v", err)
	}
	renewed, err := kube.CoreV1().Secrets(ns).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(renewed.Data["tls.crt"]) == string(before.Data["tls.crt"]) {
		t.Fatal("the certificate was not renewed")
	}
	if string(renewed.Data["ca.crt"]) != string(before.Data["ca.crt"]) || string(renewed.Data["ca.key"]) != string(before.Data["ca.key"]) {
		t.Error("the renewal changed the CA")
	}
	vwc, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The certificate is valid from (about) the renewal clock on.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(vwc.Webhooks[0].ClientConfig.CABundle) {
		t.Fatal("the caBundle holds no certificate")
	}
	cert := parseCert(t, renewed.Data["tls.crt"])
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: name + "-webhook." + ns + ".svc", CurrentTime: later}); err != nil {
		t.Errorf("the renewed certificate does not verify under the installed caBundle: %v", err)
	}
	if cert.NotAfter.Sub(later) < 999*24*time.Hour {
		t.Errorf("the renewed certificate expires %s, want about 1000 days after %s", cert.NotAfter, later)
	}

	// Nothing more to do: a second check writes nothing.
	if err := r.Check(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := kube.CoreV1().Secrets(ns).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.ResourceVersion != renewed.ResourceVersion {
		t.Error("a second check rewrote the Secret")
	}

	// helm upgrade reuses what the webhook wrote.
	mustHelm(t, "upgrade", name, chartDir(t), "--namespace", ns, "--skip-crds", "--timeout", "1m", "--reuse-values")
	upgraded, err := kube.CoreV1().Secrets(ns).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"ca.crt", "ca.key", "tls.crt", "tls.key", "tls.expiry", "ca.expiry"} {
		if string(upgraded.Data[key]) != string(renewed.Data[key]) {
			t.Errorf("helm upgrade changed %s of the renewed Secret", key)
		}
	}
	vwc, err = kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(vwc.Webhooks[0].ClientConfig.CABundle) != string(before.Data["ca.crt"]) {
		t.Error("helm upgrade changed the caBundle")
	}

	// The grant is the one Secret: the webhook cannot update any other.
	checkAccess(ctx, t, serviceAccountUser(ns, name+"-webhook"), serviceAccountGroups(ns), need{"", "secrets", "update"}, ns, false)
}

// TestUpgradeReplacesExpiringCA pretends the webhook CA expires within the renewal window:
// helm upgrade must replace the CA and the serving certificate, and the caBundle must trust
// both the new certificate and the old one, which pods serve until they restart.
func TestUpgradeReplacesExpiringCA(t *testing.T) {
	env := testenv.Current()
	ns := newNamespace(t)
	name := uniqueRelease(t)
	install(t, name, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kube := env.Clientset()
	secretName := name + "-webhook-tls"
	before, err := kube.CoreV1().Secrets(ns).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	patch := fmt.Sprintf(`{"data":{"ca.expiry":%q}}`, base64.StdEncoding.EncodeToString([]byte(soon)))
	if _, err := kube.CoreV1().Secrets(ns).Patch(ctx, secretName, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	mustHelm(t, "upgrade", name, chartDir(t), "--namespace", ns, "--skip-crds", "--timeout", "1m", "--reuse-values")
	after, err := kube.CoreV1().Secrets(ns).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(after.Data["ca.crt"]) == string(before.Data["ca.crt"]) || string(after.Data["tls.crt"]) == string(before.Data["tls.crt"]) {
		t.Fatal("the expiring CA and its serving certificate were not replaced")
	}
	if expiry, err := time.Parse(time.RFC3339, string(after.Data["ca.expiry"])); err != nil || time.Until(expiry) < 3000*24*time.Hour {
		t.Errorf("ca.expiry %q (%v) is not the new CA's", after.Data["ca.expiry"], err)
	}
	for _, kind := range []string{"validating", "mutating"} {
		var bundle []byte
		if kind == "validating" {
			vwc, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			bundle = vwc.Webhooks[0].ClientConfig.CABundle
		} else {
			mwc, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			bundle = mwc.Webhooks[0].ClientConfig.CABundle
		}
		if string(bundle) != string(after.Data["ca-bundle.crt"]) {
			t.Errorf("%s caBundle is not the Secret's ca-bundle.crt", kind)
		}
		verifyServing(t, bundle, after.Data["tls.crt"], name+"-webhook."+ns+".svc")
		verifyServing(t, bundle, before.Data["tls.crt"], name+"-webhook."+ns+".svc")
	}
}
