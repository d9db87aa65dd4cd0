package captenantoperation

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// t0 is the reference time of the tests, where the fake clock of controllertest starts.
var t0 = controllertest.T0

// testCA is the application of the tests, with a provider and a global account.
func testCA() *v1alpha1.CAPApplication {
	return &v1alpha1.CAPApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns"},
		Spec: v1alpha1.CAPApplicationSpec{
			BTPAppName: "btp-app", GlobalAccountId: "ga",
			Provider: &v1alpha1.BTPTenantIdentification{SubDomain: "prov", TenantId: "prov-id"},
			BTP:      v1alpha1.BTP{Services: []v1alpha1.ServiceInfo{{Name: "uaa", Class: "xsuaa", Secret: "uaa-bind"}}},
		},
	}
}

// testCAV is a Ready version with a TenantOperation and a CustomTenantOperation workload.
func testCAV() *v1alpha1.CAPApplicationVersion {
	return &v1alpha1.CAPApplicationVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "cav-1", Namespace: "ns"},
		Spec: v1alpha1.CAPApplicationVersionSpec{
			CAPApplicationInstance: "app", Version: "1.0.0", RegistrySecrets: []string{"regcred"},
			Workloads: []v1alpha1.WorkloadDetails{
				{Name: "mtx", ConsumedBTPServices: []string{"uaa"}, Labels: map[string]string{"team": "a"}, JobDefinition: &v1alpha1.JobDetails{
					Type: v1alpha1.JobTenantOperation, BackoffLimit: ptr.To[int32](2),
					CommonDetails: v1alpha1.CommonDetails{Image: "mtx:1", Env: []corev1.EnvVar{{Name: "CDS_ENV", Value: "production"}}},
				}},
				{Name: "notify", JobDefinition: &v1alpha1.JobDetails{
					Type:          v1alpha1.JobCustomTenantOperation,
					CommonDetails: v1alpha1.CommonDetails{Image: "notify:1", Command: []string{"npm", "run", "notify"}},
				}},
			},
		},
		Status: v1alpha1.CAPApplicationVersionStatus{State: v1alpha1.CAPApplicationVersionStateReady},
	}
}

// testTenant is the tenant of the operations.
func testTenant() *v1alpha1.CAPTenant {
	return &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns", UID: "uid-t", Labels: map[string]string{v1alpha1.LabelTenantType: "consumer"}},
		Spec:       v1alpha1.CAPTenantSpec{CAPApplicationInstance: "app", BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "sub", TenantId: "tid"}},
	}
}

// newOperation is a complete operation of the test tenant with two steps, the custom one
// continuing on failure, as the tenant controller creates it: no owner reference and no
// finalizer, its tenant named by the owner identifier.
func newOperation(typ v1alpha1.CAPTenantOperationType) *v1alpha1.CAPTenantOperation {
	cat := testTenant()
	return &v1alpha1.CAPTenantOperation{
		ObjectMeta: metav1.ObjectMeta{
			Name: "t-abcde", Namespace: "ns", UID: "uid-op", CreationTimestamp: metav1.NewTime(t0),
			Labels: map[string]string{
				v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash("ns", "t"), v1alpha1.LabelTenantType: "consumer",
				v1alpha1.LabelAppIdentifierHash: "app-hash", v1alpha1.LabelTenantOperationType: string(typ),
			},
			Annotations: map[string]string{v1alpha1.AnnotationSubscriptionContextSecret: "ctx-secret", v1alpha1.AnnotationOwnerIdentifier: "ns.t"},
		},
		Spec: v1alpha1.CAPTenantOperationSpec{
			Operation: typ, BTPTenantIdentification: cat.Spec.BTPTenantIdentification, CAPApplicationVersionInstance: "cav-1",
			Steps: []v1alpha1.CAPTenantOperationStep{{Name: "mtx", Type: v1alpha1.StepTenantOperation}, {Name: "notify", Type: v1alpha1.StepCustomTenantOperation, ContinueOnFailure: true}},
		},
	}
}

// legacyOperation is newOperation as earlier versions created it: owned by its tenant and
// with the finalizer.
func legacyOperation(typ v1alpha1.CAPTenantOperationType) *v1alpha1.CAPTenantOperation {
	op := newOperation(typ)
	op.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(testTenant(), v1alpha1.SchemeGroupVersion.WithKind("CAPTenant"))}
	op.Finalizers = []string{v1alpha1.FinalizerCAPTenantOperation}
	return op
}

// fixtures are the objects every sync test starts from: application, version, tenant, the
// binding Secret and the subscription context Secret.
func fixtures() []runtime.Object {
	creds, _ := json.Marshal(map[string]string{"clientid": "id"})
	return []runtime.Object{
		testCA(), testCAV(), testTenant(),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "uaa-bind", Namespace: "ns", ResourceVersion: "1"}, Data: map[string][]byte{"credentials": creds}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ctx-secret", Namespace: "ns", ResourceVersion: "1"}},
	}
}
