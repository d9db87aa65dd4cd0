package chart

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/testenv"
)

// release is the release name of the rendering tests (cluster-scoped names derive from it,
// which is harmless for dry-run requests).
const release = "cap-operator"

// smeResources are the namespaced and cluster-scoped resources of sme.sap.com.
var smeResources = []string{
	"capapplications", "capapplicationversions", "captenants", "captenantoperations",
	"captenantoutputs", "domains", "clusterdomains",
}

// TestLint runs helm lint in strict mode with the default values and the variations the other
// tests render.
func TestLint(t *testing.T) {
	dir := chartDir(t)
	for _, args := range [][]string{
		nil,
		{"--set", "webhook.certificateManager=CertManager"},
		{"--set", "webhook.replicas=0"},
		{"--set", "monitoring.enabled=true"},
		{"--set", "subscriptionServer.domain=example.com,subscriptionServer.dnsTarget=lb.example.com"},
	} {
		out, err := helm(t, append([]string{"lint", "--strict", dir}, args...)...)
		if err != nil {
			t.Errorf("helm lint %v: %v", args, err)
			continue
		}
		if !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint %v:\n%s", args, out)
		}
	}
}

// TestDefaultValues renders the chart with its default values, has the API server accept every
// object (server-side dry-run) and checks the key facts of the manifests.
func TestDefaultValues(t *testing.T) {
	ns := newNamespace(t)
	objs := render(t, release, ns)
	dryRunApply(t, objs)

	wantKinds := map[string]int{
		"ServiceAccount": 3, "ClusterRole": 6, "ClusterRoleBinding": 3, "Role": 2, "RoleBinding": 2,
		"Deployment": 3, "Service": 3, "Secret": 1, "PodDisruptionBudget": 1, "ConfigMap": 1, "NetworkPolicy": 1,
		"ValidatingWebhookConfiguration": 1, "MutatingWebhookConfiguration": 1,
	}
	got := map[string]int{}
	for _, u := range objs {
		got[u.GetKind()]++
	}
	for kind, n := range wantKinds {
		if got[kind] != n {
			t.Errorf("%d %s objects rendered, want %d (%s)", got[kind], kind, n, objs)
		}
	}
	if len(got) != len(wantKinds) {
		t.Errorf("rendered kinds %v, want exactly %v", got, wantKinds)
	}

	checkLabels(t, objs)
	checkDeploymentsAndServices(t, objs, ns)
	checkControllerDeployment(t, objs)
	checkControllerRBAC(t, objs, ns)
	checkServerRBAC(t, objs)
	checkWebhookRBAC(t, objs)
	checkAggregatedRoles(t, objs)
	checkWebhookConfigurations(t, objs, ns, false)

	// Default TLS: the Secret's CA is the caBundle of both configurations, and its serving
	// certificate is valid for the Service's DNS names.
	var secret corev1.Secret
	objs.get(t, "Secret", release+"-webhook-tls", &secret)
	if secret.Type != corev1.SecretTypeTLS {
		t.Errorf("webhook Secret type %q, want %q", secret.Type, corev1.SecretTypeTLS)
	}
	for _, key := range []string{"ca.crt", "ca.key", "tls.crt", "tls.key", "tls.expiry"} {
		if len(secret.Data[key]) == 0 {
			t.Errorf("webhook Secret has no %s", key)
		}
	}
	svc := release + "-webhook"
	cert := verifyServing(t, secret.Data["ca.crt"], secret.Data["tls.crt"],
		svc, svc+"."+ns, svc+"."+ns+".svc", svc+"."+ns+".svc.cluster.local", "localhost")
	if want := svc + "." + ns + ".svc"; cert.Subject.CommonName != want {
		t.Errorf("serving certificate CN %q, want %q", cert.Subject.CommonName, want)
	}
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		bundle := caBundles(t, objs, kind)
		if len(bundle) != 1 || string(bundle[0]) != string(secret.Data["ca.crt"]) {
			t.Errorf("%s caBundle is not the Secret's ca.crt", kind)
		}
	}
	var webhook appsv1.Deployment
	objs.get(t, "Deployment", release+"-webhook", &webhook)
	sum := sha256.Sum256(secret.Data["tls.crt"])
	if got := webhook.Spec.Template.Annotations["operator.sme.sap.com/checksum-cert"]; got != hex.EncodeToString(sum[:]) {
		t.Errorf("webhook pod annotation checksum-cert %q, want the sha256 of tls.crt", got)
	}
	checkWebhookTLSMount(t, &webhook, release+"-webhook-tls")
	checkWebhookAvailability(t, objs, &webhook)
	checkWebhookCertificateRole(t, objs, ns)
	c := container(t, &webhook, "webhook")
	for name, want := range map[string]string{
		"CERT_SECRET_NAME": release + "-webhook-tls", "CERT_SERVICE_NAME": release + "-webhook",
		"CERT_VALIDITY": "24000h", "CERT_RENEW_BEFORE": "1440h",
	} {
		if got := envValue(t, c, name); got != want {
			t.Errorf("webhook env %s=%q, want %q", name, got, want)
		}
	}
}

