package validation

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// workloadTypeCounts counts the workloads of each deployment and job type.
func workloadTypeCounts(cav *v1alpha1.CAPApplicationVersion) map[string]int {
	counts := map[string]int{}
	for _, wl := range cav.Spec.Workloads {
		switch {
		case wl.DeploymentDefinition != nil:
			counts[string(wl.DeploymentDefinition.Type)]++
		case wl.JobDefinition != nil:
			counts[string(wl.JobDefinition.Type)]++
		}
	}
	return counts
}

// validateWorkloadCounts checks the mix of workload types (spec 4.1 rule 3). A multi-tenant
// version needs exactly one CAP and one Router workload. Unlike the previous implementation it
// needs no TenantOperation workload: the CAP workload stands in for it (spec 0.14), as the
// published walk-through's first version shows. A services-only version has no tenants and
// so no tenant-operation jobs.
func validateWorkloadCounts(cav *v1alpha1.CAPApplicationVersion, servicesOnly bool) field.ErrorList {
	workloads := field.NewPath("spec", "workloads")
	counts := workloadTypeCounts(cav)
	var errs field.ErrorList
	if servicesOnly {
		for _, t := range []v1alpha1.JobType{v1alpha1.JobTenantOperation, v1alpha1.JobCustomTenantOperation} {
			if counts[string(t)] > 0 {
				errs = append(errs, field.Invalid(workloads, typedNames(cav, string(t)),
					fmt.Sprintf("a services-only application (no provider, no tenant jobs) cannot have %s workloads", t)))
			}
		}
		return errs
	}
	for _, t := range []v1alpha1.DeploymentType{v1alpha1.DeploymentCAP, v1alpha1.DeploymentRouter} {
		if n := counts[string(t)]; n != 1 {
			errs = append(errs, field.Invalid(workloads, typedNames(cav, string(t)),
				fmt.Sprintf("a multi-tenant application needs exactly one deployment workload of type %s, found %d", t, n)))
		}
	}
	return append(errs, validateRouterDestinations(cav)...)
}

// validateRouterDestinations checks that a CAP workload with explicit ports tells the Router
// where to send requests (at least one routerDestinationName; without ports the implicit
// srv-api destination is used). It applies to multi-tenant versions only: a services-only
// version has no Router, as the published services-only example shows.
func validateRouterDestinations(cav *v1alpha1.CAPApplicationVersion) field.ErrorList {
	workloads := field.NewPath("spec", "workloads")
	var errs field.ErrorList
	for i, wl := range cav.Spec.Workloads {
		d := wl.DeploymentDefinition
		if d == nil || d.Type != v1alpha1.DeploymentCAP || len(d.Ports) == 0 {
			continue
		}
		if !slices.ContainsFunc(d.Ports, func(p v1alpha1.Ports) bool { return p.RouterDestinationName != "" }) {
			errs = append(errs, field.Required(workloads.Index(i).Child("deploymentDefinition", "ports"),
				"a CAP workload with ports needs at least one port with routerDestinationName"))
		}
	}
	return errs
}

// typedNames lists the names of the workloads of one type, for messages.
func typedNames(cav *v1alpha1.CAPApplicationVersion, typ string) []string {
	names := []string{}
	for _, wl := range cav.Spec.Workloads {
		if workloadType(&wl) == typ {
			names = append(names, wl.Name)
		}
	}
	return names
}

// workloadType returns the deployment or job type of a workload.
func workloadType(wl *v1alpha1.WorkloadDetails) string {
	switch {
	case wl.DeploymentDefinition != nil:
		return string(wl.DeploymentDefinition.Type)
	case wl.JobDefinition != nil:
		return string(wl.JobDefinition.Type)
	}
	return ""
}

// validateContentJobs checks the order of content jobs (spec 4.1 rule 4): with more than one
// Content job the order must be given and complete, and it may list Content jobs only.
func validateContentJobs(cav *v1alpha1.CAPApplicationVersion) field.ErrorList {
	path := field.NewPath("spec", "contentJobs")
	content := typedNames(cav, string(v1alpha1.JobContent))
	var errs field.ErrorList
	if len(content) > 1 && len(cav.Spec.ContentJobs) == 0 {
		return append(errs, field.Required(path, fmt.Sprintf("the order of the Content jobs %s", strings.Join(content, ", "))))
	}
	for i, name := range cav.Spec.ContentJobs {
		if !slices.Contains(content, name) {
			errs = append(errs, field.Invalid(path.Index(i), name, "not a workload of type Content"))
		}
	}
	if len(cav.Spec.ContentJobs) > 0 {
		for _, name := range content {
			if !slices.Contains(cav.Spec.ContentJobs, name) {
				errs = append(errs, field.Invalid(path, cav.Spec.ContentJobs, fmt.Sprintf("the Content job %q is missing", name)))
			}
		}
	}
	return errs
}

