package capapplication

import (
	"encoding/json"
	"errors"
	"sort"

	"golang.org/x/mod/semver"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// checkDomains resolves the referenced domains and waits for each to exist and be Ready.
// When they are, it returns them and the outcome records them in domainSpecHash.
func (ctl *Controller) checkDomains(ca *v1alpha1.CAPApplication) ([]domainref.DomainInfo, outcome, bool) {
	domains, err := domainref.Resolve(ca, ctl.domains, ctl.clusterDoms, ctl.c.Options.OperatorNamespace)
	var refErr *domainref.RefError
	switch {
	case errors.As(err, &refErr) && refErr.Problem == domainref.ProblemNotFound:
		ctl.eventOnChange(ca, corev1.EventTypeWarning, ReasonProcessingDomainRefs, "MissingDomainReferences", refErr.Error())
		return nil, notReady(v1alpha1.CAPApplicationStateProcessing, ReasonProcessingDomainRefs, refErr.Error()), false
	case errors.As(err, &refErr) && refErr.Problem == domainref.ProblemFailed:
		return nil, notReady(v1alpha1.CAPApplicationStateError, ReasonDomainRefError, refErr.Error()), false
	case err != nil:
		return nil, notReady(v1alpha1.CAPApplicationStateProcessing, ReasonProcessingDomainRefs, "waiting for domain references to be ready: "+err.Error()), false
	}
	data, _ := json.Marshal(domainref.SpecMap(domains)) // a map of strings always marshals
	hash := string(data)
	return domains, outcome{domainSpecHash: &hash}, true
}

// versions returns the application's versions that are not being deleted.
func (ctl *Controller) versions(ca *v1alpha1.CAPApplication) ([]*v1alpha1.CAPApplicationVersion, error) {
	cavs, err := controller.ByIndex[*v1alpha1.CAPApplicationVersion](ctl.cavIndexer, controller.IndexByApplication, controller.ApplicationKey(ca.Namespace, ca.Name))
	if err != nil {
		return nil, err
	}
	out := cavs[:0]
	for _, cav := range cavs {
		if cav.DeletionTimestamp == nil {
			out = append(out, cav)
		}
	}
	return out, nil
}

// latestVersions returns the highest Ready version (nil if none) and the highest version of
// any state.
func (ctl *Controller) latestVersions(ca *v1alpha1.CAPApplication) (latestReady, newest *v1alpha1.CAPApplicationVersion, err error) {
	cavs, err := ctl.versions(ca)
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(cavs, func(i, j int) bool { return CompareVersions(cavs[i].Spec.Version, cavs[j].Spec.Version) > 0 })
	for _, cav := range cavs {
		if newest == nil {
			newest = cav
		}
		if meta.IsStatusConditionTrue(cav.Status.Conditions, v1alpha1.ConditionTypeReady) {
			return cav, newest, nil
		}
	}
	return nil, newest, nil
}

// CompareVersions compares two CAPApplicationVersion versions by semantic versioning.
func CompareVersions(a, b string) int {
	return semver.Compare("v"+a, "v"+b)
}

// observedSubdomains returns the sorted subdomains in use by the application's versions'
// service exposures and its tenants.
func (ctl *Controller) observedSubdomains(ca *v1alpha1.CAPApplication) ([]string, error) {
	set := map[string]bool{}
	cavs, err := ctl.versions(ca)
	if err != nil {
		return nil, err
	}
	for _, cav := range cavs {
		for _, e := range cav.Spec.ServiceExposures {
			set[e.SubDomain] = true
		}
	}
	tenants, err := ctl.appTenants(ca)
	if err != nil {
		return nil, err
	}
	for _, t := range tenants {
		set[t.Spec.SubDomain] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// appTenants returns the application's tenants.
func (ctl *Controller) appTenants(ca *v1alpha1.CAPApplication) ([]*v1alpha1.CAPTenant, error) {
	return controller.ByIndex[*v1alpha1.CAPTenant](ctl.tenantIndex, controller.IndexByApplication, controller.ApplicationKey(ca.Namespace, ca.Name))
}
