package takeover

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/migration"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
	"github.com/capstan-io/capstan/test/framework"
)

// The objects below are written from the specification of the previous implementation
// (names, labels, owner references and finalizers as it sets them), not produced by it.

const (
	// app and account identify the walk-through application (it sets only globalAccountId).
	app     = "cap-app-01"
	account = "global-account-id"
	// consumer is the tenant caught in the middle of its upgrade; guid its subscription.
	consumer = "cap-app-01-consumer-ge455"
	guid     = "0b1d4f02-6e3c-4a43-bb8e-2f0c1c7c7a11"
	// routerV1 is the router Deployment of version 1, created with the wide selector.
	routerV1 = "cav-cap-app-01-1-app-router"
)

// reference holds what the fixtures created, for the assertions.
type reference struct {
	ca            *v1alpha1.CAPApplication
	v1, v2        *v1alpha1.CAPApplicationVersion
	cat           *v1alpha1.CAPTenant
	op            *v1alpha1.CAPTenantOperation
	job           *batchv1.Job
	deployment    *appsv1.Deployment
	bindingSecret []string
}

// legacy adds the previous implementation's old identity keys to an object's metadata.
func legacy(m *metav1.ObjectMeta) {
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Labels[migration.LegacyLabelAppIdentifierHash] = identity.AppHash(account, app)
	m.Annotations[migration.LegacyAnnotationAppIdentifier] = identity.AppID(account, app)
}

// createReference creates the objects the previous implementation leaves in namespace ns.
func createReference(t *testing.T, env *testenv.Env, ns string) *reference {
	t.Helper()
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1()
	r := &reference{}

	// The application and its binding Secrets, which carry its finalizer.
	ca := framework.MultitenantApp(t, env, ns)
	legacy(&ca.ObjectMeta)
	ca.Finalizers = append(ca.Finalizers, v1alpha1.FinalizerCAPApplication)
	var err error
	if r.ca, err = client.CAPApplications(ns).Update(ctx, ca, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, svc := range ca.Spec.BTP.Services {
		s, err := env.Clientset().CoreV1().Secrets(ns).Get(ctx, svc.Secret, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Finalizers = append(s.Finalizers, v1alpha1.FinalizerCAPApplication)
		if _, err := env.Clientset().CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		r.bindingSecret = append(r.bindingSecret, s.Name)
	}

	r.v1 = createVersion(t, env, ca, "multitenant/cav-v1.yaml")
	r.v2 = createVersion(t, env, ca, "multitenant/cav-v2-upgrade.yaml")
	// The version was edited after its Deployments were created: the previous
	// implementation never updated them, so their owner-generation label is 1.
	r.v1.Spec.Workloads[0].Annotations = map[string]string{"team.example.com/contact": "ops@example.com"}
	if r.v1, err = client.CAPApplicationVersions(ns).Update(ctx, r.v1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.deployment = createRouterDeployment(t, env, r.v1)

	r.cat = createUpgradingTenant(t, env, ca, r.v1, r.v2)
	r.op, r.job = createRunningUpgrade(t, env, r.cat, r.v2)
	return r
}

// createVersion creates a version of the application from a published example, with the
// previous implementation's labels and finalizer.
func createVersion(t *testing.T, env *testenv.Env, ca *v1alpha1.CAPApplication, example string) *v1alpha1.CAPApplicationVersion {
	t.Helper()
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, example, ca.Namespace, cav)
	cav.Spec.CAPApplicationInstance = ca.Name
	legacy(&cav.ObjectMeta)
	cav.Labels[v1alpha1.LabelOwnerIdentifierHash] = identity.OwnerHash(ca.Namespace, ca.Name)
	cav.Labels[v1alpha1.LabelOwnerGeneration] = "1"
	cav.Annotations[v1alpha1.AnnotationOwnerIdentifier] = identity.OwnerID(ca.Namespace, ca.Name)
	cav.Finalizers = []string{v1alpha1.FinalizerCAPApplicationVersion}
	cav.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(ca, v1alpha1.SchemeGroupVersion.WithKind("CAPApplication"))}
	created, err := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1().CAPApplicationVersions(ca.Namespace).Create(context.Background(), cav, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// createRouterDeployment creates version 1's router Deployment as the previous
// implementation rendered it: the selector holds every workload label, owner-generation and
// exposed-workload included.
func createRouterDeployment(t *testing.T, env *testenv.Env, cav *v1alpha1.CAPApplicationVersion) *appsv1.Deployment {
	t.Helper()
	labels := map[string]string{
		v1alpha1.LabelApp: app, v1alpha1.LabelCAVVersion: cav.Spec.Version,
		v1alpha1.LabelResourceCategory: v1alpha1.CategoryWorkload, v1alpha1.LabelWorkloadType: "Router",
		v1alpha1.LabelWorkloadName:        routerV1,
		v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(cav.Namespace, cav.Name),
		v1alpha1.LabelOwnerGeneration:     "1", v1alpha1.LabelExposedWorkload: "true",
	}
	annotations := map[string]string{v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(cav.Namespace, cav.Name)}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: routerV1, Namespace: cav.Namespace, Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cav, v1alpha1.SchemeGroupVersion.WithKind("CAPApplicationVersion"))}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app-router", Image: "app.some.repo.example.com/approuter/approuter:0.0.1",
					Env: []corev1.EnvVar{{Name: "CAPOP_APP_VERSION", Value: cav.Spec.Version}}}}},
			},
		},
	}
	created, err := env.Clientset().AppsV1().Deployments(cav.Namespace).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// createUpgradingTenant creates a consumer tenant as the subscription server and the