// checkWebhookAvailability checks the defaults that keep admission working through a node
// drain: two replicas and a PodDisruptionBudget selecting exactly the webhook pods.
func checkWebhookAvailability(t *testing.T, objs manifests, webhook *appsv1.Deployment) {
	t.Helper()
	if webhook.Spec.Replicas == nil || *webhook.Spec.Replicas != 2 {
		t.Errorf("webhook replicas %v, want 2", webhook.Spec.Replicas)
	}
	var pdb policyv1.PodDisruptionBudget
	objs.get(t, "PodDisruptionBudget", release+"-webhook", &pdb)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget minAvailable %v maxUnavailable %v, want maxUnavailable 1", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range objs.ofKind("Deployment") {
		podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
		if got, want := sel.Matches(labels.Set(podLabels)), d.GetName() == webhook.Name; got != want {
			t.Errorf("PodDisruptionBudget selects the pods of %s: %v, want %v", d.GetName(), got, want)
		}
	}
}

// checkWebhookCertificateRole checks that the webhook may renew its certificate and nothing
// more: get and update of its one TLS Secret.
func checkWebhookCertificateRole(t *testing.T, objs manifests, ns string) {
	t.Helper()
	name := release + "-webhook-certificate"
	var role rbacv1.Role
	objs.get(t, "Role", name, &role)
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{release + "-webhook-tls"}, Verbs: []string{"get", "update"}}}
	if role.Namespace != ns || !equality.Semantic.DeepEqual(role.Rules, want) {
		t.Errorf("Role %s in %q rules %+v, want %+v in %q", name, role.Namespace, role.Rules, want, ns)
	}
	checkBinding(t, objs, "RoleBinding", name, "Role", name, ns, release+"-webhook")
}

// TestWebhookCertManager renders webhook.certificateManager CertManager: a cert-manager CA
// chain (self-signed Issuer, CA Certificate, CA Issuer) issues the serving certificate, which
// replaces the generated Secret, and cert-manager's CA injector fills the caBundle. Renewing
// the serving certificate keeps the CA, so the caBundle stays valid throughout.
func TestWebhookCertManager(t *testing.T) {
	ns := newNamespace(t)
	objs := render(t, release, ns, "--set", "webhook.certificateManager=CertManager")
	dryRunApply(t, objs)

	if objs.find("Secret", release+"-webhook-tls") != nil {
		t.Error("the Helm-generated webhook Secret is rendered although cert-manager issues the certificate")
	}
	cert := objs.find("Certificate", release+"-webhook-cert")
	if cert == nil || cert.GetAPIVersion() != "cert-manager.io/v1" {
		t.Fatalf("no cert-manager Certificate %s-webhook-cert; rendered %s", release, objs)
	}
	if got, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName"); got != release+"-webhook-tls-managed" {
		t.Errorf("Certificate secretName %q, want %s-webhook-tls-managed", got, release)
	}
	dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	svc := release + "-webhook"
	for _, name := range []string{svc, svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local"} {
		if !slices.Contains(dnsNames, name) {
			t.Errorf("Certificate dnsNames %v lack %s", dnsNames, name)
		}
	}
	issuer, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
	caIssuer := objs.find("Issuer", issuer)
	if caIssuer == nil {
		t.Fatalf("the Certificate's issuer %q is not rendered", issuer)
	}
	caSecret, _, _ := unstructured.NestedString(caIssuer.Object, "spec", "ca", "secretName")
	var caCert *unstructured.Unstructured
	for _, c := range objs.ofKind("Certificate") {
		if name, _, _ := unstructured.NestedString(c.Object, "spec", "secretName"); name == caSecret && caSecret != "" {
			caCert = c
		}
	}
	if caCert == nil {
		t.Fatalf("Issuer %s is not a CA Issuer backed by a rendered Certificate (spec.ca.secretName %q)", issuer, caSecret)
	}
	isCA, _, _ := unstructured.NestedBool(caCert.Object, "spec", "isCA")
	rotation, _, _ := unstructured.NestedString(caCert.Object, "spec", "privateKey", "rotationPolicy")
	root, _, _ := unstructured.NestedString(caCert.Object, "spec", "issuerRef", "name")
	selfSigned, _, _ := unstructured.NestedMap(objs.find("Issuer", root).Object, "spec", "selfSigned")
	if !isCA || rotation != "Never" || selfSigned == nil {
		t.Errorf("CA Certificate %s: isCA %v, rotationPolicy %q, issuer %s self-signed %v", caCert.GetName(), isCA, rotation, root, selfSigned != nil)
	}
	checkWebhookConfigurations(t, objs, ns, true)
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		u := objs.ofKind(kind)[0]
		if got, want := u.GetAnnotations()["cert-manager.io/inject-ca-from"], ns+"/"+release+"-webhook-cert"; got != want {
			t.Errorf("%s annotation cert-manager.io/inject-ca-from %q, want %q", kind, got, want)
		}
	}
	var webhook appsv1.Deployment
	objs.get(t, "Deployment", release+"-webhook", &webhook)
	checkWebhookTLSMount(t, &webhook, release+"-webhook-tls-managed")
	if _, ok := envVar(container(t, &webhook, "webhook"), "CERT_SECRET_NAME"); ok {
		t.Error("the webhook renews a certificate that cert-manager manages")
	}
}

