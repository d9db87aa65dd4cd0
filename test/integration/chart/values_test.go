package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// referenceValues writes testdata/reference-values.yaml, the documented keys of the CAP
// Operator's chart, with the Istio namespace filled in, and returns its path.
func referenceValues(t *testing.T, istioNS string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "reference-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(data), "ISTIO_NAMESPACE", istioNS)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReferenceValues renders the chart with a values file written for the CAP Operator's own
// chart and checks that every setting reaches the objects: the same environment variables,
// ports, scheduling settings and certificate issuers.
func TestReferenceValues(t *testing.T) {
	ns, istioNS := newNamespace(t), newNamespace(t)
	objs := render(t, release, ns, "-f", referenceValues(t, istioNS))
	dryRunApply(t, objs)

	deployments := map[string]*appsv1.Deployment{}
	for _, comp := range []string{"controller", "subscription-server", "webhook"} {
		d := &appsv1.Deployment{}
		objs.get(t, "Deployment", release+"-"+comp, d)
		deployments[comp] = d
		pod := d.Spec.Template.Spec
		c := container(t, d, comp)
		if !strings.HasSuffix(c.Image, ":1.2.3") || c.ImagePullPolicy != corev1.PullAlways {
			t.Errorf("%s image %q pull policy %q, want tag 1.2.3 and Always", comp, c.Image, c.ImagePullPolicy)
		}
		if len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "registry-credentials" {
			t.Errorf("%s imagePullSecrets %v", comp, pod.ImagePullSecrets)
		}
		if pod.SecurityContext == nil || pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser != 1001 {
			t.Errorf("%s podSecurityContext %+v, want runAsUser 1001", comp, pod.SecurityContext)
		}
		if pod.PriorityClassName != "operators-high" || pod.Affinity == nil || pod.Affinity.NodeAffinity == nil ||
			len(pod.TopologySpreadConstraints) != 1 || pod.TopologySpreadConstraints[0].TopologyKey != "topology.kubernetes.io/zone" {
			t.Errorf("%s priorityClassName %q affinity %v topologySpreadConstraints %v", comp, pod.PriorityClassName, pod.Affinity, pod.TopologySpreadConstraints)
		}
		if d.Spec.Template.Annotations["example.com/owner"] != "cap-team" {
			t.Errorf("%s pod annotations %v lack the global podAnnotations", comp, d.Spec.Template.Annotations)
		}
		// Component settings replace the global ones.
		wantPool, wantLabel, wantToleration := "operators", "team", "dedicated"
		switch comp {
		case "controller":
			wantPool, wantLabel = "controllers", "component"
		case "webhook":
			wantToleration = "webhooks"
		}
		if pod.NodeSelector["pool"] != wantPool || d.Spec.Template.Labels[wantLabel] == "" ||
			len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != wantToleration {
			t.Errorf("%s nodeSelector %v, pod labels %v, tolerations %v; want pool %s, label %s, toleration %s",
				comp, pod.NodeSelector, d.Spec.Template.Labels, pod.Tolerations, wantPool, wantLabel, wantToleration)
		}
	}
	checkReferenceController(t, deployments["controller"])
	checkReferenceServer(t, objs, deployments["subscription-server"], istioNS)
	checkReferenceWebhook(t, objs, deployments["webhook"])
	for _, sm := range objs.ofKind("ServiceMonitor") {
		if sm.GetLabels()["release"] != "prometheus" {
			t.Errorf("ServiceMonitor %s lacks serviceMonitorSelectorLabels", sm.GetName())
		}
	}
	if n := len(objs.ofKind("ServiceMonitor")); n != 3 {
		t.Errorf("%d ServiceMonitors, want 3", n)
	}
	// The reference values' dashboard labels reach the dashboard ConfigMap.
	if cm := objs.find("ConfigMap", release+"-grafana-dashboard"); cm == nil || cm.GetLabels()["grafana_dashboard"] != "yes" {
		t.Errorf("Grafana dashboard ConfigMap with label grafana_dashboard=yes: %v", cm != nil)
	}
}

// checkReferenceController checks the controller settings of the reference values.
func checkReferenceController(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	c := container(t, d, "controller")
	for name, want := range map[string]string{
		"CERT_MANAGER": "cert-manager.io", "DNS_MANAGER": "kubernetes", "DNS_TARGET": "public-ingress.example.com",
		"DETAILED_OPERATIONAL_METRICS":                      "true",
		"MAX_CONCURRENT_RECONCILES_CAP_APPLICATION":         "2",
		"MAX_CONCURRENT_RECONCILES_CAP_APPLICATION_VERSION": "4",
		"MAX_CONCURRENT_RECONCILES_CAP_TENANT":              "11",
		"MAX_CONCURRENT_RECONCILES_CAP_TENANT_OPERATION":    "12",
		"MAX_CONCURRENT_RECONCILES_DOMAIN":                  "3",
		"MAX_CONCURRENT_RECONCILES_CLUSTER_DOMAIN":          "5",
		"PROMETHEUS_ADDRESS":                                "http://prometheus-operated.monitoring.svc:9090",
		"METRICS_EVAL_INTERVAL":                             "2h",
		"PROM_ACQUIRE_CLIENT_RETRY_DELAY":                   "30m",
		"CLIENT_QPS":                                        "30",
		"CLIENT_BURST":                                      "60",
		"ROLLOUT_DELAY":                                     "45m",
	} {
		if got := envValue(t, c, name); got != want {
			t.Errorf("controller env %s=%q, want %q", name, got, want)
		}
	}
	if *d.Spec.Replicas != 2 {
		t.Errorf("controller replicas %d, want 2", *d.Spec.Replicas)
	}
	if !c.Resources.Limits.Memory().Equal(resource.MustParse("600Mi")) || !c.Resources.Limits.Cpu().Equal(resource.MustParse("300m")) ||
		!c.Resources.Requests.Cpu().Equal(resource.MustParse("30m")) {
		t.Errorf("controller resources %v", c.Resources)
	}
	if len(d.Spec.Template.Spec.Volumes) != 1 || len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/extra" {
		t.Errorf("controller volumes %v mounts %v", d.Spec.Template.Spec.Volumes, c.VolumeMounts)
	}
}

