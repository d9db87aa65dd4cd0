package validation

import (
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// createCAV is a CREATE review of cav with the default application in the API.
func createCAV(cav *v1alpha1.CAPApplicationVersion, denied ...string) review {
	return review{existing: []runtime.Object{app()}, op: admissionv1.Create, obj: cav, denied: denied}
}

func TestCAVApplicationMustExist(t *testing.T) {
	tests := map[string]review{
		"application exists": createCAV(version()),
		"application missing": {op: admissionv1.Create, obj: version(func(c *v1alpha1.CAPApplicationVersion) { c.Spec.CAPApplicationInstance = "cap-app" }),
			denied: []string{`spec.capApplicationInstance: Not found: "cap-app": no CAPApplication "cap-app" in namespace "app-ns"`}},
		"application not named": {op: admissionv1.Create, obj: version(func(c *v1alpha1.CAPApplicationVersion) { c.Spec.CAPApplicationInstance = "" }),
			denied: []string{"spec.capApplicationInstance: Required value"}},
		"application in another namespace": {existing: []runtime.Object{app(func(ca *v1alpha1.CAPApplication) { ca.Namespace = "other" })},
			op: admissionv1.Create, obj: version(), denied: []string{`spec.capApplicationInstance: Not found: "app"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVWorkloadNames(t *testing.T) {
	long := "a-very-long-workload-name-that-makes-the-service-name-too-long-x"
	tests := map[string]review{
		"valid names": createCAV(version()),
		"upper case": createCAV(version(func(c *v1alpha1.CAPApplicationVersion) { c.Spec.Workloads[0].Name = "Cap" }),
			`spec.workloads[0].name: Invalid value: "Cap": must be a lower-case DNS label`),
		"duplicate": createCAV(version(addWorkloads(job("content", v1alpha1.JobContent))),
			`spec.workloads[4].name: Duplicate value: "content"`),
		"service name too long": createCAV(version(func(c *v1alpha1.CAPApplicationVersion) { c.Spec.Workloads[0].Name = long[:57] }),
			`spec.workloads[0].name: Invalid value: "`+long[:57]+`": the Service name`),
		"content job name too long": createCAV(version(func(c *v1alpha1.CAPApplicationVersion) { c.Spec.Workloads[2].Name = long[:55] }),
			"spec.workloads[2].name", "content Job's pod names"),
		"no workloads": createCAV(version(workloads()), "spec.workloads: Required value"),
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVWorkloadDefinitions(t *testing.T) {
	tests := map[string]review{
		"complete": createCAV(version()),
		"unknown deployment type": createCAV(version(func(c *v1alpha1.CAPApplicationVersion) {
			c.Spec.Workloads = append(c.Spec.Workloads, deployment("extra", "Worker"))
		}), `spec.workloads[4].deploymentDefinition.type: Unsupported value: "Worker"`),
		"unknown job type": createCAV(version(addWorkloads(job("extra", "Cron"))),
			`spec.workloads[4].jobDefinition.type: Unsupported value: "Cron"`),
		"no definition": createCAV(version(addWorkloads(v1alpha1.WorkloadDetails{Name: "empty", ConsumedBTPServices: []string{}})),
			"spec.workloads[4]: Required value: one of deploymentDefinition or jobDefinition"),
		"missing consumedBTPServices and image": createCAV(version(func(c *v1alpha1.CAPApplicationVersion) {
			c.Spec.Workloads[2].ConsumedBTPServices = nil
			c.Spec.Workloads[2].JobDefinition.Image = ""
		}), "spec.workloads[2].consumedBTPServices: Required value", "spec.workloads[2].jobDefinition.image: Required value"),
		"reserved env": createCAV(version(func(c *v1alpha1.CAPApplicationVersion) {
			c.Spec.Workloads[0].DeploymentDefinition.Env = append(c.Spec.Workloads[0].DeploymentDefinition.Env, envVar("A", "1"), envVar("VCAP_SERVICES", "{}"))
		}), "spec.workloads[0].deploymentDefinition.env[1].name: Forbidden: VCAP_SERVICES is set by the operator"),
		"pdb selector": createCAV(version(func(c *v1alpha1.CAPApplicationVersion) {
			c.Spec.Workloads[0].DeploymentDefinition.PodDisruptionBudget = &policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{}}
		}), "spec.workloads[0].deploymentDefinition.podDisruptionBudget.selector: Forbidden"),
		"pdb without selector": createCAV(version(func(c *v1alpha1.CAPApplicationVersion) {
			c.Spec.Workloads[0].DeploymentDefinition.PodDisruptionBudget = &policyv1.PodDisruptionBudgetSpec{}
		})),
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVPorts(t *testing.T) {
	withPorts := func(i int, ports ...v1alpha1.Ports) func(*v1alpha1.CAPApplicationVersion) {
		return func(c *v1alpha1.CAPApplicationVersion) { c.Spec.Workloads[i].DeploymentDefinition.Ports = ports }
	}
	tests := map[string]review{
		"cap with a destination": createCAV(version(withPorts(0, v1alpha1.Ports{Name: "a", Port: 4004, RouterDestinationName: "srv"}, v1alpha1.Ports{Name: "b", Port: 4005}))),
		"duplicate name and number": createCAV(version(withPorts(0, v1alpha1.Ports{Name: "a", Port: 4004, RouterDestinationName: "srv"}, v1alpha1.Ports{Name: "a", Port: 4004})),
			`spec.workloads[0].deploymentDefinition.ports[1].name: Duplicate value: "a"`, "spec.workloads[0].deploymentDefinition.ports[1].port: Duplicate value: 4004"),
		"cap without destination": createCAV(version(withPorts(0, v1alpha1.Ports{Name: "a", Port: 4004})),
			"spec.workloads[0].deploymentDefinition.ports: Required value: a CAP workload with ports needs at least one port with routerDestinationName"),
		// The services-only example has a CAP workload with ports and no Router.
		"services-only cap without destination": {existing: []runtime.Object{app(withoutProvider)}, op: admissionv1.Create,
			obj: version(workloads(deployment("cap", v1alpha1.DeploymentCAP, v1alpha1.Ports{Name: "a", Port: 4004})))},
		"router with destination": createCAV(version(withPorts(1, v1alpha1.Ports{Name: "r", Port: 5000, RouterDestinationName: "self"})),
			"spec.workloads[1].deploymentDefinition.ports[0].routerDestinationName: Forbidden"),
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVScrapePort(t *testing.T) {
	scrape := func(i int, port string, ports ...v1alpha1.Ports) func(*v1alpha1.CAPApplicationVersion) {
		return func(c *v1alpha1.CAPApplicationVersion) {
			d := c.Spec.Workloads[i].DeploymentDefinition
			d.Ports = ports
			d.Monitoring = &v1alpha1.WorkloadMonitoring{ScrapeConfig: &v1alpha1.MonitoringConfig{Port: port}}
		}
	}
	appPorts := []v1alpha1.Ports{{Name: "app-port", Port: 4004, RouterDestinationName: "srv"}, {Name: "tech-port", Port: 4005}}
	tests := map[string]review{
		"named port":   createCAV(version(scrape(0, "tech-port", appPorts...))),
		"default port": createCAV(version(scrape(0, "server-svc-port"))),
		"unknown port": createCAV(version(scrape(0, "tech--port", appPorts...)),
			`spec.workloads[0].deploymentDefinition.monitoring.scrapeConfig.port: Invalid value: "tech--port": not a port of workload "cap" (its ports are app-port, tech-port)`),
		"additional without ports": createCAV(version(addWorkloads(deployment("extra", v1alpha1.DeploymentAdditional)), scrape(4, "metrics")),
			`spec.workloads[4].deploymentDefinition.monitoring.scrapeConfig.port: Invalid value: "metrics": not a port of workload "extra" (it has no ports)`),
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVWorkloadCounts(t *testing.T) {
	tests := map[string]review{
		"multi-tenant complete": createCAV(version()),
		// Spec 0.14: the CAP workload stands in for a missing TenantOperation workload.
		"multi-tenant without tenant operation": createCAV(version(workloads(deployment("cap", v1alpha1.DeploymentCAP), deployment("router", v1alpha1.DeploymentRouter)))),
		"multi-tenant without router": createCAV(version(workloads(deployment("cap", v1alpha1.DeploymentCAP), job("tenant-op", v1alpha1.JobTenantOperation))),
			"spec.workloads: Invalid value: []: a multi-tenant application needs exactly one deployment workload of type Router, found 0"),
		"multi-tenant with two CAP": createCAV(version(addWorkloads(deployment("cap2", v1alpha1.DeploymentCAP))),
			`spec.workloads: Invalid value: ["cap","cap2"]: a multi-tenant application needs exactly one deployment workload of type CAP, found 2`),
		"services-only": {existing: []runtime.Object{app(withoutProvider)}, op: admissionv1.Create,
			obj: version(workloads(deployment("api", v1alpha1.DeploymentService), job("content", v1alpha1.JobContent)))},
		"services-only with tenant operation": {existing: []runtime.Object{app(withoutProvider, func(ca *v1alpha1.CAPApplication) { ca.Status.ServicesOnly = ptr.To(true) })},
			op: admissionv1.Create, obj: version(workloads(deployment("api", v1alpha1.DeploymentService), job("tenant-op", v1alpha1.JobTenantOperation))),
			denied: []string{`spec.workloads: Invalid value: ["tenant-op"]: a services-only application`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVContentJobs(t *testing.T) {
	twoContent := addWorkloads(job("ui-content", v1alpha1.JobContent))
	order := func(names ...string) func(*v1alpha1.CAPApplicationVersion) {
		return func(c *v1alpha1.CAPApplicationVersion) { c.Spec.ContentJobs = names }
	}
	tests := map[string]review{
		"one content job":       createCAV(version()),
		"two with order":        createCAV(version(twoContent, order("ui-content", "content"))),
		"two without order":     createCAV(version(twoContent), "spec.contentJobs: Required value: the order of the Content jobs content, ui-content"),
		"order misses a job":    createCAV(version(twoContent, order("content")), `spec.contentJobs: Invalid value: ["content"]: the Content job "ui-content" is missing`),
		"order names a non-job": createCAV(version(order("content", "cap")), `spec.contentJobs[1]: Invalid value: "cap": not a workload of type Content`),
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVServiceExposures(t *testing.T) {
	expose := func(exps ...v1alpha1.ServiceExposure) func(*v1alpha1.CAPApplicationVersion) {
		return func(c *v1alpha1.CAPApplicationVersion) { c.Spec.ServiceExposures = exps }
	}
	route := func(wl string, port int32) v1alpha1.ServiceExposure {
		return v1alpha1.ServiceExposure{SubDomain: wl, Routes: []v1alpha1.Route{{WorkloadName: wl, Port: port}}}
	}
	tests := map[string]review{
		"default ports": createCAV(version(expose(route("cap", 4004), route("router", 5000)))),
		"duplicate subdomain": createCAV(version(expose(route("cap", 4004), route("cap", 4004))),
			`spec.serviceExposures[1].subDomain: Duplicate value: "cap"`),
		"job workload": createCAV(version(expose(route("content", 80))),
			`spec.serviceExposures[0].routes[0].workloadName: Invalid value: "content": not a deployment workload`),
		"wrong port": createCAV(version(expose(route("cap", 8080))),
			`spec.serviceExposures[0].routes[0].port: Invalid value: 8080: not a port of workload "cap" (its ports are 4004)`),
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVTenantOperations(t *testing.T) {
	custom := addWorkloads(job("notify", v1alpha1.JobCustomTenantOperation))
	ops := func(o *v1alpha1.TenantOperations) func(*v1alpha1.CAPApplicationVersion) {
		return func(c *v1alpha1.CAPApplicationVersion) { c.Spec.TenantOperations = o }
	}
	step := func(names ...string) []v1alpha1.TenantOperationWorkloadReference {
		var refs []v1alpha1.TenantOperationWorkloadReference
		for _, n := range names {
			refs = append(refs, v1alpha1.TenantOperationWorkloadReference{WorkloadName: n})
		}
		return refs
	}
	tests := map[string]review{
		"omitted without custom jobs": createCAV(version()),
		"omitted with custom jobs": createCAV(version(custom),
			"spec.tenantOperations: Required value: the CustomTenantOperation workloads notify run only as steps listed here"),
		"all referenced": createCAV(version(custom, ops(&v1alpha1.TenantOperations{Upgrade: step("tenant-op", "notify")}))),
		"custom job not referenced": createCAV(version(custom, ops(&v1alpha1.TenantOperations{Provisioning: step("tenant-op")})),
			`spec.tenantOperations: Invalid value: "notify": the workload "notify" is not a step of any tenant operation`),
		"reference to a deployment": createCAV(version(custom, ops(&v1alpha1.TenantOperations{Upgrade: step("tenant-op", "notify", "cap")})),
			`spec.tenantOperations.upgrade[2].workloadName: Invalid value: "cap": not a workload of type TenantOperation or CustomTenantOperation`),
		"phase without tenant operation": createCAV(version(custom, ops(&v1alpha1.TenantOperations{Provisioning: step("tenant-op"), Upgrade: step("notify")})),
			"spec.tenantOperations.upgrade: Required value: at least one step of type TenantOperation"),
		// Spec 0.14: without a TenantOperation workload, custom steps are still denied.
		"custom steps without tenant operation job": createCAV(version(workloads(deployment("cap", v1alpha1.DeploymentCAP), deployment("router", v1alpha1.DeploymentRouter),
			job("notify", v1alpha1.JobCustomTenantOperation)), ops(&v1alpha1.TenantOperations{Upgrade: step("notify")})),
			"spec.tenantOperations.upgrade: Required value: at least one step of type TenantOperation"),
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVVersionUnique(t *testing.T) {
	existing := func(name, ver, ca string) *v1alpha1.CAPApplicationVersion {
		return version(func(c *v1alpha1.CAPApplicationVersion) {
			c.Name, c.Spec.Version, c.Spec.CAPApplicationInstance = name, ver, ca
		})
	}
	tests := map[string]review{
		"new version":                         {existing: []runtime.Object{app(), existing("old", "0.9.0", "app")}, op: admissionv1.Create, obj: version()},
		"same version of another application": {existing: []runtime.Object{app(), existing("old", "1.0.0", "other")}, op: admissionv1.Create, obj: version()},
		"same version": {existing: []runtime.Object{app(), existing("old", "1.0.0", "app")}, op: admissionv1.Create, obj: version(),
			denied: []string{`spec.version: Duplicate value: "1.0.0": CAPApplicationVersion old of CAPApplication app already has this version`}},
		"semantically equal version": {existing: []runtime.Object{app(), existing("old", "1", "app")}, op: admissionv1.Create, obj: version(),
			denied: []string{`spec.version: Duplicate value: "1.0.0"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVUndeclaredServicesWarn(t *testing.T) {
	tests := map[string]review{
		"declared services": createCAV(version()),
		"undeclared service": {existing: []runtime.Object{app()}, op: admissionv1.Create,
			obj: version(func(c *v1alpha1.CAPApplicationVersion) {
				c.Spec.Workloads[1].ConsumedBTPServices = []string{"uaa", "app-db"}
			}),
			warnings: []string{`spec.workloads[1].consumedBTPServices[1]: service "app-db" is not declared in spec.btp.services of CAPApplication app; its credentials cannot be injected`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAVUpdateImmutable(t *testing.T) {
	update := func(old, cur *v1alpha1.CAPApplicationVersion, denied ...string) review {
		return review{op: admissionv1.Update, obj: cur, old: old, denied: denied}
	}
	tests := map[string]review{
		"metadata only":       update(version(), version(func(c *v1alpha1.CAPApplicationVersion) { c.Labels = map[string]string{"a": "b"} })),
		"nil and empty lists": update(version(), version(func(c *v1alpha1.CAPApplicationVersion) { c.Spec.RegistrySecrets = []string{} })),
		"image changed": update(version(), version(func(c *v1alpha1.CAPApplicationVersion) { c.Spec.Workloads[0].DeploymentDefinition.Image = "new" }),
			"spec.workloads: Forbidden: the spec of a CAPApplicationVersion is immutable"),
		"version and secrets changed": update(version(), version(func(c *v1alpha1.CAPApplicationVersion) {
			c.Spec.Version, c.Spec.RegistrySecrets = "2.0.0", []string{"reg"}
		}), "spec.version: Forbidden", "spec.registrySecrets: Forbidden"),
		"delete": {op: admissionv1.Delete, old: version()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}