// TestWebhookDisabled renders webhook.replicas 0: no registrations, so the API server does not
// call a webhook without pods.
func TestWebhookDisabled(t *testing.T) {
	ns := newNamespace(t)
	objs := render(t, release, ns, "--set", "webhook.replicas=0")
	dryRunApply(t, objs)
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "PodDisruptionBudget"} {
		if n := len(objs.ofKind(kind)); n != 0 {
			t.Errorf("%d %s rendered with webhook.replicas 0", n, kind)
		}
	}
	var webhook appsv1.Deployment
	objs.get(t, "Deployment", release+"-webhook", &webhook)
	if webhook.Spec.Replicas == nil || *webhook.Spec.Replicas != 0 {
		t.Errorf("webhook Deployment replicas %v, want 0", webhook.Spec.Replicas)
	}
}

// TestMonitoring renders monitoring.enabled: one ServiceMonitor per component, selecting its
// Service and scraping metrics-http.
func TestMonitoring(t *testing.T) {
	ns := newNamespace(t)
	objs := render(t, release, ns, "--set", "monitoring.enabled=true,monitoring.serviceMonitorSelectorLabels.release=prometheus,monitoring.interval=30s")
	dryRunApply(t, objs)
	for _, name := range []string{release + "-controller", release + "-subscription-server", release + "-webhook"} {
		sm := objs.find("ServiceMonitor", name)
		if sm == nil {
			t.Errorf("no ServiceMonitor %s; rendered %s", name, objs)
			continue
		}
		if sm.GetLabels()["release"] != "prometheus" {
			t.Errorf("ServiceMonitor %s lacks the selector label release=prometheus: %v", name, sm.GetLabels())
		}
		sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		var svc corev1.Service
		objs.get(t, "Service", name, &svc)
		if !labels.SelectorFromSet(sel).Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor %s selector %v does not match Service labels %v", name, sel, svc.Labels)
		}
		for _, other := range objs.ofKind("Service") {
			if other.GetName() != name && labels.SelectorFromSet(sel).Matches(labels.Set(other.GetLabels())) {
				t.Errorf("ServiceMonitor %s also selects Service %s", name, other.GetName())
			}
		}
		endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		if len(endpoints) != 1 {
			t.Fatalf("ServiceMonitor %s has %d endpoints", name, len(endpoints))
		}
		ep := endpoints[0].(map[string]any)
		if ep["port"] != "metrics-http" || ep["path"] != "/metrics" || ep["interval"] != "30s" {
			t.Errorf("ServiceMonitor %s endpoint %v, want port metrics-http, path /metrics, interval 30s", name, ep)
		}
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "metrics-http" }) {
			t.Errorf("Service %s has no port metrics-http", name)
		}
	}
}

