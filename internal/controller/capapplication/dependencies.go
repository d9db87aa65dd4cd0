package capapplication

import (
	"encoding/json"
	"fmt"
	"sort"

	"golang.org/x/mod/semver"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// missingSecrets returns the binding Secrets of the application that do not exist.
func (ctl *Controller) missingSecrets(ca *v1alpha1.CAPApplication) []string {
	var missing []string
	for _, s := range ca.Spec.BTP.Services {
		if _, err := ctl.secrets.ByNamespace(ca.Namespace).Get(s.Secret); err != nil {
			missing = append(missing, s.Secret)
		}
	}
	return missing
}

// domainStatus returns the state and domain of a referenced domain, or found=false.
func (ctl *Controller) domainStatus(ca *v1alpha1.CAPApplication, ref v1alpha1.DomainRef) (state v1alpha1.DomainState, domain string, found bool) {
	if ref.Kind == v1alpha1.DomainRefKindClusterDomain {
		d, err := ctl.clusterDoms.Get(ref.Name)
		if err != nil {
			return "", "", false
		}
		return d.Status.State, d.Spec.Domain, true
	}
	d, err := ctl.domains.Domains(ca.Namespace).Get(ref.Name)
	if err != nil {
		return "", "", false
	}
	return d.Status.State, d.Spec.Domain, true
}

// checkDomains waits for every referenced domain to exist and be Ready. When they are, the
// outcome records the referenced domains in domainSpecHash and ok is true.
func (ctl *Controller) checkDomains(ca *v1alpha1.CAPApplication) (outcome, bool) {
	domains := map[string]string{}
	for _, ref := range ca.Spec.DomainRefs {
		state, domain, found := ctl.domainStatus(ca, ref)
		switch {
		case !found:
			msg := fmt.Sprintf("%s %s not found", ref.Kind, ref.Name)
			ctl.eventOnChange(ca, corev1.EventTypeWarning, ReasonProcessingDomainRefs, "MissingDomainReferences", msg)
			return notReady(v1alpha1.CAPApplicationStateProcessing, ReasonProcessingDomainRefs, msg), false
		case state == v1alpha1.DomainStateError:
			return notReady(v1alpha1.CAPApplicationStateError, ReasonDomainRefError, fmt.Sprintf("%s %s is in state Error", ref.Kind, ref.Name)), false
		case state != v1alpha1.DomainStateReady:
			return notReady(v1alpha1.CAPApplicationStateProcessing, ReasonProcessingDomainRefs, fmt.Sprintf("waiting for %s %s to be Ready", ref.Kind, ref.Name)), false
		}
		ns := ca.Namespace
		if ref.Kind == v1alpha1.DomainRefKindClusterDomain {
			ns = ""
		}
		domains[identity.DomainOwnerID(ns, ref.Name)] = domain
	}
	data, _ := json.Marshal(domains) // a map of strings always marshals
	hash := string(data)
	return outcome{domainSpecHash: &hash}, true
}

// versions returns the application's versions that are not being deleted.
func (ctl *Controller) versions(ca *v1alpha1.CAPApplication) []*v1alpha1.CAPApplicationVersion {
	cavs, _ := controller.ByIndex[*v1alpha1.CAPApplicationVersion](ctl.cavIndexer, controller.IndexByApplication, controller.ApplicationKey(ca.Namespace, ca.Name))
	out := cavs[:0]
	for _, cav := range cavs {
		if cav.DeletionTimestamp == nil {
			out = append(out, cav)
		}
	}
	return out
}

// latestVersions returns the highest Ready version (nil if none) and the highest version of
// any state.
func (ctl *Controller) latestVersions(ca *v1alpha1.CAPApplication) (latestReady, newest *v1alpha1.CAPApplicationVersion) {
	cavs := ctl.versions(ca)
	sort.Slice(cavs, func(i, j int) bool { return CompareVersions(cavs[i].Spec.Version, cavs[j].Spec.Version) > 0 })
	for _, cav := range cavs {
		if newest == nil {
			newest = cav
		}
		if meta.IsStatusConditionTrue(cav.Status.Conditions, v1alpha1.ConditionTypeReady) {
			return cav, newest
		}
	}
	return nil, newest
}

// CompareVersions compares two CAPApplicationVersion versions by semantic versioning.
func CompareVersions(a, b string) int {
	return semver.Compare("v"+a, "v"+b)
}

// isServicesOnly reports whether an application runs services only: its version has no job
// other than Content ones and it declares no provider.
func isServicesOnly(ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) bool {
	if ca.Spec.Provider != nil {
		return false
	}
	for _, w := range cav.Spec.Workloads {
		if w.JobDefinition != nil && w.JobDefinition.Type != v1alpha1.JobContent {
			return false
		}
	}
	return true
}

// observedSubdomains returns the sorted subdomains in use by the application's versions'
// service exposures and its tenants.
func (ctl *Controller) observedSubdomains(ca *v1alpha1.CAPApplication) []string {
	set := map[string]bool{}
	for _, cav := range ctl.versions(ca) {
		for _, e := range cav.Spec.ServiceExposures {
			set[e.SubDomain] = true
		}
	}
	for _, t := range ctl.appTenants(ca) {
		set[t.Spec.SubDomain] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// appTenants returns the application's tenants.
func (ctl *Controller) appTenants(ca *v1alpha1.CAPApplication) []*v1alpha1.CAPTenant {
	tenants, _ := controller.ByIndex[*v1alpha1.CAPTenant](ctl.tenantIndex, controller.IndexByApplication, controller.ApplicationKey(ca.Namespace, ca.Name))
	return tenants
}