// checkReferenceServer checks the subscription server settings of the reference values.
func checkReferenceServer(t *testing.T, objs manifests, d *appsv1.Deployment, istioNS string) {
	t.Helper()
	c := container(t, d, "subscription-server")
	if envValue(t, c, "PORT") != "4100" || containerPort(t, c, "server-port") != 4100 {
		t.Errorf("subscription server port: env %q container %d", envValue(t, c, "PORT"), containerPort(t, c, "server-port"))
	}
	if !c.Resources.Limits.Memory().Equal(resource.MustParse("300Mi")) {
		t.Errorf("subscription server resources %v", c.Resources)
	}
	credential := release + "-subscription-server-cert-manager"
	cert := objs.find("Certificate", credential)
	if cert == nil || cert.GetNamespace() != istioNS {
		t.Fatalf("no Certificate %s in %s; rendered %s", credential, istioNS, objs)
	}
	issuer, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
	cn, _, _ := unstructured.NestedString(cert.Object, "spec", "commonName")
	if issuer["name"] != "letsencrypt" || issuer["kind"] != "ClusterIssuer" || cn != "cap-op.cap.example.com" {
		t.Errorf("Certificate issuerRef %v commonName %q", issuer, cn)
	}
	gw := objs.find("Gateway", release+"-subscription-server")
	if gw == nil {
		t.Fatalf("no Gateway; rendered %s", objs)
	}
	selector, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
	servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
	mode, _, _ := unstructured.NestedString(servers[0].(map[string]any), "tls", "mode")
	if selector["istio"] != "custom-gateway" || selector["app"] != "custom-ingressgateway" || mode != "OPTIONAL_MUTUAL" {
		t.Errorf("Gateway selector %v TLS mode %q", selector, mode)
	}
	var ca corev1.Secret
	objs.get(t, "Secret", credential+"-cacert", &ca)
	if !strings.Contains(string(ca.Data["cacert"]), "ADDITIONAL_CA") {
		t.Errorf("CA Secret holds %q, not certificateConfig.additionalCACertificate", ca.Data["cacert"])
	}
}

// checkReferenceWebhook checks the webhook settings of the reference values.
func checkReferenceWebhook(t *testing.T, objs manifests, d *appsv1.Deployment) {
	t.Helper()
	c := container(t, d, "webhook")
	if *d.Spec.Replicas != 3 || envValue(t, c, "WEBHOOK_PORT") != "2443" || containerPort(t, c, "webhook-port") != 2443 {
		t.Errorf("webhook replicas %d, WEBHOOK_PORT %q, container port %d", *d.Spec.Replicas, envValue(t, c, "WEBHOOK_PORT"), containerPort(t, c, "webhook-port"))
	}
	var svc corev1.Service
	objs.get(t, "Service", release+"-webhook", &svc)
	if svc.Spec.Ports[0].Port != 8443 {
		t.Errorf("webhook Service port %d, want 8443", svc.Spec.Ports[0].Port)
	}
	var vwc admissionv1.ValidatingWebhookConfiguration
	objs.get(t, "ValidatingWebhookConfiguration", release, &vwc)
	if p := vwc.Webhooks[0].ClientConfig.Service.Port; p == nil || *p != 8443 {
		t.Errorf("registration calls port %v, want 8443", p)
	}
	cert := objs.find("Certificate", release+"-webhook-cert")
	if cert == nil {
		t.Fatalf("no webhook Certificate; rendered %s", objs)
	}
	issuer, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
	if issuer["name"] != "internal-ca" || issuer["kind"] != "ClusterIssuer" || issuer["group"] != "cert-manager.io" {
		t.Errorf("webhook Certificate issuerRef %v", issuer)
	}
	if n := len(objs.ofKind("Issuer")); n != 0 {
		t.Errorf("%d Issuers rendered although webhook.certificateConfig.certManager.issuerName names one", n)
	}
}