// TestDashboardAndAlerts renders the Grafana dashboard ConfigMap and the PrometheusRule: the
// dashboard is the JSON of chart/dashboards, the rule holds every group of the rules file,
// and both carry the configured labels; the API server accepts the PrometheusRule.
func TestDashboardAndAlerts(t *testing.T) {
	ns := newNamespace(t)
	objs := render(t, release, ns, "--set", "monitoring.enabled=true,monitoring.prometheusRule.enabled=true",
		"--set", "monitoring.prometheusRule.labels.release=prometheus,monitoring.grafana.dashboard.configMapAnnotations.grafana_folder=CAP")
	dryRunApply(t, objs)
	var cm corev1.ConfigMap
	objs.get(t, "ConfigMap", release+"-grafana-dashboard", &cm)
	if cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "CAP" {
		t.Errorf("dashboard ConfigMap labels %v annotations %v", cm.Labels, cm.Annotations)
	}
	want, err := os.ReadFile(filepath.Join(testenv.Current().RepoRoot, "chart", "dashboards", "capstan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dashboard map[string]any
	if err := json.Unmarshal([]byte(cm.Data["capstan.json"]), &dashboard); err != nil || strings.TrimSpace(cm.Data["capstan.json"]) != strings.TrimSpace(string(want)) {
		t.Errorf("dashboard ConfigMap does not hold chart/dashboards/capstan.json (%v)", err)
	}
	rule := objs.find("PrometheusRule", release+"-alerts")
	if rule == nil {
		t.Fatalf("no PrometheusRule %s-alerts", release)
	}
	if rule.GetLabels()["release"] != "prometheus" {
		t.Errorf("PrometheusRule labels %v lack release=prometheus", rule.GetLabels())
	}
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	alerts := 0
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		alerts += len(rules)
	}
	if len(groups) < 4 || alerts < 8 {
		t.Errorf("PrometheusRule has %d groups and %d rules; want the rules file's", len(groups), alerts)
	}
	if off := render(t, release, ns); off.find("PrometheusRule", release+"-alerts") != nil || off.find("ConfigMap", release+"-grafana-dashboard") != nil {
		t.Error("dashboard or PrometheusRule rendered with monitoring disabled")
	}
}

// TestSubscriptionServerExposure renders the Istio exposure of the subscription server with
// Gardener and with cert-manager certificates.
func TestSubscriptionServerExposure(t *testing.T) {
	for _, tc := range []struct {
		name, certManager, certAPIVersion, credential string
		extra                                         []string
	}{
		{"Gardener", "Gardener", "cert.gardener.cloud/v1alpha1", "gardener", []string{"--api-versions", "dns.gardener.cloud/v1alpha1/DNSEntry"}},
		{"CertManager", "CertManager", "cert-manager.io/v1", "cert-manager", []string{
			"--set", "subscriptionServer.certificateConfig.certManager.issuerName=letsencrypt",
			"--set", "subscriptionServer.certificateConfig.additionalCACertificate=",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, istioNS := newNamespace(t), newNamespace(t)
			args := append([]string{"--set", "subscriptionServer.domain=example.com,subscriptionServer.dnsTarget=lb.example.com," +
				"subscriptionServer.istioSystemNamespace=" + istioNS + ",subscriptionServer.certificateManager=" + tc.certManager}, tc.extra...)
			objs := render(t, release, ns, args...)
			dryRunApply(t, objs)

			host := "cap-op.example.com"
			credential := release + "-subscription-server-" + tc.credential
			cert := objs.find("Certificate", credential)
			if cert == nil || cert.GetAPIVersion() != tc.certAPIVersion || cert.GetNamespace() != istioNS {
				t.Fatalf("no %s Certificate %s in %s; rendered %s", tc.certAPIVersion, credential, istioNS, objs)
			}
			gw := objs.find("Gateway", release+"-subscription-server")
			if gw == nil {
				t.Fatalf("no Gateway; rendered %s", objs)
			}
			servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
			tls := servers[0].(map[string]any)["tls"].(map[string]any)
			wantMode := "OPTIONAL_MUTUAL"
			if tc.certManager == "CertManager" {
				wantMode = "SIMPLE" // no additional CA: no client certificates requested
			}
			if tls["credentialName"] != credential || tls["mode"] != wantMode {
				t.Errorf("Gateway tls %v, want credentialName %s, mode %s", tls, credential, wantMode)
			}
			caSecret := objs.find("Secret", credential+"-cacert")
			if (caSecret != nil) != (wantMode == "OPTIONAL_MUTUAL") {
				t.Errorf("CA Secret %s-cacert rendered: %v, want %v", credential, caSecret != nil, wantMode == "OPTIONAL_MUTUAL")
			}
			if caSecret != nil {
				var s corev1.Secret
				objs.get(t, "Secret", credential+"-cacert", &s)
				if c := parseCert(t, s.Data["cacert"]); c.Subject.CommonName != "SAP Cloud Root CA" || s.Namespace != istioNS {
					t.Errorf("CA Secret holds %q in %s, want the SAP Cloud Root CA in %s", c.Subject.CommonName, s.Namespace, istioNS)
				}
			}
			vs := objs.find("VirtualService", release+"-subscription-server")
			if vs == nil {
				t.Fatalf("no VirtualService; rendered %s", objs)
			}
			hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
			gateways, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "gateways")
			if !slices.Equal(hosts, []string{host}) || !slices.Equal(gateways, []string{ns + "/" + release + "-subscription-server"}) {
				t.Errorf("VirtualService hosts %v gateways %v", hosts, gateways)
			}
			http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
			route := http[0].(map[string]any)
			var prefixes []string
			for _, m := range route["match"].([]any) {
				prefixes = append(prefixes, m.(map[string]any)["uri"].(map[string]any)["prefix"].(string))
			}
			slices.Sort(prefixes)
			if want := []string{"/dependencies/", "/provision/", "/sms/dependencies/", "/sms/provision/"}; !slices.Equal(prefixes, want) {
				t.Errorf("VirtualService prefixes %v, want %v", prefixes, want)
			}
			xfcc, _, _ := unstructured.NestedString(route, "headers", "request", "set", "x-forwarded-client-cert")
			if xfcc != "%DOWNSTREAM_PEER_CERT%" {
				t.Errorf("VirtualService sets x-forwarded-client-cert to %q", xfcc)
			}
			dest := route["route"].([]any)[0].(map[string]any)["destination"].(map[string]any)
			if dest["host"] != release+"-subscription-server."+ns+".svc.cluster.local" {
				t.Errorf("VirtualService destination %v", dest)
			}
			if dns := objs.find("DNSEntry", release+"-subscription-server"); (dns != nil) != (tc.certManager == "Gardener") {
				t.Errorf("DNSEntry rendered: %v; it needs the Gardener DNS API", dns != nil)
			}
		})
	}
}

