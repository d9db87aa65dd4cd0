package chart

import (
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// TestSubscriptionServerAccess checks who may reach the subscription server and what it
// trusts (docs/security.md): by default a NetworkPolicy admits only the ingress gateway's pods
// to the API port, and the server verifies SMS client certificates against the chart's CAs;
// the AuthorizationPolicy option renders a policy the Istio CRD accepts.
func TestSubscriptionServerAccess(t *testing.T) {
	ns := newNamespace(t)
	objs := render(t, release, ns)
	var server appsv1.Deployment
	objs.get(t, "Deployment", release+"-subscription-server", &server)
	podLabels := labels.Set(server.Spec.Template.Labels)

	var np networkingv1.NetworkPolicy
	objs.get(t, "NetworkPolicy", release+"-subscription-server", &np)
	sel := labels.SelectorFromSet(np.Spec.PodSelector.MatchLabels)
	if !sel.Matches(podLabels) || len(np.Spec.PodSelector.MatchLabels) == 0 {
		t.Errorf("NetworkPolicy selector %v does not select the server pods %v", np.Spec.PodSelector.MatchLabels, podLabels)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(np.Spec.Ingress) != 2 {
		t.Fatalf("NetworkPolicy %+v, want two ingress rules", np.Spec)
	}
	api := np.Spec.Ingress[0]
	if len(api.Ports) != 1 || api.Ports[0].Port.String() != "server-port" || len(api.From) != 1 {
		t.Fatalf("API rule %+v, want only the gateway on server-port", api)
	}
	peer := api.From[0]
	if peer.NamespaceSelector == nil || peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "istio-system" ||
		peer.PodSelector == nil || peer.PodSelector.MatchLabels["istio"] != "ingressgateway" || peer.PodSelector.MatchLabels["app"] != "istio-ingressgateway" {
		t.Errorf("API peer %+v, want the ingress gateway pods of istio-system", peer)
	}
	if metrics := np.Spec.Ingress[1]; len(metrics.From) != 0 || len(metrics.Ports) != 1 || metrics.Ports[0].Port.String() != "metrics-port" {
		t.Errorf("metrics rule %+v, want metrics-port open to probes and Prometheus", metrics)
	}

	// The trusted client CAs: the additional CA plus clientCACertificates, mounted and passed.
	var cm corev1.ConfigMap
	objs.get(t, "ConfigMap", release+"-subscription-server-client-ca", &cm)
	if certs := pemCerts(t, cm.Data["ca.crt"]); len(certs) != 1 || certs[0].Subject.CommonName != "SAP Cloud Root CA" {
		t.Errorf("client CA bundle holds %d certificates, want the SAP Cloud Root CA", len(certs))
	}
	c := container(t, &server, "subscription-server")
	if !slices.Contains(c.Args, "--client-ca-file=/app/etc/client-ca/ca.crt") {
		t.Errorf("server args %v lack --client-ca-file", c.Args)
	}
	if server.Spec.Template.Annotations["operator.sme.sap.com/checksum-client-ca"] == "" {
		t.Error("no checksum annotation: pods would not restart when the CAs change")
	}

	// Options: an extra CA, no NetworkPolicy, an AuthorizationPolicy, a request limit.
	extra := strings.TrimSpace(cm.Data["ca.crt"]) // any PEM certificate will do
	objs = render(t, release, ns, "--set", "subscriptionServer.networkPolicy.enabled=false,subscriptionServer.authorizationPolicy.enabled=true,"+
		"subscriptionServer.maxRequestsInFlight=10", "--set-string", "subscriptionServer.clientCACertificates="+extra)
	dryRunApply(t, objs)
	if objs.find("NetworkPolicy", release+"-subscription-server") != nil {
		t.Error("NetworkPolicy rendered although disabled")
	}
	objs.get(t, "ConfigMap", release+"-subscription-server-client-ca", &cm)
	if n := len(pemCerts(t, cm.Data["ca.crt"])); n != 2 {
		t.Errorf("client CA bundle holds %d certificates, want 2", n)
	}
	ap := objs.find("AuthorizationPolicy", release+"-subscription-server")
	if ap == nil {
		t.Fatal("no AuthorizationPolicy rendered")
	}
	rules, _, _ := unstructured.NestedSlice(ap.Object, "spec", "rules")
	if len(rules) != 2 || !strings.Contains(strings.Join(rulePrincipals(rules[0]), ","), "istio-system/sa/istio-ingressgateway-service-account") {
		t.Errorf("AuthorizationPolicy rules %v, want the gateway's principal on the API port", rules)
	}
	objs.get(t, "Deployment", release+"-subscription-server", &server)
	if c := container(t, &server, "subscription-server"); !slices.Contains(c.Args, "--max-requests-in-flight=10") {
		t.Errorf("server args %v lack --max-requests-in-flight=10", c.Args)
	}

	// Without any CA the server gets no bundle (and refuses SMS requests, as documented).
	objs = render(t, release, ns, "--set", "subscriptionServer.certificateConfig.additionalCACertificate=")
	if objs.find("ConfigMap", release+"-subscription-server-client-ca") != nil {
		t.Error("client CA ConfigMap rendered without CAs")
	}
}

// pemCerts parses the certificates of a PEM bundle.
func pemCerts(t *testing.T, bundle string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for rest := []byte(bundle); ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return out
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("client CA bundle: %v", err)
		}
		out = append(out, cert)
	}
}

// rulePrincipals returns the source principals of an AuthorizationPolicy rule.
func rulePrincipals(rule any) []string {
	var out []string
	from, _, _ := unstructured.NestedSlice(rule.(map[string]any), "from")
	for _, f := range from {
		src, _ := f.(map[string]any)["source"].(map[string]any)
		list, _ := src["principals"].([]any)
		for _, p := range list {
			out = append(out, p.(string))
		}
	}
	return out
}
