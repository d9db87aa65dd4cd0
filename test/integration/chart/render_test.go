package chart

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
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

// checkLabels checks the operator labels on every object and its pod templates.
func checkLabels(t *testing.T, objs manifests) {
	t.Helper()
	for _, u := range objs {
		l := u.GetLabels()
		if l["operator.sme.sap.com/release"] != release || l["operator.sme.sap.com/category"] != "controller" {
			t.Errorf("%s %s labels %v lack operator.sme.sap.com/release=%s and category=controller", u.GetKind(), u.GetName(), l, release)
		}
	}
	for name, app := range map[string]string{
		release + "-controller": "controller", release + "-subscription-server": "subscription-server", release + "-webhook": "webhook",
	} {
		for _, kind := range []string{"Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"} {
			if u := objs.find(kind, name); u != nil && u.GetLabels()["operator.sme.sap.com/app"] != app {
				t.Errorf("%s %s label operator.sme.sap.com/app=%q, want %q", kind, name, u.GetLabels()["operator.sme.sap.com/app"], app)
			}
		}
	}
}

// checkDeploymentsAndServices checks that each Service selects exactly its component's pods,
// targets named container ports that exist, and that pods run as non-root with a read-only
// root file system under their own ServiceAccount.
func checkDeploymentsAndServices(t *testing.T, objs manifests, ns string) {
	t.Helper()
	type port struct {
		name       string
		port       int32
		targetPort string
	}
	for _, tc := range []struct {
		name, container, command string
		ports                    []port
	}{
		{release + "-controller", "controller", "/app/controller", []port{{"metrics-http", 9090, "metrics-port"}}},
		{release + "-subscription-server", "subscription-server", "/app/server", []port{{"server-port", 4000, "server-port"}, {"metrics-http", 9090, "metrics-port"}}},
		{release + "-webhook", "webhook", "/app/webhook", []port{{"webhook-https", 443, "webhook-port"}, {"metrics-http", 9090, "metrics-port"}}},
	} {
		var d appsv1.Deployment
		objs.get(t, "Deployment", tc.name, &d)
		var svc corev1.Service
		objs.get(t, "Service", tc.name, &svc)
		if d.Namespace != ns || svc.Namespace != ns {
			t.Errorf("%s: Deployment in %q, Service in %q, want %q", tc.name, d.Namespace, svc.Namespace, ns)
		}
		podLabels := labels.Set(d.Spec.Template.Labels)
		if sel := labels.SelectorFromSet(d.Spec.Selector.MatchLabels); !sel.Matches(podLabels) {
			t.Errorf("Deployment %s selector %v does not match its pod labels %v", tc.name, d.Spec.Selector.MatchLabels, podLabels)
		}
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
			t.Errorf("Service %s selector %v does not match the pods of Deployment %s", tc.name, svc.Spec.Selector, tc.name)
		}
		for _, other := range objs.ofKind("Deployment") {
			var od appsv1.Deployment
			objs.get(t, "Deployment", other.GetName(), &od)
			if od.Name != tc.name && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(od.Spec.Template.Labels)) {
				t.Errorf("Service %s also selects the pods of Deployment %s", tc.name, od.Name)
			}
		}
		c := container(t, &d, tc.container)
		if !slices.Equal(c.Command, []string{tc.command}) {
			t.Errorf("%s command %v, want [%s]", tc.name, c.Command, tc.command)
		}
		if len(svc.Spec.Ports) != len(tc.ports) {
			t.Errorf("Service %s ports %v, want %v", tc.name, svc.Spec.Ports, tc.ports)
		}
		for _, want := range tc.ports {
			i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == want.name })
			if i < 0 {
				t.Errorf("Service %s has no port %s", tc.name, want.name)
				continue
			}
			p := svc.Spec.Ports[i]
			if p.Port != want.port || p.TargetPort.String() != want.targetPort {
				t.Errorf("Service %s port %s: %d -> %s, want %d -> %s", tc.name, want.name, p.Port, p.TargetPort.String(), want.port, want.targetPort)
			}
			containerPort(t, c, want.targetPort)
		}
		if d.Spec.Template.Spec.ServiceAccountName != tc.name {
			t.Errorf("%s runs as ServiceAccount %q", tc.name, d.Spec.Template.Spec.ServiceAccountName)
		}
		if objs.find("ServiceAccount", tc.name) == nil {
			t.Errorf("ServiceAccount %s is not rendered", tc.name)
		}
		psc, sc := d.Spec.Template.Spec.SecurityContext, c.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s security contexts %+v / %+v: want non-root, read-only root file system, no privilege escalation", tc.name, psc, sc)
		}
		if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.LivenessProbe.HTTPGet.Port.String() != "metrics-port" {
			t.Errorf("%s liveness probe %+v, want GET /healthz on metrics-port", tc.name, c.LivenessProbe)
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.ReadinessProbe.HTTPGet.Port.String() != "metrics-port" {
			t.Errorf("%s readiness probe %+v, want GET /readyz on metrics-port", tc.name, c.ReadinessProbe)
		}
		if got := envValue(t, c, "METRICS_PORT"); got != "9090" || containerPort(t, c, "metrics-port") != 9090 {
			t.Errorf("%s METRICS_PORT %q does not match the metrics-port container port", tc.name, got)
		}
		if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
			t.Errorf("%s has no resource limits/requests: %+v", tc.name, c.Resources)
		}
	}

	var server appsv1.Deployment
	objs.get(t, "Deployment", release+"-subscription-server", &server)
	sc := container(t, &server, "subscription-server")
	if got := envValue(t, sc, "PORT"); got != "4000" || containerPort(t, sc, "server-port") != 4000 {
		t.Errorf("subscription server PORT %q, want 4000 = server-port", got)
	}
	if e, ok := envVar(sc, "POD_NAME"); !ok || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("subscription server POD_NAME %+v, want the pod name", e)
	}

	var webhook appsv1.Deployment
	objs.get(t, "Deployment", release+"-webhook", &webhook)
	wc := container(t, &webhook, "webhook")
	if got := envValue(t, wc, "WEBHOOK_PORT"); got != "1443" || containerPort(t, wc, "webhook-port") != 1443 {
		t.Errorf("webhook WEBHOOK_PORT %q, want 1443 = webhook-port", got)
	}
	if got := envValue(t, wc, "TLS_ENABLED"); got != "true" {
		t.Errorf("webhook TLS_ENABLED %q", got)
	}
}