// TestControllerSettings renders controller settings and checks they reach the environment the
// controller binary reads.
func TestControllerSettings(t *testing.T) {
	ns := newNamespace(t)
	objs := render(t, release, ns, "--set", strings.Join([]string{
		"controller.certManager=cert-manager.io", "controller.dnsManager=kubernetes",
		"controller.dnsTarget=ingress.example.com", "controller.detailedOperationalMetrics=true",
		"controller.maxConcurrentReconciles.capTenant=7", "controller.clientRateLimiting.qps=30",
		"controller.clientRateLimiting.burst=60", "controller.maxTenantVersionHistory=3",
		"controller.tenantOperationRetry.attempts=0", "controller.replicas=2",
		"subscriptionServer.clientTimeout=10s", "subscriptionServer.maxBodyBytes=2097152",
	}, ","), "--set-json", `controller.extraArgs=["--v=2"]`)
	dryRunApply(t, objs)
	var d appsv1.Deployment
	objs.get(t, "Deployment", release+"-controller", &d)
	c := container(t, &d, "controller")
	for name, want := range map[string]string{
		"CERT_MANAGER": "cert-manager.io", "DNS_MANAGER": "kubernetes", "DNS_TARGET": "ingress.example.com",
		"DETAILED_OPERATIONAL_METRICS": "true", "MAX_CONCURRENT_RECONCILES_CAP_TENANT": "7",
		"CLIENT_QPS": "30", "CLIENT_BURST": "60", "MAX_TENANT_VERSION_HISTORY": "3",
		"TENANT_OPERATION_RETRY_ATTEMPTS": "0", "METRICS_PORT": "9090",
	} {
		if got := envValue(t, c, name); got != want {
			t.Errorf("controller env %s=%q, want %q", name, got, want)
		}
	}
	for _, unset := range []string{"MAX_CONCURRENT_RECONCILES_CAP_APPLICATION", "TENANT_OPERATION_HISTORY"} {
		if _, ok := envVar(c, unset); ok {
			t.Errorf("controller env %s set although its value is null", unset)
		}
	}
	if !slices.Equal(c.Args, []string{"--v=2"}) || *d.Spec.Replicas != 2 {
		t.Errorf("controller args %v replicas %d", c.Args, *d.Spec.Replicas)
	}
	var s appsv1.Deployment
	objs.get(t, "Deployment", release+"-subscription-server", &s)
	want := []string{"--client-timeout=10s", "--max-body-bytes=2097152", "--client-ca-file=/app/etc/client-ca/ca.crt"}
	if got := container(t, &s, "subscription-server").Args; !slices.Equal(got, want) {
		t.Errorf("subscription server args %v", got)
	}
}

