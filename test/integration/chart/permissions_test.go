package chart

import (
	"slices"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// leaseName is the controller's leader-election Lease, the only one its Role may read and
// renew.
const leaseName = "capoperator-lease-lock"

// allVerbs are the verbs a rule can grant on a resource.
var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// permissions maps "resource.group" ("resource" for the core group; subresources as
// "resource/sub.group") to the verbs a component's ClusterRole grants, exactly: the verbs
// its code uses (chart/README.md, "RBAC"), verified by grepping the clientset calls and informers
// of each binary and by the ServiceAccount scenarios of the fault tests (test/e2e/faults).
type permissions map[string][]string

// controllerPermissions are the controller's cluster-wide permissions.
var controllerPermissions = permissions{
	"capapplications.sme.sap.com":                   {"get", "list", "watch", "update", "patch"},
	"capapplicationversions.sme.sap.com":            {"get", "list", "watch", "update", "patch", "delete"},
	"domains.sme.sap.com":                           {"get", "list", "watch", "create", "update"},
	"clusterdomains.sme.sap.com":                    {"get", "list", "watch", "create", "update"},
	"captenants.sme.sap.com":                        {"get", "list", "watch", "create", "update", "patch", "delete"},
	"captenantoperations.sme.sap.com":               {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
	"captenantoutputs.sme.sap.com":                  {"get", "list", "watch", "delete"},
	"capapplications/status.sme.sap.com":            {"update"},
	"capapplicationversions/status.sme.sap.com":     {"update"},
	"captenants/status.sme.sap.com":                 {"update"},
	"captenantoperations/status.sme.sap.com":        {"update"},
	"domains/status.sme.sap.com":                    {"update"},
	"clusterdomains/status.sme.sap.com":             {"update"},
	"capapplications/finalizers.sme.sap.com":        {"update"},
	"capapplicationversions/finalizers.sme.sap.com": {"update"},
	"captenants/finalizers.sme.sap.com":             {"update"},
	"captenantoperations/finalizers.sme.sap.com":    {"update"},
	"domains/finalizers.sme.sap.com":                {"update"},
	"clusterdomains/finalizers.sme.sap.com":         {"update"},
	"secrets":                                       {"get", "list", "watch", "create", "update", "patch", "delete"},
	"services":                                      {"get", "list", "watch", "create", "update"},
	"deployments.apps":                              {"get", "list", "watch", "create", "update", "delete"},
	"horizontalpodautoscalers.autoscaling":          {"get", "list", "watch", "create", "update"},
	"poddisruptionbudgets.policy":                   {"get", "list", "watch", "create", "update"},
	"jobs.batch":                                    {"get", "list", "watch", "create", "update"},
	"networkpolicies.networking.k8s.io":             {"get", "list", "watch", "create", "update", "delete"},
	"gateways.networking.istio.io":                  {"get", "list", "watch", "create", "update", "delete"},
	"virtualservices.networking.istio.io":           {"get", "list", "watch", "create", "update", "delete"},
	"destinationrules.networking.istio.io":          {"get", "list", "watch", "create", "update"},
	"certificates.cert.gardener.cloud":              {"get", "list", "watch", "create", "update", "delete"},
	"certificates.cert-manager.io":                  {"get", "list", "watch", "create", "update", "delete"},
	"certificaterequests.cert-manager.io":           {"get", "list", "watch"},
	"dnsentries.dns.gardener.cloud":                 {"get", "list", "watch", "create", "update", "deletecollection"},
	"servicemonitors.monitoring.coreos.com":         {"get", "list", "watch", "create", "update"},
	"pods":                                          {"get", "list", "watch"},
	"endpointslices.discovery.k8s.io":               {"list"},
	"events.events.k8s.io":                          {"create", "patch"},
}

// serverPermissions are the subscription server's permissions.
var serverPermissions = permissions{
	"capapplications.sme.sap.com":        {"get", "list", "watch"},
	"capapplicationversions.sme.sap.com": {"get", "list", "watch"},
	"captenantoutputs.sme.sap.com":       {"get", "list"},
	"domains.sme.sap.com":                {"get", "list", "watch"},
	"clusterdomains.sme.sap.com":         {"get", "list", "watch"},
	"captenants.sme.sap.com":             {"get", "list", "watch", "create", "update", "delete"},
	"secrets":                            {"get", "create", "update", "delete"},
	"configmaps":                         {"get", "list", "create", "update", "delete"},
}

// webhookPermissions are the webhook's permissions.
var webhookPermissions = permissions{
	"capapplications.sme.sap.com":        {"get", "list"},
	"capapplicationversions.sme.sap.com": {"get", "list"},
	"captenants.sme.sap.com":             {"get", "list"},
	"domains.sme.sap.com":                {"get", "list"},
	"clusterdomains.sme.sap.com":         {"get", "list"},
}

// split returns the group and resource of a permissions key.
func split(key string) (group, resource string) {
	resource, group, _ = strings.Cut(key, ".")
	return group, resource
}

// keys returns the keys in order.
func (p permissions) keys() []string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// granted lists every permission of p.
func (p permissions) granted() []need {
	var needs []need
	for _, k := range p.keys() {
		group, resource := split(k)
		for _, v := range p[k] {
			needs = append(needs, need{group, resource, v})
		}
	}
	return needs
}

// withheld lists the verbs p does not grant on the resources it names, and every verb on
// some sensitive resources it does not name.
func (p permissions) withheld() []need {
	var needs []need
	keys := append(p.keys(), "configmaps", "secrets", "pods", "serviceaccounts/token", "roles.rbac.authorization.k8s.io",
		"clusterrolebindings.rbac.authorization.k8s.io", "validatingwebhookconfigurations.admissionregistration.k8s.io")
	for _, k := range keys {
		group, resource := split(k)
		for _, v := range allVerbs {
			if !slices.Contains(p[k], v) {
				needs = append(needs, need{group, resource, v})
			}
		}
	}
	return needs
}

// checkExactRules checks that rules grant exactly the permissions p: every verb of p, and
// nothing else (no wildcard, no resource or verb p does not list, no name restrictions that
// would make the rules narrower than they look).
func checkExactRules(t *testing.T, what string, rules []rbacv1.PolicyRule, p permissions) {
	t.Helper()
	for _, r := range rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("%s: unexpected rule %+v", what, r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				key := res
				if g != "" {
					key += "." + g
				}
				for _, v := range r.Verbs {
					if !slices.Contains(p[key], v) {
						t.Errorf("%s grants %s on %s, which the code does not use", what, v, key)
					}
				}
			}
		}
	}
	for _, n := range p.granted() {
		if !allows(rules, n) {
			t.Errorf("%s does not allow %s on %s (group %q)", what, n.verb, n.resource, n.group)
		}
	}
}