// checkControllerDeployment checks what the controller needs from its Deployment.
func checkControllerDeployment(t *testing.T, objs manifests) {
	t.Helper()
	var d appsv1.Deployment
	objs.get(t, "Deployment", release+"-controller", &d)
	c := container(t, &d, "controller")
	e, ok := envVar(c, "POD_NAMESPACE")
	if !ok || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("controller POD_NAMESPACE %+v, want a fieldRef to metadata.namespace", e)
	}
	// Empty values leave the binary's detection and defaults in charge.
	for _, name := range []string{"CERT_MANAGER", "DNS_MANAGER", "DNS_TARGET", "CLIENT_QPS", "CLIENT_BURST"} {
		if e, ok := envVar(c, name); ok {
			t.Errorf("controller env %s=%q set by default", name, e.Value)
		}
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("controller replicas %v, want 1", d.Spec.Replicas)
	}
}

// need is one permission a component needs.
type need struct {
	group, resource, verb string
}

// allows reports whether the rules grant verb on group/resource.
func allows(rules []rbacv1.PolicyRule, n need) bool {
	for _, r := range rules {
		if (slices.Contains(r.APIGroups, n.group) || slices.Contains(r.APIGroups, "*")) &&
			(slices.Contains(r.Resources, n.resource) || slices.Contains(r.Resources, "*")) &&
			(slices.Contains(r.Verbs, n.verb) || slices.Contains(r.Verbs, "*")) {
			return true
		}
	}
	return false
}