// TestInvalidValues checks that values the binaries would reject fail the rendering, by the
// schema (naming the value's path) or by the templates' checks.
func TestInvalidValues(t *testing.T) {
	ns := newNamespace(t)
	for set, msg := range map[string]string{
		"controller.certManager=acme":         "/controller/certManager",
		"controller.dnsManager=route53":       "/controller/dnsManager",
		"webhook.certificateManager=Vault":    "/webhook/certificateManager",
		"subscriptionServer.tls.enabled=true": "subscriptionServer.tls.secretName is required",
		"subscriptionServer.domain=example.io,subscriptionServer.certificateManager=CertManager": "issuerName is required",
	} {
		_, err := template(t, release, ns, "--set", set)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("--set %s: error %v, want one containing %q", set, err, msg)
		}
	}
}

// TestDryRunRejectsInvalidObjects makes sure the dry-run check is effective: values the chart
// passes through unchecked but the API server refuses must be reported.
func TestDryRunRejectsInvalidObjects(t *testing.T) {
	ns := newNamespace(t)
	objs := render(t, release, ns, "--set-json", `webhook.namespaceSelector={"matchExpressions":[{"key":"team","operator":"Sometimes"}]}`)
	errs := dryRunApplyErrors(objs)
	if len(errs) != 2 {
		t.Fatalf("dry-run errors %v, want two (both webhook configurations reject the selector operator)", errs)
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "namespaceSelector") {
			t.Errorf("dry-run error %v does not name namespaceSelector", err)
		}
	}
}

// TestGoMemoryLimit checks that each component's memory limit becomes its Go runtime's soft
// limit (GOMEMLIMIT from the downward API), that a GOMEMLIMIT in extraEnv is kept instead, and
// that a component without a memory limit gets none.
func TestGoMemoryLimit(t *testing.T) {
	ns := newNamespace(t)
	wantFromLimit := func(t *testing.T, objs manifests, deployment, name string, want bool) {
		t.Helper()
		var d appsv1.Deployment
		objs.get(t, "Deployment", deployment, &d)
		c := container(t, &d, name)
		n := 0
		for _, e := range c.Env {
			if e.Name == "GOMEMLIMIT" {
				n++
			}
		}
		env, ok := envVar(c, "GOMEMLIMIT")
		fromLimit := ok && env.ValueFrom != nil && env.ValueFrom.ResourceFieldRef != nil && env.ValueFrom.ResourceFieldRef.Resource == "limits.memory"
		if fromLimit != want || n > 1 {
			t.Errorf("%s: GOMEMLIMIT from the memory limit %v (%d variables: %+v), want %v", deployment, fromLimit, n, env, want)
		}
	}
	objs := render(t, release, ns)
	dryRunApply(t, objs)
	for deployment, name := range map[string]string{release + "-controller": "controller", release + "-subscription-server": "subscription-server", release + "-webhook": "webhook"} {
		wantFromLimit(t, objs, deployment, name, true)
	}
	objs = render(t, release, ns, "--set", "controller.resources.limits=null", "--set-json",
		`subscriptionServer.extraEnv=[{"name":"GOMEMLIMIT","value":"150MiB"}]`)
	dryRunApply(t, objs)
	wantFromLimit(t, objs, release+"-controller", "controller", false)
	wantFromLimit(t, objs, release+"-subscription-server", "subscription-server", false)
	var d appsv1.Deployment
	objs.get(t, "Deployment", release+"-subscription-server", &d)
	if got := envValue(t, container(t, &d, "subscription-server"), "GOMEMLIMIT"); got != "150MiB" {
		t.Errorf("subscription server GOMEMLIMIT %q, want the extraEnv's 150MiB", got)
	}
}
