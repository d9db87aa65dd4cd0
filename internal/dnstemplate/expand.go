package dnstemplate

import (
	"bytes"
	"fmt"
	"net"
	"sort"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// subDomainVariable is how a template refers to the subdomain. A name template containing
// it is expanded once per subdomain in use; the specification defines the test textually.
const subDomainVariable = ".subDomain"

// DNSRecord is one DNS entry a domain needs.
type DNSRecord struct {
	// Name is the DNS name of the entry.
	Name string
	// Target is the entry's single target (a host name or an IP address).
	Target string
	// AppUID is the UID of the application that claimed the subdomain the entry was expanded
	// for; empty for entries that do not depend on a subdomain.
	AppUID types.UID
}

// Subdomain is a subdomain in use and the application that claimed it first.
type Subdomain struct {
	// Name is the subdomain, the first label of the host.
	Name string
	// AppUID is the UID of the claiming application.
	AppUID types.UID
}

// SubdomainConflict is a subdomain claimed by a later application than its first claimant.
type SubdomainConflict struct {
	// Subdomain is the contested subdomain.
	Subdomain string
	// Later is the application whose claim is ignored.
	Later *v1alpha1.CAPApplication
	// First is the application that keeps the subdomain.
	First *v1alpha1.CAPApplication
}

// TemplateError reports a DNS template that cannot be used; it is a spec error, so the
// domain goes to Error without retries until the spec changes.
type TemplateError struct {
	// Template names the template, for example "dnsTemplates[1]" or "Wildcard".
	Template string
	// Field is "name" or "target".
	Field string
	// Text is the template text.
	Text string
	// Err says what is wrong.
	Err error
}

// Error implements error.
func (e *TemplateError) Error() string {
	return fmt.Sprintf("DNS template %s %s %q: %v", e.Template, e.Field, e.Text, e.Err)
}

// Unwrap returns the cause.
func (e *TemplateError) Unwrap() error { return e.Err }

// ClaimSubdomains collects the observedSubdomains of the referencing applications, in the
// order ReferencingApps returns them, so that the earliest application keeps a subdomain
// two applications claim. The result is sorted by subdomain.
func ClaimSubdomains(apps []*v1alpha1.CAPApplication) ([]Subdomain, []SubdomainConflict) {
	owners := map[string]*v1alpha1.CAPApplication{}
	var conflicts []SubdomainConflict
	for _, ca := range apps {
		for _, sub := range ca.Status.ObservedSubdomains {
			if first, taken := owners[sub]; taken {
				if first.UID != ca.UID {
					conflicts = append(conflicts, SubdomainConflict{Subdomain: sub, Later: ca, First: first})
				}
				continue
			}
			owners[sub] = ca
		}
	}
	subs := make([]Subdomain, 0, len(owners))
	for name, ca := range owners {
		subs = append(subs, Subdomain{Name: name, AppUID: ca.UID})
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
	return subs, conflicts
}

// namedTemplate is a DNS template with the name used in error messages.
type namedTemplate struct {
	label string
	v1alpha1.DNSTemplate
}

// templatesFor returns the templates of a DNS mode: fixed ones for Wildcard and Subdomain,
// the spec's for Custom, none for None.
func templatesFor(spec *v1alpha1.DomainSpec) []namedTemplate {
	switch spec.DNSMode {
	case v1alpha1.DNSModeWildcard:
		return []namedTemplate{{"Wildcard", v1alpha1.DNSTemplate{Name: "*.{{.domain}}", Target: "{{.dnsTarget}}"}}}
	case v1alpha1.DNSModeSubdomain:
		return []namedTemplate{{"Subdomain", v1alpha1.DNSTemplate{Name: "{{.subDomain}}.{{.domain}}", Target: "{{.dnsTarget}}"}}}
	case v1alpha1.DNSModeCustom:
		out := make([]namedTemplate, len(spec.DNSTemplates))
		for i, t := range spec.DNSTemplates {
			out[i] = namedTemplate{fmt.Sprintf("dnsTemplates[%d]", i), t}
		}
		return out
	default:
		return nil
	}
}

// ExpandDNSTemplates renders the DNS entries of a domain spec for the resolved DNS target
// and the subdomains in use. The records are sorted by name; two templates rendering the
// same name with different targets are an error.
func ExpandDNSTemplates(spec *v1alpha1.DomainSpec, dnsTarget string, subdomains []Subdomain) ([]DNSRecord, error) {
	byName := map[string]DNSRecord{}
	for _, t := range templatesFor(spec) {
		records, err := expandTemplate(t, spec.Domain, dnsTarget, subdomains)
		if err != nil {
			return nil, err
		}
		for _, r := range records {
			if prev, seen := byName[r.Name]; seen && prev.Target != r.Target {
				return nil, &TemplateError{Template: t.label, Field: "name", Text: t.Name,
					Err: fmt.Errorf("renders %q, which an earlier template points at %q, with target %q", r.Name, prev.Target, r.Target)}
			} else if seen {
				continue
			}
			byName[r.Name] = r
		}
	}
	out := make([]DNSRecord, 0, len(byName))
	for _, r := range byName {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// expandTemplate renders one template, once or once per subdomain.
func expandTemplate(t namedTemplate, domain, dnsTarget string, subdomains []Subdomain) ([]DNSRecord, error) {
	nameTmpl, err := parseTemplate(t.label, "name", t.Name)
	if err != nil {
		return nil, err
	}
	targetTmpl, err := parseTemplate(t.label, "target", t.Target)
	if err != nil {
		return nil, err
	}
	vars := map[string]any{"domain": domain, "dnsTarget": dnsTarget}
	if !strings.Contains(t.Name, subDomainVariable) {
		// A target depending on the subdomain needs one entry per subdomain, which only a
		// name depending on it can provide.
		if strings.Contains(t.Target, subDomainVariable) {
			return nil, &TemplateError{Template: t.label, Field: "target", Text: t.Target,
				Err: fmt.Errorf("uses %s but the name template %q does not", subDomainVariable, t.Name)}
		}
		r, err := render(t, nameTmpl, targetTmpl, vars)
		if err != nil {
			return nil, err
		}
		return []DNSRecord{r}, nil
	}
	records := make([]DNSRecord, 0, len(subdomains))
	for _, sub := range subdomains {
		vars["subDomain"] = sub.Name
		r, err := render(t, nameTmpl, targetTmpl, vars)
		if err != nil {
			return nil, err
		}
		r.AppUID = sub.AppUID
		records = append(records, r)
	}
	return records, nil
}

// parseTemplate parses a template with the sprig functions DNS templates may use (see
// package dnstemplate: none reads the controller's environment).
func parseTemplate(label, field, text string) (*template.Template, error) {
	t, err := Parse(label+"."+field, text)
	if err != nil {
		return nil, &TemplateError{Template: label, Field: field, Text: text, Err: err}
	}
	return t, nil
}

// render executes the name and target templates and validates the results.
func render(t namedTemplate, nameTmpl, targetTmpl *template.Template, vars map[string]any) (DNSRecord, error) {
	name, err := execute(nameTmpl, vars)
	if err == nil {
		err = validateDNSName(name)
	}
	if err != nil {
		return DNSRecord{}, &TemplateError{Template: t.label, Field: "name", Text: t.Name, Err: err}
	}
	target, err := execute(targetTmpl, vars)
	if err == nil {
		err = validateTarget(target)
	}
	if err != nil {
		return DNSRecord{}, &TemplateError{Template: t.label, Field: "target", Text: t.Target, Err: err}
	}
	return DNSRecord{Name: name, Target: target}, nil
}

// execute renders a template to a trimmed string.
func execute(t *template.Template, vars map[string]any) (string, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, vars); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}

// validateDNSName accepts a DNS subdomain, optionally with a leading "*." wildcard.
func validateDNSName(name string) error {
	check := validation.IsDNS1123Subdomain
	if strings.HasPrefix(name, "*.") {
		check = validation.IsWildcardDNS1123Subdomain
	}
	if errs := check(name); len(errs) > 0 {
		return fmt.Errorf("rendered %q, not a valid DNS name: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// validateTarget accepts a DNS subdomain or an IP address.
func validateTarget(target string) error {
	if net.ParseIP(target) != nil {
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(target); len(errs) > 0 {
		return fmt.Errorf("rendered %q, neither an IP address nor a valid DNS name: %s", target, strings.Join(errs, "; "))
	}
	return nil
}