// previous controller left it: subscription GUID as a label only, state Upgrading from
// version 1 to version 2.
func createUpgradingTenant(t *testing.T, env *testenv.Env, ca *v1alpha1.CAPApplication, v1, v2 *v1alpha1.CAPApplicationVersion) *v1alpha1.CAPTenant {
	t.Helper()
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1().CAPTenants(ca.Namespace)
	cat := &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{Name: consumer, Namespace: ca.Namespace,
			Labels: map[string]string{
				v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(ca.Namespace, ca.Name), v1alpha1.LabelOwnerGeneration: "1",
				v1alpha1.LabelBTPTenantIdentifier: "consumer-tenant-id", v1alpha1.LabelTenantType: v1alpha1.TenantTypeConsumer,
				v1alpha1.LabelSubscriptionGUID: guid,
			},
			Annotations:     map[string]string{v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(ca.Namespace, ca.Name)},
			Finalizers:      []string{v1alpha1.FinalizerCAPTenant},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ca, v1alpha1.SchemeGroupVersion.WithKind("CAPApplication"))}},
		Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: ca.Name, Version: v2.Spec.Version, VersionUpgradeStrategy: "always",
			BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "consumer-x", TenantId: "consumer-tenant-id"}},
	}
	legacy(&cat.ObjectMeta)
	created, err := client.Create(ctx, cat, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status.State = v1alpha1.CAPTenantStateUpgrading
	created.Status.CurrentCAPApplicationVersionInstance = v1.Name
	meta.SetStatusCondition(&created.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "UpgradeOperationCreated",
		Message: "waiting for CAPTenantOperation of type upgrade to complete"})
	if created, err = client.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return created
}

// createRunningUpgrade creates the tenant's upgrade operation, named by generateName, with
// its first step's Job (also named by generateName) running.
func createRunningUpgrade(t *testing.T, env *testenv.Env, cat *v1alpha1.CAPTenant, v2 *v1alpha1.CAPApplicationVersion) (*v1alpha1.CAPTenantOperation, *batchv1.Job) {
	t.Helper()
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(env.Config).SmeV1alpha1().CAPTenantOperations(cat.Namespace)
	op := &v1alpha1.CAPTenantOperation{
		ObjectMeta: metav1.ObjectMeta{GenerateName: cat.Name + "-", Namespace: cat.Namespace,
			Labels: map[string]string{
				v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(cat.Namespace, cat.Name), v1alpha1.LabelOwnerGeneration: "1",
				v1alpha1.LabelTenantOperationType: "upgrade", v1alpha1.LabelTenantType: v1alpha1.TenantTypeConsumer,
				v1alpha1.LabelSubscriptionGUID: guid, v1alpha1.LabelCAVVersion: v2.Spec.Version,
			},
			Annotations:     map[string]string{v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(cat.Namespace, cat.Name), v1alpha1.AnnotationSubscriptionGUID: guid},
			Finalizers:      []string{v1alpha1.FinalizerCAPTenantOperation},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cat, v1alpha1.SchemeGroupVersion.WithKind("CAPTenant"))}},
		Spec: v1alpha1.CAPTenantOperationSpec{Operation: "upgrade", BTPTenantIdentification: cat.Spec.BTPTenantIdentification,
			CAPApplicationVersionInstance: v2.Name,
			Steps: []v1alpha1.CAPTenantOperationStep{{Name: "tenant-operation", Type: "TenantOperation"},
				{Name: "notify-upgrade", Type: "CustomTenantOperation", ContinueOnFailure: true}}},
	}
	legacy(&op.ObjectMeta)
	op, err := client.Create(ctx, op, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stepLabels := map[string]string{
		v1alpha1.LabelApp: app, v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(op.Namespace, op.Name), v1alpha1.LabelOwnerGeneration: "1",
		v1alpha1.LabelTenantOperationType: "upgrade", v1alpha1.LabelTenantOperationStep: "1",
		v1alpha1.LabelWorkloadName: "tenant-operation", v1alpha1.LabelWorkloadType: "TenantOperation", v1alpha1.LabelResourceCategory: v1alpha1.CategoryWorkload,
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{GenerateName: cat.Name + "-tenant-operation-", Namespace: op.Namespace, Labels: stepLabels,
			Annotations:     map[string]string{v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(op.Namespace, op.Name)},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(op, v1alpha1.SchemeGroupVersion.WithKind("CAPTenantOperation"))}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: stepLabels},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "tenant-operation", Image: "app.some.repo.example.com/approuter/content:0.0.2"}}},
		}},
	}
	if job, err = env.Clientset().BatchV1().Jobs(op.Namespace).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	op.Status.State = v1alpha1.CAPTenantOperationStateProcessing
	op.Status.CurrentStep, op.Status.ActiveJob = ptr.To[uint32](1), ptr.To(job.Name)
	meta.SetStatusCondition(&op.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "StepInitiated",
		Message: "step 1/2 : job " + job.Namespace + "." + job.Name + " created"})
	if op, err = client.UpdateStatus(ctx, op, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return op, job
}
