package chart

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/capstan-io/capstan/internal/testenv"
)

// uniqueRelease returns a release name not used by other tests: the webhook configurations
// and ClusterRoles are cluster-scoped and named after the release.
func uniqueRelease(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "capop-" + hex.EncodeToString(b)
}

// install runs helm install into ns and uninstalls the release when the test ends.
func install(t *testing.T, name, ns string, args ...string) {
	t.Helper()
	mustHelm(t, append([]string{"install", name, chartDir(t), "--namespace", ns, "--skip-crds", "--timeout", "1m"}, args...)...)
	t.Cleanup(func() {
		if _, err := helm(t, "uninstall", name, "--namespace", ns, "--wait=false"); err != nil {
			t.Errorf("uninstall: %v", err)
		}
	})
}

// TestInstall installs the chart into the API server and checks the objects exist, that the
// API server authorizes what each component's ServiceAccount needs, and that upgrades keep
// the webhook CA and certificate (lookup) unless the certificate is about to expire.
func TestInstall(t *testing.T) {
	env := testenv.Current()
	ns := newNamespace(t)
	name := uniqueRelease(t)
	install(t, name, ns)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kube := env.Clientset()
	for _, d := range []string{name + "-controller", name + "-subscription-server", name + "-webhook"} {
		if _, err := kube.AppsV1().Deployments(ns).Get(ctx, d, metav1.GetOptions{}); err != nil {
			t.Errorf("Deployment %s: %v", d, err)
		}
		if _, err := kube.CoreV1().Services(ns).Get(ctx, d, metav1.GetOptions{}); err != nil {
			t.Errorf("Service %s: %v", d, err)
		}
		if _, err := kube.CoreV1().ServiceAccounts(ns).Get(ctx, d, metav1.GetOptions{}); err != nil {
			t.Errorf("ServiceAccount %s: %v", d, err)
		}
	}
	svc, err := kube.CoreV1().Services(ns).Get(ctx, name+"-subscription-server", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Name != "server-port" || svc.Spec.Ports[0].Port != 4000 {
		t.Errorf("subscription server Service ports %+v", svc.Spec.Ports)
	}

	vwc, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ValidatingWebhookConfiguration: %v", err)
	}
	mwc, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("MutatingWebhookConfiguration: %v", err)
	}
	secret, err := kube.CoreV1().Secrets(ns).Get(ctx, name+"-webhook-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("webhook TLS Secret: %v", err)
	}
	caBundle := vwc.Webhooks[0].ClientConfig.CABundle
	if string(caBundle) != string(secret.Data["ca.crt"]) || string(mwc.Webhooks[0].ClientConfig.CABundle) != string(caBundle) {
		t.Error("the installed configurations' caBundle is not the Secret's ca.crt")
	}
	verifyServing(t, caBundle, secret.Data["tls.crt"], name+"-webhook."+ns+".svc")

	t.Run("ServiceAccountPermissions", func(t *testing.T) {
		// Each ServiceAccount may do exactly what its binary's code does, in any namespace.
		for _, tc := range []struct {
			sa    string
			perms permissions
		}{
			{name + "-controller", controllerPermissions},
			{name + "-subscription-server", serverPermissions},
			{name + "-webhook", webhookPermissions},
		} {
			user := serviceAccountUser(ns, tc.sa)
			for _, n := range tc.perms.granted() {
				checkAccess(ctx, t, user, serviceAccountGroups(ns), n, "some-app-namespace", true)
			}
			for _, n := range tc.perms.withheld() {
				checkAccess(ctx, t, user, serviceAccountGroups(ns), n, "some-app-namespace", false)
			}
		}
		// The controller reads and renews its own Lease in the release namespace only.
		controller := serviceAccountUser(ns, name+"-controller")
		for _, v := range []string{"get", "create", "update"} {
			checkAccess(ctx, t, controller, serviceAccountGroups(ns), need{"coordination.k8s.io", "leases", v}, ns, true)
		}
		for _, v := range []string{"list", "watch", "patch", "delete"} {
			checkAccess(ctx, t, controller, serviceAccountGroups(ns), need{"coordination.k8s.io", "leases", v}, ns, false)
		}
		checkAccess(ctx, t, controller, serviceAccountGroups(ns), need{"coordination.k8s.io", "leases", "update"}, "kube-system", false)
		checkAccessNamed(ctx, t, controller, serviceAccountGroups(ns), need{"coordination.k8s.io", "leases", "update"}, ns, "another-lease", false)
	})

	t.Run("AggregatedRoles", func(t *testing.T) {
		// Without kube-controller-manager nothing aggregates; bind the roles directly.
		for _, tc := range []struct {
			role    string
			allowed []need
			denied  []need
		}{
			{name + "-view", []need{{"sme.sap.com", "capapplications", "list"}}, []need{{"sme.sap.com", "capapplications", "create"}}},
			{name + "-edit", []need{{"sme.sap.com", "capapplicationversions", "create"}}, []need{{"sme.sap.com", "captenants", "create"}}},
			{name + "-admin", []need{{"sme.sap.com", "captenantoperations", "delete"}}, []need{{"sme.sap.com", "capapplications", "create"}}},
		} {
			user := "chart-test-" + tc.role
			rb := &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: tc.role, Namespace: ns},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: tc.role},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
			}
			if _, err := kube.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.allowed {
				checkAccess(ctx, t, user, nil, n, ns, true)
			}
			for _, n := range tc.denied {
				checkAccess(ctx, t, user, nil, n, ns, false)
			}
		}
	})

	t.Run("UpgradeKeepsCertificate", func(t *testing.T) {
		mustHelm(t, "upgrade", name, chartDir(t), "--namespace", ns, "--skip-crds", "--timeout", "1m", "--set", "controller.replicas=2")
		after, err := kube.CoreV1().Secrets(ns).Get(ctx, name+"-webhook-tls", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"ca.crt", "ca.key", "tls.crt", "tls.key", "tls.expiry"} {
			if string(after.Data[key]) != string(secret.Data[key]) {
				t.Errorf("upgrade changed %s of the webhook Secret", key)
			}
		}
		vwc, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if string(vwc.Webhooks[0].ClientConfig.CABundle) != string(secret.Data["ca.crt"]) {
			t.Error("upgrade changed the caBundle")
		}
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, name+"-controller", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != 2 {
			t.Errorf("upgrade did not apply controller.replicas: %d", *d.Spec.Replicas)
		}
	})

	t.Run("UpgradeRenewsExpiringCertificate", func(t *testing.T) {
		// Pretend the serving certificate expires in 10 days (< certificateRenewBeforeDays).
		soon := time.Now().Add(10 * 24 * time.Hour).UTC().Format(time.RFC3339)
		patch := fmt.Sprintf(`{"data":{"tls.expiry":%q}}`, base64.StdEncoding.EncodeToString([]byte(soon)))
		if _, err := kube.CoreV1().Secrets(ns).Patch(ctx, name+"-webhook-tls", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		mustHelm(t, "upgrade", name, chartDir(t), "--namespace", ns, "--skip-crds", "--timeout", "1m", "--reuse-values")
		renewed, err := kube.CoreV1().Secrets(ns).Get(ctx, name+"-webhook-tls", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if string(renewed.Data["ca.crt"]) != string(secret.Data["ca.crt"]) || string(renewed.Data["ca.key"]) != string(secret.Data["ca.key"]) {
			t.Error("renewal replaced the CA; the caBundle of running API servers would break")
		}
		if string(renewed.Data["tls.crt"]) == string(secret.Data["tls.crt"]) {
			t.Fatal("the expiring serving certificate was not renewed")
		}
		cert := verifyServing(t, renewed.Data["ca.crt"], renewed.Data["tls.crt"], name+"-webhook."+ns+".svc")
		if time.Until(cert.NotAfter) < 900*24*time.Hour {
			t.Errorf("renewed certificate expires %s", cert.NotAfter)
		}
		expiry, err := time.Parse(time.RFC3339, string(renewed.Data["tls.expiry"]))
		if err != nil || expiry.Sub(cert.NotAfter).Abs() > 48*time.Hour {
			t.Errorf("tls.expiry %q (%v) does not match the certificate's NotAfter %s", renewed.Data["tls.expiry"], err, cert.NotAfter)
		}
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, name+"-webhook", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Spec.Template.Annotations["operator.sme.sap.com/checksum-cert"] == "" {
			t.Error("webhook pod template has no checksum-cert annotation")
		}
	})
}

// TestInstallWebhookDisabled installs with webhook.replicas 0: no webhook configurations exist.
func TestInstallWebhookDisabled(t *testing.T) {
	env := testenv.Current()
	ns := newNamespace(t)
	name := uniqueRelease(t)
	install(t, name, ns, "--set", "webhook.replicas=0", "--set", "monitoring.enabled=true")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := env.Clientset().AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{}); err == nil {
		t.Error("ValidatingWebhookConfiguration exists with webhook.replicas 0")
	}
	if _, err := env.Clientset().AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{}); err == nil {
		t.Error("MutatingWebhookConfiguration exists with webhook.replicas 0")
	}
	out, err := env.Kubectl("get", "servicemonitors.monitoring.coreos.com", "-n", ns, "-o", "name")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"controller", "subscription-server", "webhook"} {
		if want := "servicemonitor.monitoring.coreos.com/" + name + "-" + c; !slices.Contains(strings.Split(strings.TrimSpace(out), "\n"), want) {
			t.Errorf("kubectl get servicemonitors: %q lacks %s", out, want)
		}
	}
}