// allVerbs are the verbs the controller needs on the resources it manages.
var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// controllerNeeds lists the controller's permissions (spec 5).
func controllerNeeds() []need {
	var needs []need
	add := func(group string, resources []string, verbs ...string) {
		for _, r := range resources {
			for _, v := range verbs {
				needs = append(needs, need{group, r, v})
			}
		}
	}
	for _, r := range smeResources {
		add("sme.sap.com", []string{r, r + "/status", r + "/finalizers"}, allVerbs...)
	}
	add("", []string{"secrets", "configmaps", "services"}, allVerbs...)
	add("apps", []string{"deployments"}, allVerbs...)
	add("autoscaling", []string{"horizontalpodautoscalers"}, allVerbs...)
	add("policy", []string{"poddisruptionbudgets"}, allVerbs...)
	add("batch", []string{"jobs"}, allVerbs...)
	add("networking.k8s.io", []string{"networkpolicies"}, allVerbs...)
	add("networking.istio.io", []string{"gateways", "virtualservices", "destinationrules"}, allVerbs...)
	add("cert.gardener.cloud", []string{"certificates"}, allVerbs...)
	add("dns.gardener.cloud", []string{"dnsentries"}, allVerbs...)
	add("cert-manager.io", []string{"certificates"}, allVerbs...)
	add("monitoring.coreos.com", []string{"servicemonitors"}, allVerbs...)
	add("", []string{"pods"}, "get", "list", "watch")
	add("discovery.k8s.io", []string{"endpointslices"}, "get", "list", "watch")
	add("", []string{"events"}, "create", "patch", "update")
	add("events.k8s.io", []string{"events"}, "create", "patch", "update")
	return needs
}

// serverNeeds lists the subscription server's permissions (docs/internals/subscription-server.md).
func serverNeeds() []need {
	var needs []need
	for _, r := range []string{"capapplications", "capapplicationversions", "captenantoutputs", "domains", "clusterdomains"} {
		for _, v := range []string{"get", "list", "watch"} {
			needs = append(needs, need{"sme.sap.com", r, v})
		}
	}
	for _, v := range []string{"create", "delete", "get", "list", "update", "patch", "watch"} {
		needs = append(needs, need{"sme.sap.com", "captenants", v})
	}
	for _, v := range []string{"create", "get", "update", "list", "watch", "delete"} {
		needs = append(needs, need{"", "secrets", v}, need{"", "configmaps", v})
	}
	for _, v := range []string{"create", "patch"} {
		needs = append(needs, need{"", "events", v}, need{"events.k8s.io", "events", v})
	}
	return needs
}

// webhookNeeds lists the webhook's permissions (docs/internals/webhooks.md).
func webhookNeeds() []need {
	var needs []need
	for _, r := range smeResources {
		for _, v := range []string{"get", "list", "watch"} {
			needs = append(needs, need{"sme.sap.com", r, v})
		}
	}
	return append(needs, need{"sme.sap.com", "domains", "create"}, need{"sme.sap.com", "clusterdomains", "create"})
}

// checkControllerRBAC checks the controller's ClusterRole, its binding and the leader-election
// Role in the release namespace.
func checkControllerRBAC(t *testing.T, objs manifests, ns string) {
	t.Helper()
	name := release + "-controller"
	var role rbacv1.ClusterRole
	objs.get(t, "ClusterRole", name, &role)
	for _, n := range controllerNeeds() {
		if !allows(role.Rules, n) {
			t.Errorf("controller ClusterRole does not allow %s on %s.%s", n.verb, n.resource, n.group)
		}
	}
	checkBinding(t, objs, "ClusterRoleBinding", name, "ClusterRole", name, ns, name)
	var lease rbacv1.Role
	objs.get(t, "Role", name+"-leader-election", &lease)
	if lease.Namespace != ns {
		t.Errorf("leader-election Role in %q, want %q", lease.Namespace, ns)
	}
	for _, v := range []string{"get", "create", "update"} {
		if !allows(lease.Rules, need{"coordination.k8s.io", "leases", v}) {
			t.Errorf("leader-election Role does not allow %s on leases", v)
		}
	}
	checkBinding(t, objs, "RoleBinding", name+"-leader-election", "Role", name+"-leader-election", ns, name)
}

// checkServerRBAC checks the subscription server's ClusterRole and binding.
func checkServerRBAC(t *testing.T, objs manifests) {
	t.Helper()
	name := release + "-subscription-server"
	var role rbacv1.ClusterRole
	objs.get(t, "ClusterRole", name, &role)
	for _, n := range serverNeeds() {
		if !allows(role.Rules, n) {
			t.Errorf("subscription server ClusterRole does not allow %s on %s.%s", n.verb, n.resource, n.group)
		}
	}
	for _, n := range []need{{"sme.sap.com", "capapplications", "update"}, {"sme.sap.com", "captenantoperations", "create"}} {
		if allows(role.Rules, n) {
			t.Errorf("subscription server ClusterRole allows %s on %s, which it does not need", n.verb, n.resource)
		}
	}
	var b rbacv1.ClusterRoleBinding
	objs.get(t, "ClusterRoleBinding", name, &b)
	checkBinding(t, objs, "ClusterRoleBinding", name, "ClusterRole", name, b.Subjects[0].Namespace, name)
}

