package validation

import (
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestCAPApplicationDomains(t *testing.T) {
	legacy := func(ca *v1alpha1.CAPApplication) {
		ca.Spec.Domains = &v1alpha1.ApplicationDomains{Primary: "app.example.com"}
	}
	refs := func(ca *v1alpha1.CAPApplication) {
		ca.Spec.DomainRefs = []v1alpha1.DomainRef{{Kind: v1alpha1.DomainRefKindDomain, Name: "d"}}
	}
	tests := map[string]review{
		"create with domainRefs": {op: admissionv1.Create, obj: app(refs)},
		// The controller migrates the hosts (the mutating webhook has no side effects).
		"create with domains": {op: admissionv1.Create, obj: app(legacy)},
		"create with domains without hosts": {op: admissionv1.Create, obj: app(func(ca *v1alpha1.CAPApplication) {
			ca.Spec.Domains = &v1alpha1.ApplicationDomains{DnsTarget: "lb.example.com"}
		}), denied: []string{"spec.domains: Forbidden: domains are deprecated. Use domainRefs instead"}},
		"update of a migrating application": {op: admissionv1.Update, old: app(legacy), obj: app(legacy, func(ca *v1alpha1.CAPApplication) { ca.Spec.BTPAppName = "x" })},
		"update adding domains to domainRefs": {op: admissionv1.Update, old: app(refs), obj: app(refs, legacy),
			denied: []string{"spec.domains: Forbidden: domains are deprecated. Use domainRefs instead (this CAPApplication already has domainRefs)"}},
		"update keeping refs": {op: admissionv1.Update, old: app(refs), obj: app(refs, func(ca *v1alpha1.CAPApplication) { ca.Spec.BTPAppName = "x" })},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAPApplicationProvider(t *testing.T) {
	tests := map[string]review{
		"provider removed":   {op: admissionv1.Update, old: app(), obj: app(withoutProvider)},
		"provider unchanged": {op: admissionv1.Update, old: app(), obj: app()},
		"provider added": {op: admissionv1.Update, old: app(withoutProvider), obj: app(),
			denied: []string{"spec.provider: Forbidden: a provider cannot be added to an existing CAPApplication"}},
		"provider changed": {op: admissionv1.Update, old: app(), obj: app(func(ca *v1alpha1.CAPApplication) { ca.Spec.Provider.TenantId = "other" }),
			denied: []string{"spec.provider: Forbidden: the provider cannot be changed (it may be removed)"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

// tenant returns a CAPTenant "t1" of app with tenant id "tid".
func tenant(mutators ...func(*v1alpha1.CAPTenant)) *v1alpha1.CAPTenant {
	cat := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "t1", Namespace: testNS},
		Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: "app",
			BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "sub", TenantId: "tid"}},
	}
	for _, m := range mutators {
		m(cat)
	}
	return cat
}

// readyProvider makes a tenant the Ready provider tenant.
func readyProvider(cat *v1alpha1.CAPTenant) {
	cat.Labels = map[string]string{v1alpha1.LabelTenantType: v1alpha1.TenantTypeProvider}
	cat.Status.State = v1alpha1.CAPTenantStateReady
}

// consistent marks an application Consistent.
func consistent(ca *v1alpha1.CAPApplication) {
	ca.Status.State = v1alpha1.CAPApplicationStateConsistent
}

func TestCAPTenant(t *testing.T) {
	tests := map[string]review{
		"create with application": {existing: []runtime.Object{app()}, op: admissionv1.Create, obj: tenant()},
		"create without application": {op: admissionv1.Create, obj: tenant(),
			denied: []string{`spec.capApplicationInstance: Not found: "app": no CAPApplication "app" in namespace "app-ns"`}},
		"update version": {op: admissionv1.Update, old: tenant(), obj: tenant(func(c *v1alpha1.CAPTenant) { c.Spec.Version = "2" })},
		"update application": {op: admissionv1.Update, old: tenant(), obj: tenant(func(c *v1alpha1.CAPTenant) { c.Spec.CAPApplicationInstance = "other" }),
			denied: []string{`spec.capApplicationInstance: Invalid value: "other": field is immutable`}},
		// A second tenant for one tenant id would deprovision and provision the same
		// subscriber independently of the first.
		"create a second tenant with the tenant id": {existing: []runtime.Object{app(), tenant()}, op: admissionv1.Create,
			obj:    tenant(func(c *v1alpha1.CAPTenant) { c.Name = "t2"; c.Spec.SubDomain = "other-sub" }),
			denied: []string{`spec.tenantId: Duplicate value: "tid": CAPTenant t1 of CAPApplication app already has this tenant id`}},
		"create a second tenant while the first is being deleted": {existing: []runtime.Object{app(), tenant(func(c *v1alpha1.CAPTenant) {
			c.DeletionTimestamp = &metav1.Time{}
			c.Finalizers = []string{v1alpha1.FinalizerCAPTenant}
		})}, op: admissionv1.Create, obj: tenant(func(c *v1alpha1.CAPTenant) { c.Name = "t2" }),
			denied: []string{`spec.tenantId: Duplicate value: "tid"`, "being deleted"}},
		"the tenant id in another application": {existing: []runtime.Object{app(), tenant(func(c *v1alpha1.CAPTenant) { c.Spec.CAPApplicationInstance = "other" })},
			op: admissionv1.Create, obj: tenant(func(c *v1alpha1.CAPTenant) { c.Name = "t2" })},
		"update tenant id": {op: admissionv1.Update, old: tenant(), obj: tenant(func(c *v1alpha1.CAPTenant) { c.Spec.TenantId = "other" }),
			denied: []string{`spec.tenantId: Invalid value: "other": field is immutable`}},
		"update subdomain": {op: admissionv1.Update, old: tenant(), obj: tenant(func(c *v1alpha1.CAPTenant) { c.Spec.SubDomain = "other" }),
			denied: []string{`spec.subDomain: Invalid value: "other": field is immutable`}},
		"update all three": {op: admissionv1.Update, old: tenant(), obj: tenant(func(c *v1alpha1.CAPTenant) {
			c.Spec.CAPApplicationInstance, c.Spec.TenantId, c.Spec.SubDomain = "a", "b", "c"
		}), denied: []string{"spec.capApplicationInstance", "spec.tenantId", "spec.subDomain"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAPTenantDelete(t *testing.T) {
	del := func(ca *v1alpha1.CAPApplication, cat *v1alpha1.CAPTenant, denied ...string) review {
		return review{existing: []runtime.Object{ca}, op: admissionv1.Delete, old: cat, denied: denied}
	}
	tests := map[string]review{
		"ready provider of a consistent application with provider": del(app(consistent), tenant(readyProvider),
			`metadata.labels[sme.sap.com/tenant-type]: Forbidden: the Ready provider tenant of CAPApplication app (Consistent, with spec.provider) cannot be deleted: delete the CAPApplication or remove its provider section`),
		"consumer tenant":              del(app(consistent), tenant(func(c *v1alpha1.CAPTenant) { c.Status.State = v1alpha1.CAPTenantStateReady })),
		"provider not ready":           del(app(consistent), tenant(readyProvider, func(c *v1alpha1.CAPTenant) { c.Status.State = v1alpha1.CAPTenantStateProvisioningError })),
		"application processing":       del(app(), tenant(readyProvider)),
		"application without provider": del(app(consistent, withoutProvider), tenant(readyProvider)),
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

// operation returns a provisioning CAPTenantOperation of tenant id "tid" on version v1.
func operation(mutators ...func(*v1alpha1.CAPTenantOperation)) *v1alpha1.CAPTenantOperation {
	ctop := &v1alpha1.CAPTenantOperation{
		ObjectMeta: metav1.ObjectMeta{Name: "t1-abc", Namespace: testNS},
		Spec: v1alpha1.CAPTenantOperationSpec{
			Operation:                     v1alpha1.CAPTenantOperationTypeProvisioning,
			BTPTenantIdentification:       v1alpha1.BTPTenantIdentification{SubDomain: "sub", TenantId: "tid"},
			CAPApplicationVersionInstance: "v1",
			Steps:                         []v1alpha1.CAPTenantOperationStep{{Name: "tenant-op", Type: v1alpha1.StepTenantOperation}},
		},
	}
	for _, m := range mutators {
		m(ctop)
	}
	return ctop
}

func TestCAPTenantOperation(t *testing.T) {
	world := []runtime.Object{app(), tenant(), version()}
	steps := func(s ...v1alpha1.CAPTenantOperationStep) func(*v1alpha1.CAPTenantOperation) {
		return func(c *v1alpha1.CAPTenantOperation) { c.Spec.Steps = s }
	}
	standInCAV := version(func(c *v1alpha1.CAPApplicationVersion) { c.Spec.Workloads = c.Spec.Workloads[:3] })
	tests := map[string]review{
		"valid": {existing: world, op: admissionv1.Create, obj: operation()},
		"tenant by label only": {existing: []runtime.Object{version(), tenant(func(c *v1alpha1.CAPTenant) {
			c.Spec.TenantId, c.Labels = "x", map[string]string{v1alpha1.LabelBTPTenantIdentifier: "tid"}
		})}, op: admissionv1.Create, obj: operation()},
		"CAP workload stands in": {existing: []runtime.Object{tenant(), standInCAV}, op: admissionv1.Create,
			obj: operation(steps(v1alpha1.CAPTenantOperationStep{Name: "cap", Type: v1alpha1.StepTenantOperation}))},
		"no tenant, no version": {op: admissionv1.Create, obj: operation(),
			denied: []string{`spec.tenantId: Not found: "tid"`, `spec.capApplicationVersionInstance: Not found: "v1"`}},
		"owner missing": {existing: world, op: admissionv1.Create, obj: operation(func(c *v1alpha1.CAPTenantOperation) {
			c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "sme.sap.com/v1alpha1", Kind: "CAPTenant", Name: "gone", UID: "u"}}
		}), denied: []string{`metadata.ownerReferences[0].name: Not found: "gone"`}},
		"version of another application": {existing: []runtime.Object{tenant(), version(func(c *v1alpha1.CAPApplicationVersion) { c.Spec.CAPApplicationInstance = "other" })},
			op: admissionv1.Create, obj: operation(), denied: []string{`spec.capApplicationVersionInstance: Invalid value: "v1": belongs to CAPApplication "other"`}},
		"step type mismatch and no tenant operation": {existing: world, op: admissionv1.Create,
			obj: operation(steps(v1alpha1.CAPTenantOperationStep{Name: "tenant-op", Type: v1alpha1.StepCustomTenantOperation})),
			denied: []string{`spec.steps[0].name: Invalid value: "tenant-op": no workload of type CustomTenantOperation with this name in CAPApplicationVersion v1`,
				"spec.steps: Required value: at least one step of type TenantOperation"}},
		"continueOnFailure on tenant operation": {existing: world, op: admissionv1.Create,
			obj:      operation(steps(v1alpha1.CAPTenantOperationStep{Name: "tenant-op", Type: v1alpha1.StepTenantOperation, ContinueOnFailure: true})),
			warnings: []string{"spec.steps[0].continueOnFailure: ignored"}},
		"update spec": {op: admissionv1.Update, old: operation(), obj: operation(func(c *v1alpha1.CAPTenantOperation) { c.Spec.CAPApplicationVersionInstance = "v2" }),
			denied: []string{"spec: Forbidden: the spec of a CAPTenantOperation is immutable"}},
		"update metadata": {op: admissionv1.Update, old: operation(), obj: operation(func(c *v1alpha1.CAPTenantOperation) { c.Finalizers = []string{"f"} })},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestCAPTenantOutput(t *testing.T) {
	output := func(labels map[string]string) *v1alpha1.CAPTenantOutput {
		return &v1alpha1.CAPTenantOutput{ObjectMeta: metav1.ObjectMeta{Name: "out", Namespace: testNS, Labels: labels}}
	}
	label := map[string]string{v1alpha1.LabelBTPTenantIdentifier: "tid"}
	tests := map[string]review{
		"tenant exists": {existing: []runtime.Object{tenant()}, op: admissionv1.Create, obj: output(label)},
		"no label": {existing: []runtime.Object{tenant()}, op: admissionv1.Create, obj: output(nil),
			denied: []string{"metadata.labels[sme.sap.com/btp-tenant-id]: Required value"}},
		"no tenant": {op: admissionv1.Update, old: output(label), obj: output(label),
			denied: []string{`metadata.labels[sme.sap.com/btp-tenant-id]: Not found: "tid": no CAPTenant with this tenant id in namespace "app-ns"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}

func TestDomainUnique(t *testing.T) {
	dom := func(ns, name, host string) *v1alpha1.Domain {
		return &v1alpha1.Domain{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: v1alpha1.DomainSpec{Domain: host}}
	}
	cdom := func(name, host string) *v1alpha1.ClusterDomain {
		return &v1alpha1.ClusterDomain{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.DomainSpec{Domain: host}}
	}
	tests := map[string]review{
		"unique host":      {existing: []runtime.Object{dom("a", "d", "a.example.com")}, op: admissionv1.Create, obj: dom("a", "e", "b.example.com")},
		"update of itself": {existing: []runtime.Object{dom("a", "d", "a.example.com")}, op: admissionv1.Update, old: dom("a", "d", "a.example.com"), obj: dom("a", "d", "a.example.com")},
		// Spec 0.8: the same name in another namespace, or as the other kind, is another object.
		"same name in another namespace": {existing: []runtime.Object{dom("a", "d", "a.example.com")}, op: admissionv1.Create, obj: dom("b", "d", "a.example.com"),
			denied: []string{`spec.domain: Duplicate value: "a.example.com": already used by Domain a/d`}},
		"cluster domain with a domain's name": {existing: []runtime.Object{dom("a", "d", "a.example.com")}, op: admissionv1.Create, obj: cdom("d", "a.example.com"),
			denied: []string{`spec.domain: Duplicate value: "a.example.com": already used by Domain a/d`}},
		"domain with a cluster domain's host": {existing: []runtime.Object{cdom("c", "a.example.com")}, op: admissionv1.Create, obj: dom("a", "d", "a.example.com"),
			denied: []string{`already used by ClusterDomain c`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { runReview(t, tc) })
	}
}