// serviceAccountUser is the user name of a ServiceAccount.
func serviceAccountUser(ns, name string) string {
	return "system:serviceaccount:" + ns + ":" + name
}

// serviceAccountGroups are the groups of a ServiceAccount's tokens.
func serviceAccountGroups(ns string) []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
}

// checkAccess asks the API server's authorizer (SubjectAccessReview) whether user may do n in
// namespace (ignored for cluster-scoped resources) and compares with want.
func checkAccess(ctx context.Context, t *testing.T, user string, groups []string, n need, namespace string, want bool) {
	t.Helper()
	name := ""
	if n.resource == "leases" {
		name = leaseName
	}
	checkAccessNamed(ctx, t, user, groups, n, namespace, name, want)
}

// checkAccessNamed is checkAccess for the object name (empty: any object).
func checkAccessNamed(ctx context.Context, t *testing.T, user string, groups []string, n need, namespace, name string, want bool) {
	t.Helper()
	resource, subresource, _ := strings.Cut(n.resource, "/")
	if resource == "clusterdomains" {
		namespace = ""
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   user,
		Groups: groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: namespace, Verb: n.verb, Group: n.group, Resource: resource, Subresource: subresource, Name: name,
		},
	}}
	res, err := testenv.Current().Clientset().AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SubjectAccessReview: %v", err)
	}
	if res.Status.Allowed != want {
		t.Errorf("%s: %s %s %q (group %q) in %q allowed=%v, want %v (%s)", user, n.verb, n.resource, name, n.group, namespace, res.Status.Allowed, want, res.Status.Reason)
	}
}
