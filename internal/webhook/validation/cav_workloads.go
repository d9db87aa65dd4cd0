package validation

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// workloadNamePattern is a DNS label: workload names become parts of object names.
var workloadNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// maxNameLength is the longest Service or Job name Kubernetes accepts (a DNS label).
const maxNameLength = 63

// contentJobSuffix stands for the random suffix a content Job's pods get, so the check
// reserves room for it.
const contentJobSuffix = "-q4m9c"

// reservedEnvNames are set by the operator on every container; a user value would be
// overwritten or clash (the controller refuses such workloads, spec 2.3).
var reservedEnvNames = sets.New("CAPOP_APP_VERSION", "VCAP_SERVICES")

// Default ports of deployment workloads without ports (spec 2.3, Service).
var defaultPorts = map[v1alpha1.DeploymentType][]v1alpha1.Ports{
	v1alpha1.DeploymentCAP:    {{Name: "server-svc-port", Port: 4004}},
	v1alpha1.DeploymentRouter: {{Name: "router-svc-port", Port: 5000}},
}

// workloadPorts returns the ports a deployment workload serves, defaults included.
func workloadPorts(d *v1alpha1.DeploymentDetails) []v1alpha1.Ports {
	if len(d.Ports) > 0 {
		return d.Ports
	}
	return defaultPorts[d.Type]
}

// validateWorkloads checks each workload on its own and the uniqueness of their names.
func validateWorkloads(cav *v1alpha1.CAPApplicationVersion) field.ErrorList {
	var errs field.ErrorList
	workloads := field.NewPath("spec", "workloads")
	if len(cav.Spec.Workloads) == 0 {
		return append(errs, field.Required(workloads, "at least one workload"))
	}
	seen := map[string]bool{}
	for i := range cav.Spec.Workloads {
		wl := &cav.Spec.Workloads[i]
		path := workloads.Index(i)
		if seen[wl.Name] {
			errs = append(errs, field.Duplicate(path.Child("name"), wl.Name))
		}
		seen[wl.Name] = true
		errs = append(errs, validateWorkload(cav.Name, wl, path)...)
	}
	return errs
}

// validateWorkload checks the name, services and definition of one workload.
func validateWorkload(cavName string, wl *v1alpha1.WorkloadDetails, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case wl.Name == "":
		errs = append(errs, field.Required(path.Child("name"), "a DNS label"))
	case !workloadNamePattern.MatchString(wl.Name):
		errs = append(errs, field.Invalid(path.Child("name"), wl.Name, "must be a lower-case DNS label (regex "+workloadNamePattern.String()+")"))
	}
	if wl.ConsumedBTPServices == nil {
		// A missing list is what the published reference example's misspelt consumedServices
		// leaves after pruning; report it with the other problems (see package webhook).
		errs = append(errs, field.Required(path.Child("consumedBTPServices"), "the names of the CAPApplication services the workload consumes (may be empty)"))
	}
	switch {
	case wl.DeploymentDefinition != nil && wl.JobDefinition != nil:
		errs = append(errs, field.Forbidden(path.Child("jobDefinition"), "a workload has either deploymentDefinition or jobDefinition, not both"))
	case wl.DeploymentDefinition != nil:
		errs = append(errs, validateDeployment(cavName, wl.Name, wl.DeploymentDefinition, path)...)
	case wl.JobDefinition != nil:
		errs = append(errs, validateJob(cavName, wl.Name, wl.JobDefinition, path)...)
	default:
		errs = append(errs, field.Required(path, "one of deploymentDefinition or jobDefinition"))
	}
	return errs
}

