package chart

import (
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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

// checkControllerRBAC checks the controller's ClusterRole, its binding and the leader-election
// Role in the release namespace.
func checkControllerRBAC(t *testing.T, objs manifests, ns string) {
	t.Helper()
	name := release + "-controller"
	var role rbacv1.ClusterRole
	objs.get(t, "ClusterRole", name, &role)
	checkExactRules(t, "controller ClusterRole", role.Rules, controllerPermissions)
	checkBinding(t, objs, "ClusterRoleBinding", name, "ClusterRole", name, ns, name)
	var lease rbacv1.Role
	objs.get(t, "Role", name+"-leader-election", &lease)
	if lease.Namespace != ns {
		t.Errorf("leader-election Role in %q, want %q", lease.Namespace, ns)
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{leaseName}, Verbs: []string{"get", "update"}},
	}
	if !equality.Semantic.DeepEqual(lease.Rules, want) {
		t.Errorf("leader-election Role rules %+v, want %+v", lease.Rules, want)
	}
	checkBinding(t, objs, "RoleBinding", name+"-leader-election", "Role", name+"-leader-election", ns, name)
}

// checkServerRBAC checks the subscription server's ClusterRole and binding.
func checkServerRBAC(t *testing.T, objs manifests) {
	t.Helper()
	name := release + "-subscription-server"
	var role rbacv1.ClusterRole
	objs.get(t, "ClusterRole", name, &role)
	checkExactRules(t, "subscription server ClusterRole", role.Rules, serverPermissions)
	var b rbacv1.ClusterRoleBinding
	objs.get(t, "ClusterRoleBinding", name, &b)
	checkBinding(t, objs, "ClusterRoleBinding", name, "ClusterRole", name, b.Subjects[0].Namespace, name)
}

// checkWebhookRBAC checks the webhook's ClusterRole: reads only.
func checkWebhookRBAC(t *testing.T, objs manifests) {
	t.Helper()
	name := release + "-webhook"
	var role rbacv1.ClusterRole
	objs.get(t, "ClusterRole", name, &role)
	checkExactRules(t, "webhook ClusterRole", role.Rules, webhookPermissions)
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