// checkWebhookRBAC checks the webhook's ClusterRole: reads, and creating domains only.
func checkWebhookRBAC(t *testing.T, objs manifests) {
	t.Helper()
	name := release + "-webhook"
	var role rbacv1.ClusterRole
	objs.get(t, "ClusterRole", name, &role)
	for _, n := range webhookNeeds() {
		if !allows(role.Rules, n) {
			t.Errorf("webhook ClusterRole does not allow %s on %s", n.verb, n.resource)
		}
	}
	for _, n := range []need{{"sme.sap.com", "capapplications", "update"}, {"sme.sap.com", "domains", "delete"}, {"", "secrets", "get"}} {
		if allows(role.Rules, n) {
			t.Errorf("webhook ClusterRole allows %s on %s, which it does not need", n.verb, n.resource)
		}
	}
	var b rbacv1.ClusterRoleBinding
	objs.get(t, "ClusterRoleBinding", name, &b)
	checkBinding(t, objs, "ClusterRoleBinding", name, "ClusterRole", name, b.Subjects[0].Namespace, name)
}

// checkBinding checks that a binding grants roleKind/roleName to the ServiceAccount sa in ns.
func checkBinding(t *testing.T, objs manifests, kind, name, roleKind, roleName, ns, sa string) {
	t.Helper()
	u := objs.find(kind, name)
	if u == nil {
		t.Errorf("no %s %s", kind, name)
		return
	}
	var ref rbacv1.RoleRef
	var subjects []rbacv1.Subject
	if kind == "RoleBinding" {
		var b rbacv1.RoleBinding
		objs.get(t, kind, name, &b)
		ref, subjects = b.RoleRef, b.Subjects
	} else {
		var b rbacv1.ClusterRoleBinding
		objs.get(t, kind, name, &b)
		ref, subjects = b.RoleRef, b.Subjects
	}
	if ref.Kind != roleKind || ref.Name != roleName || ref.APIGroup != rbacv1.GroupName {
		t.Errorf("%s %s refers to %+v, want %s %s", kind, name, ref, roleKind, roleName)
	}
	want := rbacv1.Subject{Kind: "ServiceAccount", Name: sa, Namespace: ns}
	if !slices.Contains(subjects, want) {
		t.Errorf("%s %s subjects %+v lack %+v", kind, name, subjects, want)
	}
}

// checkAggregatedRoles checks the view, edit and admin ClusterRoles and their aggregation
// labels.
func checkAggregatedRoles(t *testing.T, objs manifests) {
	t.Helper()
	for _, tc := range []struct {
		suffix, label string
		allowed       []need
		denied        []need
	}{
		{"view", "aggregate-to-view",
			[]need{{"sme.sap.com", "capapplications", "get"}, {"sme.sap.com", "captenants", "list"}, {"sme.sap.com", "domains", "watch"}},
			[]need{{"sme.sap.com", "capapplications", "create"}, {"sme.sap.com", "captenants", "delete"}}},
		{"edit", "aggregate-to-edit",
			[]need{{"sme.sap.com", "capapplications", "create"}, {"sme.sap.com", "capapplicationversions", "delete"}, {"sme.sap.com", "domains", "update"}},
			[]need{{"sme.sap.com", "captenants", "create"}, {"sme.sap.com", "captenantoperations", "delete"}}},
		{"admin", "aggregate-to-admin",
			[]need{{"sme.sap.com", "captenants", "delete"}, {"sme.sap.com", "captenantoperations", "create"}}, nil},
	} {
		name := release + "-" + tc.suffix
		var role rbacv1.ClusterRole
		objs.get(t, "ClusterRole", name, &role)
		if role.Labels["rbac.authorization.k8s.io/"+tc.label] != "true" {
			t.Errorf("ClusterRole %s lacks label rbac.authorization.k8s.io/%s=true", name, tc.label)
		}
		for _, n := range tc.allowed {
			if !allows(role.Rules, n) {
				t.Errorf("ClusterRole %s does not allow %s on %s", name, n.verb, n.resource)
			}
		}
		for _, n := range tc.denied {
			if allows(role.Rules, n) {
				t.Errorf("ClusterRole %s allows %s on %s", name, n.verb, n.resource)
			}
		}
	}
}

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
			"/mutate", admissionv1.SideEffectClassNoneOnDryRun,
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