// validateDeployment checks a deployment workload: type, derived name length, ports, PDB and
// the scrape configuration. wlPath is the path of the workload.
func validateDeployment(cavName, wlName string, d *v1alpha1.DeploymentDetails, wlPath *field.Path) field.ErrorList {
	path := wlPath.Child("deploymentDefinition")
	errs := validateCommon(&d.CommonDetails, path)
	types := []string{string(v1alpha1.DeploymentCAP), string(v1alpha1.DeploymentRouter), string(v1alpha1.DeploymentAdditional), string(v1alpha1.DeploymentService)}
	if !slices.Contains(types, string(d.Type)) {
		errs = append(errs, field.NotSupported(path.Child("type"), d.Type, types))
	}
	if svc := cavName + "-" + strings.ToLower(wlName) + "-svc"; len(svc) > maxNameLength {
		errs = append(errs, field.Invalid(wlPath.Child("name"), wlName,
			fmt.Sprintf("the Service name %q would be longer than %d characters; shorten the workload or CAPApplicationVersion name", svc, maxNameLength)))
	}
	errs = append(errs, validatePorts(d, path.Child("ports"))...)
	if d.PodDisruptionBudget != nil && d.PodDisruptionBudget.Selector != nil {
		errs = append(errs, field.Forbidden(path.Child("podDisruptionBudget", "selector"), "the operator sets the selector to the workload's pods"))
	}
	if d.Monitoring != nil && d.Monitoring.ScrapeConfig != nil {
		errs = append(errs, validateScrapePort(wlName, d, path.Child("monitoring", "scrapeConfig", "port"))...)
	}
	return errs
}

// validatePorts checks port uniqueness, and that a Router is not a router destination itself.
func validatePorts(d *v1alpha1.DeploymentDetails, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names, numbers := map[string]bool{}, map[int32]bool{}
	for k, p := range d.Ports {
		if names[p.Name] {
			errs = append(errs, field.Duplicate(path.Index(k).Child("name"), p.Name))
		}
		if numbers[p.Port] {
			errs = append(errs, field.Duplicate(path.Index(k).Child("port"), p.Port))
		}
		names[p.Name], numbers[p.Port] = true, true
		if p.RouterDestinationName != "" && d.Type == v1alpha1.DeploymentRouter {
			errs = append(errs, field.Forbidden(path.Index(k).Child("routerDestinationName"), "a Router workload cannot be a router destination"))
		}
	}
	return errs
}

// validateScrapePort checks that the ServiceMonitor's port names a port of the workload
// (spec 0.8; the controller would otherwise fail on it later).
func validateScrapePort(wlName string, d *v1alpha1.DeploymentDetails, path *field.Path) field.ErrorList {
	ports := workloadPorts(d)
	var names []string
	for _, p := range ports {
		if p.Name == d.Monitoring.ScrapeConfig.Port {
			return nil
		}
		names = append(names, p.Name)
	}
	detail := fmt.Sprintf("not a port of workload %q", wlName)
	if len(names) > 0 {
		detail += fmt.Sprintf(" (its ports are %s)", strings.Join(names, ", "))
	} else {
		detail += " (it has no ports)"
	}
	return field.ErrorList{field.Invalid(path, d.Monitoring.ScrapeConfig.Port, detail)}
}

// validateJob checks a job workload: type and, for Content jobs, the derived name length.
// wlPath is the path of the workload.
func validateJob(cavName, wlName string, j *v1alpha1.JobDetails, wlPath *field.Path) field.ErrorList {
	path := wlPath.Child("jobDefinition")
	errs := validateCommon(&j.CommonDetails, path)
	types := []string{string(v1alpha1.JobContent), string(v1alpha1.JobTenantOperation), string(v1alpha1.JobCustomTenantOperation)}
	if !slices.Contains(types, string(j.Type)) {
		errs = append(errs, field.NotSupported(path.Child("type"), j.Type, types))
	}
	if j.Type == v1alpha1.JobContent {
		if name := cavName + "-" + strings.ToLower(wlName) + contentJobSuffix; len(name) > maxNameLength {
			errs = append(errs, field.Invalid(wlPath.Child("name"), wlName,
				fmt.Sprintf("the content Job's pod names (%q) would be longer than %d characters; shorten the workload or CAPApplicationVersion name", name, maxNameLength)))
		}
	}
	return errs
}

// validateCommon checks the pod fields shared by deployments and jobs: an image, and no
// environment variable the operator reserves.
func validateCommon(c *v1alpha1.CommonDetails, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Image == "" {
		errs = append(errs, field.Required(path.Child("image"), "the container image"))
	}
	for k, env := range c.Env {
		if reservedEnvNames.Has(env.Name) {
			errs = append(errs, field.Forbidden(path.Child("env").Index(k).Child("name"), fmt.Sprintf("%s is set by the operator; remove the entry", env.Name)))
		}
	}
	return errs
}
