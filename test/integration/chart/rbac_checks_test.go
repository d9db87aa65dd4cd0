package chart

import (
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

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
