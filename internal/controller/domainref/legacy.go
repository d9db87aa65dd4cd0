package domainref

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// LegacyDomain is one host of the deprecated spec.domains of a CAPApplication.
type LegacyDomain struct {
	// Host is the host name.
	Host string
	// Primary is true for spec.domains.primary, false for a secondary.
	Primary bool
	// Path is the host's field, for error messages.
	Path *field.Path
}

// LegacyDomains lists the hosts of the deprecated spec.domains, the primary first, each host
// once (spec 4.3). Both the mutating webhook and the CAPApplication controller migrate them.
func LegacyDomains(ca *v1alpha1.CAPApplication) []LegacyDomain {
	d := ca.Spec.Domains
	if d == nil {
		return nil
	}
	path := field.NewPath("spec", "domains")
	var out []LegacyDomain
	seen := map[string]bool{}
	add := func(host string, primary bool, p *field.Path) {
		if host == "" || seen[host] {
			return
		}
		seen[host] = true
		out = append(out, LegacyDomain{Host: host, Primary: primary, Path: p})
	}
	add(d.Primary, true, path.Child("primary"))
	for i, host := range d.Secondary {
		add(string(host), false, path.Child("secondary").Index(i))
	}
	return out
}

// MatchLegacy returns a reference to an existing object serving host: a Domain of the
// application's namespace (domains holds that namespace's), else a ClusterDomain; nil when
// neither exists.
func MatchLegacy(host string, domains []*v1alpha1.Domain, clusterDomains []*v1alpha1.ClusterDomain) *v1alpha1.DomainRef {
	for _, d := range domains {
		if d.Spec.Domain == host {
			return &v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindDomain, Name: d.Name}
		}
	}
	for _, d := range clusterDomains {
		if d.Spec.Domain == host {
			return &v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindClusterDomain, Name: d.Name}
		}
	}
	return nil
}
