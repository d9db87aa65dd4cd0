package validation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
)

const testNS = "app-ns"

// review describes one request and what the validator must answer.
type review struct {
	// setup
	existing []runtime.Object // objects in the fake API
	op       admissionv1.Operation
	obj, old runtime.Object // new and old object (nil where the operation has none)
	// expectations
	denied   []string // substrings of the denial message; empty means allowed
	warnings []string // substrings each of which some warning must contain
}

// runReview validates r and checks the answer.
func runReview(t *testing.T, r review) {
	t.Helper()
	v := New(fake.NewClientset(r.existing...))
	req := request(t, r.op, r.obj, r.old)
	res, err := v.Validate(context.Background(), req)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	msg := ""
	if len(res.Errors) > 0 {
		msg = res.Errors.ToAggregate().Error()
	}
	if len(r.denied) == 0 && msg != "" {
		t.Fatalf("expected the request to be allowed, got %s", msg)
	}
	if len(r.denied) > 0 && msg == "" {
		t.Fatalf("expected a denial containing %q, the request was allowed", r.denied)
	}
	for _, want := range r.denied {
		if !strings.Contains(msg, want) {
			t.Errorf("denial %q does not contain %q", msg, want)
		}
	}
	all := strings.Join(res.Warnings, "\n")
	for _, want := range r.warnings {
		if !strings.Contains(all, want) {
			t.Errorf("warnings %q do not contain %q", res.Warnings, want)
		}
	}
	if len(r.warnings) == 0 && len(res.Warnings) > 0 {
		t.Errorf("unexpected warnings %q", res.Warnings)
	}
}

// request builds an AdmissionRequest for obj/old as the API server sends it.
func request(t *testing.T, op admissionv1.Operation, obj, old runtime.Object) *admissionv1.AdmissionRequest {
	t.Helper()
	ref := obj
	if ref == nil {
		ref = old
	}
	meta, err := metaOf(ref)
	if err != nil {
		t.Fatal(err)
	}
	req := &admissionv1.AdmissionRequest{
		UID: "uid-1", Operation: op, Name: meta.GetName(), Namespace: meta.GetNamespace(),
		Kind: metav1.GroupVersionKind{Group: v1alpha1.GroupName, Version: "v1alpha1", Kind: kindOf(ref)},
	}
	if obj != nil {
		req.Object.Raw = mustJSON(t, obj)
	}
	if old != nil {
		req.OldObject.Raw = mustJSON(t, old)
	}
	return req
}

// metaOf returns the object metadata of a typed object.
func metaOf(obj runtime.Object) (metav1.Object, error) {
	return obj.(metav1.ObjectMetaAccessor).GetObjectMeta(), nil
}

// kindOf names the kind of a typed sme.sap.com object.
func kindOf(obj runtime.Object) string {
	switch obj.(type) {
	case *v1alpha1.CAPApplication:
		return "CAPApplication"
	case *v1alpha1.CAPApplicationVersion:
		return "CAPApplicationVersion"
	case *v1alpha1.CAPTenant:
		return "CAPTenant"
	case *v1alpha1.CAPTenantOperation:
		return "CAPTenantOperation"
	case *v1alpha1.CAPTenantOutput:
		return "CAPTenantOutput"
	case *v1alpha1.Domain:
		return "Domain"
	case *v1alpha1.ClusterDomain:
		return "ClusterDomain"
	}
	return ""
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// app returns a multi-tenant CAPApplication "app" with services uaa and db and a provider,
// changed by the mutators.
func app(mutators ...func(*v1alpha1.CAPApplication)) *v1alpha1.CAPApplication {
	ca := &v1alpha1.CAPApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: testNS},
		Spec: v1alpha1.CAPApplicationSpec{
			BTPAppName: "app", GlobalAccountId: "ga",
			Provider: &v1alpha1.BTPTenantIdentification{SubDomain: "prov", TenantId: "prov-id"},
			BTP: v1alpha1.BTP{Services: []v1alpha1.ServiceInfo{
				{Name: "uaa", Secret: "uaa-bind", Class: "xsuaa"}, {Name: "db", Secret: "db-bind", Class: "hana"},
			}},
		},
	}
	for _, m := range mutators {
		m(ca)
	}
	return ca
}

// withoutProvider makes the application services-only (no provider).
func withoutProvider(ca *v1alpha1.CAPApplication) { ca.Spec.Provider = nil }

// deployment returns a deployment workload of type typ.
func deployment(name string, typ v1alpha1.DeploymentType, ports ...v1alpha1.Ports) v1alpha1.WorkloadDetails {
	return v1alpha1.WorkloadDetails{Name: name, ConsumedBTPServices: []string{"uaa"}, DeploymentDefinition: &v1alpha1.DeploymentDetails{
		CommonDetails: v1alpha1.CommonDetails{Image: "img"}, Type: typ, Ports: ports,
	}}
}

// job returns a job workload of type typ.
func job(name string, typ v1alpha1.JobType) v1alpha1.WorkloadDetails {
	return v1alpha1.WorkloadDetails{Name: name, ConsumedBTPServices: []string{}, JobDefinition: &v1alpha1.JobDetails{
		CommonDetails: v1alpha1.CommonDetails{Image: "img"}, Type: typ,
	}}
}

// version returns a valid multi-tenant CAPApplicationVersion "v1" of app: CAP, Router,
// Content and TenantOperation workloads, changed by the mutators.
func version(mutators ...func(*v1alpha1.CAPApplicationVersion)) *v1alpha1.CAPApplicationVersion {
	cav := &v1alpha1.CAPApplicationVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "v1", Namespace: testNS},
		Spec: v1alpha1.CAPApplicationVersionSpec{
			CAPApplicationInstance: "app", Version: "1.0.0",
			Workloads: []v1alpha1.WorkloadDetails{
				deployment("cap", v1alpha1.DeploymentCAP), deployment("router", v1alpha1.DeploymentRouter),
				job("content", v1alpha1.JobContent), job("tenant-op", v1alpha1.JobTenantOperation),
			},
		},
	}
	for _, m := range mutators {
		m(cav)
	}
	return cav
}

// workloads replaces the workloads of a version.
func workloads(wls ...v1alpha1.WorkloadDetails) func(*v1alpha1.CAPApplicationVersion) {
	return func(cav *v1alpha1.CAPApplicationVersion) { cav.Spec.Workloads = wls }
}

// addWorkloads appends workloads to a version.
func addWorkloads(wls ...v1alpha1.WorkloadDetails) func(*v1alpha1.CAPApplicationVersion) {
	return func(cav *v1alpha1.CAPApplicationVersion) { cav.Spec.Workloads = append(cav.Spec.Workloads, wls...) }
}

// envVar is a shorthand for a corev1.EnvVar.
func envVar(name, value string) corev1.EnvVar { return corev1.EnvVar{Name: name, Value: value} }