// TestValuesRefused checks that unknown keys, wrong types and keys of earlier versions fail
// with a message naming the key (and, for renamed keys, the new name), and that no value is
// silently dropped.
func TestValuesRefused(t *testing.T) {
	ns := newNamespace(t)
	for name, tc := range map[string]struct {
		args []string
		want []string
	}{
		"unknown top-level key":     {[]string{"--set", "replicas=2"}, []string{"replicas"}},
		"unknown controller key":    {[]string{"--set", "controller.rolloutDelays=1h"}, []string{"rolloutDelays"}},
		"typo in versionMonitoring": {[]string{"--set", "controller.versionMonitoring.prometheusAdress=http://p:9090"}, []string{"prometheusAdress"}},
		"unknown nested key":        {[]string{"--set", "subscriptionServer.certificateConfig.certManager.issuer=x"}, []string{"issuer"}},
		"unknown grafana key":       {[]string{"--set", "monitoring.grafana.dashboard.enabled=true"}, []string{"enabled"}},
		"wrong type":                {[]string{"--set", "webhook.replicas=two"}, []string{"replicas"}},
		"bad duration":              {[]string{"--set", "controller.rolloutDelay=1 hour"}, []string{"rolloutDelay"}},
		"bad enum":                  {[]string{"--set", "webhook.failurePolicy=Maybe"}, []string{"failurePolicy"}},
		"renamed CA key": {[]string{"--set", "subscriptionServer.additionalCACertificate=x"},
			[]string{"subscriptionServer.additionalCACertificate was renamed", "subscriptionServer.certificateConfig.additionalCACertificate"}},
		"renamed issuer key": {[]string{"--set", "webhook.certManagerIssuer.name=ca"},
			[]string{"webhook.certManagerIssuer was renamed", "webhook.certificateConfig.certManager.issuerName"}},
		"reference image": {[]string{"--set", "controller.image.repository=ghcr.io/sap/cap-operator/controller"},
			[]string{"controller.image.repository", "ghcr.io/sap/cap-operator/controller"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := template(t, release, ns, tc.args...)
			if err == nil {
				t.Fatalf("helm template %v succeeded", tc.args)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not name %q:\n%v", s, err)
				}
			}
		})
	}
}

// TestSchemaCoversEveryValue walks values.yaml and checks that values.schema.json declares
// every key with a description or a type, and that every object of the schema with declared
// properties refuses others.
func TestSchemaCoversEveryValue(t *testing.T) {
	var values map[string]any
	data, err := os.ReadFile(filepath.Join(chartDir(t), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	data, err = os.ReadFile(filepath.Join(chartDir(t), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	defs, _ := schema["definitions"].(map[string]any)
	var walk func(path string, value any, node map[string]any)
	walk = func(path string, value any, node map[string]any) {
		node = resolveSchema(defs, node)
		props, hasProps := node["properties"].(map[string]any)
		if hasProps && node["additionalProperties"] != false {
			t.Errorf("schema of %q declares properties but accepts others", path)
		}
		m, isMap := value.(map[string]any)
		if !isMap || !hasProps {
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub, ok := props[k].(map[string]any)
			if !ok {
				t.Errorf("values.yaml key %s.%s is not in values.schema.json", path, k)
				continue
			}
			walk(path+"."+k, m[k], sub)
		}
	}
	walk("", values, schema)
}

// resolveSchema follows $ref and single-element allOf wrappers to the schema they name.
func resolveSchema(defs map[string]any, node map[string]any) map[string]any {
	for {
		if ref, ok := node["$ref"].(string); ok {
			node, _ = defs[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
			continue
		}
		if all, ok := node["allOf"].([]any); ok && len(all) == 1 && node["properties"] == nil {
			node, _ = all[0].(map[string]any)
			continue
		}
		return node
	}
}
