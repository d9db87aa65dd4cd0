package controller

import (
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestStripCertManagerObject checks that the cache keeps a CertificateRequest's conditions
// but neither its PEM data nor its managedFields, and leaves Certificates' specs alone.
func TestStripCertManagerObject(t *testing.T) {
	managed := []metav1.ManagedFieldsEntry{{Manager: "cert-manager"}}
	req := &cmv1.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Name: "r", ManagedFields: managed},
		Spec: cmv1.CertificateRequestSpec{Request: []byte("csr")},
		Status: cmv1.CertificateRequestStatus{Certificate: []byte("cert"), CA: []byte("ca"),
			Conditions: []cmv1.CertificateRequestCondition{{Type: cmv1.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse, Reason: "Pending"}}}}
	got, err := stripCertManagerObject(req)
	if err != nil {
		t.Fatal(err)
	}
	r := got.(*cmv1.CertificateRequest)
	if r.Spec.Request != nil || r.Status.Certificate != nil || r.Status.CA != nil || r.ManagedFields != nil || len(r.Status.Conditions) != 1 {
		t.Errorf("stripped request: %+v", r)
	}
	cert := &cmv1.Certificate{ObjectMeta: metav1.ObjectMeta{Name: "c", ManagedFields: managed}, Spec: cmv1.CertificateSpec{SecretName: "s"}}
	if got, err := stripCertManagerObject(cert); err != nil || got.(*cmv1.Certificate).Spec.SecretName != "s" || got.(*cmv1.Certificate).ManagedFields != nil {
		t.Errorf("stripped certificate: %+v, %v", got, err)
	}
}

// TestStripOwnedObject checks that the cache keeps a pod's metadata and status but not its
// spec, drops the spec of tenant operations' Jobs only, and keeps every Job's metadata and
// status.
func TestStripOwnedObject(t *testing.T) {
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "a"}, ManagedFields: managed},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "c", RestartCount: 3}}}}
	got, err := stripOwnedObject(pod)
	if err != nil {
		t.Fatal(err)
	}
	p := got.(*corev1.Pod)
	if len(p.Spec.Containers) != 0 || p.ManagedFields != nil || p.Labels["app"] != "a" || p.Status.Phase != corev1.PodPending ||
		len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].RestartCount != 3 {
		t.Errorf("stripped pod: %+v", p)
	}
	template := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}}}
	controllerOf := func(apiVersion, kind string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: "o", UID: "u", Controller: ptr.To(true)}}
	}
	for _, tc := range []struct {
		name     string
		owners   []metav1.OwnerReference
		stripped bool
	}{
		{"tenant operation's Job", controllerOf("sme.sap.com/v1alpha1", "CAPTenantOperation"), true},
		{"version's content Job", controllerOf("sme.sap.com/v1alpha1", "CAPApplicationVersion"), false},
		{"another group's kind of that name", controllerOf("example.com/v1", "CAPTenantOperation"), false},
		{"no controller", nil, false},
	} {
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", ManagedFields: managed, OwnerReferences: tc.owners},
			Spec:   batchv1.JobSpec{BackoffLimit: ptr.To[int32](2), Template: *template.DeepCopy()},
			Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}}
		got, err := stripOwnedObject(job)
		if err != nil {
			t.Fatal(err)
		}
		j := got.(*batchv1.Job)
		if j.ManagedFields != nil || len(j.OwnerReferences) != len(tc.owners) || len(j.Status.Conditions) != 1 {
			t.Errorf("%s: metadata or status lost: %+v", tc.name, j)
		}
		if kept := len(j.Spec.Template.Spec.Containers) == 1 && j.Spec.BackoffLimit != nil; kept == tc.stripped {
			t.Errorf("%s: spec kept %v, want %v", tc.name, kept, !tc.stripped)
		}
	}
}
