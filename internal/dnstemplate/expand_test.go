package dnstemplate

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestExpandDNSTemplates covers every DNS mode, sprig functions and every template error.
func TestExpandDNSTemplates(t *testing.T) {
	subs := []Subdomain{{Name: "api", AppUID: "uid-a"}, {Name: "service", AppUID: "uid-b"}}
	custom := func(templates ...v1alpha1.DNSTemplate) v1alpha1.DomainSpec {
		return v1alpha1.DomainSpec{Domain: "my.example.com", DNSMode: v1alpha1.DNSModeCustom, DNSTemplates: templates}
	}
	tests := map[string]struct {
		// input
		spec       v1alpha1.DomainSpec
		subdomains []Subdomain
		// expectations
		want []DNSRecord
		// wantErr lists substrings of the error; the template's name must be among them.
		wantErr []string
	}{
		"none creates nothing": {spec: v1alpha1.DomainSpec{Domain: "my.example.com", DNSMode: v1alpha1.DNSModeNone}, subdomains: subs},
		"wildcard": {
			spec:       v1alpha1.DomainSpec{Domain: "my.example.com", DNSMode: v1alpha1.DNSModeWildcard},
			subdomains: subs,
			want:       []DNSRecord{{Name: "*.my.example.com", Target: "lb.example.com"}},
		},
		"subdomain expands per observed subdomain": {
			spec:       v1alpha1.DomainSpec{Domain: "my.example.com", DNSMode: v1alpha1.DNSModeSubdomain},
			subdomains: subs,
			want: []DNSRecord{
				{Name: "api.my.example.com", Target: "lb.example.com", AppUID: "uid-a"},
				{Name: "service.my.example.com", Target: "lb.example.com", AppUID: "uid-b"},
			},
		},
		"subdomain without subdomains creates nothing": {
			spec: v1alpha1.DomainSpec{Domain: "my.example.com", DNSMode: v1alpha1.DNSModeSubdomain},
		},
		"custom, the published example": {
			spec: custom(
				v1alpha1.DNSTemplate{Name: "*.{{ .domain }}", Target: "{{ .dnsTarget }}"},
				v1alpha1.DNSTemplate{Name: "{{ .subDomain }}.{{ .domain }}", Target: "{{ .dnsTarget }}"},
				v1alpha1.DNSTemplate{Name: "{{ .subDomain }}.myapp.com", Target: "{{ .subDomain }}.{{ .domain }}"},
			),
			subdomains: subs,
			want: []DNSRecord{
				{Name: "*.my.example.com", Target: "lb.example.com"},
				{Name: "api.my.example.com", Target: "lb.example.com", AppUID: "uid-a"},
				{Name: "api.myapp.com", Target: "api.my.example.com", AppUID: "uid-a"},
				{Name: "service.my.example.com", Target: "lb.example.com", AppUID: "uid-b"},
				{Name: "service.myapp.com", Target: "service.my.example.com", AppUID: "uid-b"},
			},
		},
		"sprig functions": {
			spec:       custom(v1alpha1.DNSTemplate{Name: `{{ .subDomain | upper | lower }}-x.{{ trimPrefix "my." .domain }}`, Target: `{{ .dnsTarget | replace "lb" "elb" }}`}),
			subdomains: subs[:1],
			want:       []DNSRecord{{Name: "api-x.example.com", Target: "elb.example.com", AppUID: "uid-a"}},
		},
		"an IP address target": {
			spec: custom(v1alpha1.DNSTemplate{Name: "direct.{{.domain}}", Target: "10.0.0.1"}),
			want: []DNSRecord{{Name: "direct.my.example.com", Target: "10.0.0.1"}},
		},
		"identical records are merged": {
			spec: custom(v1alpha1.DNSTemplate{Name: "*.{{.domain}}", Target: "{{.dnsTarget}}"},
				v1alpha1.DNSTemplate{Name: "*.my.example.com", Target: "lb.example.com"}),
			want: []DNSRecord{{Name: "*.my.example.com", Target: "lb.example.com"}},
		},
		"a name that does not parse": {
			spec:    custom(v1alpha1.DNSTemplate{Name: "{{ .domain", Target: "{{.dnsTarget}}"}),
			wantErr: []string{"dnsTemplates[0] name", "unclosed action"},
		},
		"a target that does not parse": {
			spec:    custom(v1alpha1.DNSTemplate{Name: "a.{{.domain}}", Target: "{{ nosuchfunc .dnsTarget }}"}),
			wantErr: []string{"dnsTemplates[0] target", `function "nosuchfunc" not defined`},
		},
		"an invalid DNS name": {
			spec:       custom(v1alpha1.DNSTemplate{Name: "{{.subDomain}}_x.{{.domain}}", Target: "{{.dnsTarget}}"}),
			subdomains: subs,
			wantErr:    []string{"dnsTemplates[0] name", `rendered "api_x.my.example.com", not a valid DNS name`},
		},
		"an invalid target": {
			spec:    custom(v1alpha1.DNSTemplate{Name: "a.{{.domain}}", Target: "Not A Host"}),
			wantErr: []string{"dnsTemplates[0] target", "neither an IP address nor a valid DNS name"},
		},
		"subDomain in a target whose name lacks it": {
			spec:       custom(v1alpha1.DNSTemplate{Name: "ok.{{.domain}}", Target: "x"}, v1alpha1.DNSTemplate{Name: "*.{{.domain}}", Target: "{{.subDomain}}.{{.domain}}"}),
			subdomains: subs,
			wantErr:    []string{"dnsTemplates[1] target", "uses .subDomain but the name template"},
		},
		"an unknown variable": {
			spec:    custom(v1alpha1.DNSTemplate{Name: "{{.domian}}", Target: "{{.dnsTarget}}"}),
			wantErr: []string{"dnsTemplates[0] name", `map has no entry for key "domian"`},
		},
		"an empty rendering": {
			spec:    custom(v1alpha1.DNSTemplate{Name: "{{ if false }}x{{ end }}", Target: "{{.dnsTarget}}"}),
			wantErr: []string{"dnsTemplates[0] name", `rendered ""`},
		},
		"one name with two targets": {
			spec:    custom(v1alpha1.DNSTemplate{Name: "a.{{.domain}}", Target: "x.example.com"}, v1alpha1.DNSTemplate{Name: "a.{{.domain}}", Target: "y.example.com"}),
			wantErr: []string{"dnsTemplates[1] name", `renders "a.my.example.com"`},
		},
		"an invalid subdomain in Subdomain mode": {
			spec:       v1alpha1.DomainSpec{Domain: "my.example.com", DNSMode: v1alpha1.DNSModeSubdomain},
			subdomains: []Subdomain{{Name: "Bad_Sub"}},
			wantErr:    []string{"Subdomain name", `rendered "Bad_Sub.my.example.com"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ExpandDNSTemplates(&tc.spec, "lb.example.com", tc.subdomains)
			if len(tc.wantErr) > 0 {
				var te *TemplateError
				if !errors.As(err, &te) {
					t.Fatalf("want a TemplateError, got %v (records %v)", err, got)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) && (len(got) > 0 || len(tc.want) > 0) {
				t.Errorf("records:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestClaimSubdomains checks that the earliest application keeps a contested subdomain.
func TestClaimSubdomains(t *testing.T) {
	app := func(name, uid string, subs ...string) *v1alpha1.CAPApplication {
		ca := &v1alpha1.CAPApplication{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(uid)}}
		ca.Status.ObservedSubdomains = subs
		return ca
	}
	first, later := app("first", "1", "api", "shared"), app("later", "2", "shared", "web")
	subs, conflicts := ClaimSubdomains([]*v1alpha1.CAPApplication{first, later})
	want := []Subdomain{{Name: "api", AppUID: "1"}, {Name: "shared", AppUID: "1"}, {Name: "web", AppUID: "2"}}
	if !reflect.DeepEqual(subs, want) {
		t.Errorf("subdomains = %v, want %v", subs, want)
	}
	if len(conflicts) != 1 || conflicts[0].Subdomain != "shared" || conflicts[0].Later != later || conflicts[0].First != first {
		t.Errorf("conflicts = %+v, want shared claimed by later", conflicts)
	}
}

// TestDNSTemplatesCannotReadTheEnvironment is the attack of a Domain author who writes a
// template that reads the controller's environment (its credentials) or resolves internal
// host names, hoping the value shows up in a DNS entry or an error message. The functions
// are refused by name, and the value never appears.
func TestDNSTemplatesCannotReadTheEnvironment(t *testing.T) {
	const secret = "s3cr3t-value-of-the-controller"
	t.Setenv("CAPSTAN_TEST_SECRET", secret)
	tests := map[string]struct {
		// template is the name template; the target is plain.
		template string
		// function is the refused function the error must name.
		function string
	}{
		"env":               {template: `{{ env "CAPSTAN_TEST_SECRET" }}.{{ .domain }}`, function: "env"},
		"expandenv":         {template: `{{ expandenv "$CAPSTAN_TEST_SECRET" }}.{{ .domain }}`, function: "expandenv"},
		"getHostByName":     {template: `{{ getHostByName "localhost" }}.{{ .domain }}`, function: "getHostByName"},
		"env in a pipeline": {template: `{{ "CAPSTAN_TEST_SECRET" | env | lower }}.{{ .domain }}`, function: "env"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := v1alpha1.DomainSpec{Domain: "my.example.com", DNSMode: v1alpha1.DNSModeCustom,
				DNSTemplates: []v1alpha1.DNSTemplate{{Name: tc.template, Target: "{{ .dnsTarget }}"}}}
			got, err := ExpandDNSTemplates(&spec, "lb.example.com", nil)
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("want a TemplateError, got %v (records %v)", err, got)
			}
			for _, want := range []string{"dnsTemplates[0] name", `function "` + tc.function + `" is not available in DNS templates`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error echoes the environment: %q", err)
			}
		})
	}
}
