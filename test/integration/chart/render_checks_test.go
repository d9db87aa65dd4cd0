package chart

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

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
		// A memory limit and requests, but no CPU quota to throttle mass operations.
		if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
			t.Errorf("%s has no memory limit or no requests: %+v", tc.name, c.Resources)
		}
		if _, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
			t.Errorf("%s has a CPU limit by default: %+v", tc.name, c.Resources)
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
