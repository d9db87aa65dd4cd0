package validation

import (
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestDomainTemplates checks that the webhook denies DNS templates the controller would
// refuse: functions that read the controller's environment or resolve host names, and
// templates that do not parse, each with its field path.
func TestDomainTemplates(t *testing.T) {
	custom := func(templates ...v1alpha1.DNSTemplate) *v1alpha1.Domain {
		return &v1alpha1.Domain{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: testNS},
			Spec: v1alpha1.DomainSpec{Domain: "d.example.com", DNSMode: v1alpha1.DNSModeCustom, DNSTemplates: templates}}
	}
	tests := map[string]review{
		"the published templates": {op: admissionv1.Create, obj: custom(
			v1alpha1.DNSTemplate{Name: "*.{{ .domain }}", Target: "{{ .dnsTarget }}"},
			v1alpha1.DNSTemplate{Name: "{{ .subDomain }}.myapp.com", Target: "{{ .subDomain }}.{{ .domain }}"})},
		"env in a name": {op: admissionv1.Create, obj: custom(v1alpha1.DNSTemplate{Name: `{{ env "HOME" }}.{{ .domain }}`, Target: "{{ .dnsTarget }}"}),
			denied: []string{`spec.dnsTemplates[0].name`, `function "env" is not available in DNS templates`}},
		"expandenv in a target on update": {op: admissionv1.Update, old: custom(), obj: custom(
			v1alpha1.DNSTemplate{Name: "a.{{ .domain }}", Target: "{{ .dnsTarget }}"},
			v1alpha1.DNSTemplate{Name: "b.{{ .domain }}", Target: `{{ expandenv "$HOME" }}`}),
			denied: []string{`spec.dnsTemplates[1].target`, `function "expandenv" is not available in DNS templates`}},
		"getHostByName": {op: admissionv1.Create, obj: custom(v1alpha1.DNSTemplate{Name: "a.{{ .domain }}", Target: `{{ getHostByName "kubernetes.default" }}`}),
			denied: []string{`spec.dnsTemplates[0].target`, `function "getHostByName" is not available`}},
		"a template that does not parse": {op: admissionv1.Create, obj: custom(v1alpha1.DNSTemplate{Name: "{{ .domain", Target: "{{ .dnsTarget }}"}),
			denied: []string{`spec.dnsTemplates[0].name`, "unclosed action"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

// TestClusterDomainTemplates checks the same rule for ClusterDomains.
func TestClusterDomainTemplates(t *testing.T) {
	runReview(t, review{op: admissionv1.Create, obj: &v1alpha1.ClusterDomain{ObjectMeta: metav1.ObjectMeta{Name: "c"},
		Spec: v1alpha1.DomainSpec{Domain: "c.example.com", DNSMode: v1alpha1.DNSModeCustom,
			DNSTemplates: []v1alpha1.DNSTemplate{{Name: `{{ env "HOME" }}.{{ .domain }}`, Target: "x"}}}},
		denied: []string{`spec.dnsTemplates[0].name`, `function "env" is not available`}})
}