// validateServiceExposures checks the exposures (spec 4.1 rule 5): unique subdomains, and
// routes to a port of a deployment workload.
func validateServiceExposures(cav *v1alpha1.CAPApplicationVersion) field.ErrorList {
	path := field.NewPath("spec", "serviceExposures")
	deployments := map[string]*v1alpha1.DeploymentDetails{}
	for _, wl := range cav.Spec.Workloads {
		if wl.DeploymentDefinition != nil {
			deployments[wl.Name] = wl.DeploymentDefinition
		}
	}
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, exp := range cav.Spec.ServiceExposures {
		if seen[exp.SubDomain] {
			errs = append(errs, field.Duplicate(path.Index(i).Child("subDomain"), exp.SubDomain))
		}
		seen[exp.SubDomain] = true
		for k, route := range exp.Routes {
			errs = append(errs, validateRoute(route, deployments, path.Index(i).Child("routes").Index(k))...)
		}
	}
	return errs
}

// validateRoute checks that a route names a deployment workload and one of its ports.
func validateRoute(route v1alpha1.Route, deployments map[string]*v1alpha1.DeploymentDetails, path *field.Path) field.ErrorList {
	d, ok := deployments[route.WorkloadName]
	if !ok {
		return field.ErrorList{field.Invalid(path.Child("workloadName"), route.WorkloadName, "not a deployment workload of this version")}
	}
	var ports []string
	for _, p := range workloadPorts(d) {
		if p.Port == route.Port {
			return nil
		}
		ports = append(ports, fmt.Sprint(p.Port))
	}
	detail := fmt.Sprintf("not a port of workload %q", route.WorkloadName)
	if len(ports) > 0 {
		detail += fmt.Sprintf(" (its ports are %s)", strings.Join(ports, ", "))
	} else {
		detail += " (it has no ports)"
	}
	return field.ErrorList{field.Invalid(path.Child("port"), route.Port, detail)}
}

// validateTenantOperations checks the tenant operation steps (spec 4.1 rule 6, 0.14).
// Without tenantOperations every operation runs the TenantOperation workload (or the CAP
// workload standing in for it), which cannot place CustomTenantOperation workloads; so those
// need tenantOperations. With it, every tenant job must be used, every reference must name a
// tenant job, and each listed operation needs one TenantOperation step.
func validateTenantOperations(cav *v1alpha1.CAPApplicationVersion) field.ErrorList {
	path := field.NewPath("spec", "tenantOperations")
	tenantOps := typedNames(cav, string(v1alpha1.JobTenantOperation))
	customOps := typedNames(cav, string(v1alpha1.JobCustomTenantOperation))
	ops := cav.Spec.TenantOperations
	if ops == nil {
		if len(customOps) > 0 {
			return field.ErrorList{field.Required(path, fmt.Sprintf("the CustomTenantOperation workloads %s run only as steps listed here", strings.Join(customOps, ", ")))}
		}
		return nil
	}
	var errs field.ErrorList
	referenced := map[string]bool{}
	phases := []struct {
		name  string
		steps []v1alpha1.TenantOperationWorkloadReference
	}{{"provisioning", ops.Provisioning}, {"upgrade", ops.Upgrade}, {"deprovisioning", ops.Deprovisioning}}
	for _, phase := range phases {
		if phase.steps == nil {
			continue
		}
		hasTenantOp := false
		for k, ref := range phase.steps {
			refPath := path.Child(phase.name).Index(k).Child("workloadName")
			referenced[ref.WorkloadName] = true
			switch {
			case slices.Contains(tenantOps, ref.WorkloadName):
				hasTenantOp = true
			case slices.Contains(customOps, ref.WorkloadName):
			default:
				errs = append(errs, field.Invalid(refPath, ref.WorkloadName, "not a workload of type TenantOperation or CustomTenantOperation"))
			}
		}
		if !hasTenantOp {
			errs = append(errs, field.Required(path.Child(phase.name), "at least one step of type TenantOperation"))
		}
	}
	for _, name := range append(tenantOps, customOps...) {
		if !referenced[name] {
			errs = append(errs, field.Invalid(path, name, fmt.Sprintf("the workload %q is not a step of any tenant operation", name)))
		}
	}
	return errs
}
