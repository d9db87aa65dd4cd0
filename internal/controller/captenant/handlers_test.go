package captenant

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestApplicationStatusWritesDoNotFanOut: the application controller rewrites the
// application's status about once a second during a mass operation; tenants read nothing of
// it, so those writes must not sync every tenant (which made mass operations quadratic).
func TestApplicationStatusWritesDoNotFanOut(t *testing.T) {
	base := testCA()
	base.ResourceVersion, base.Generation = "1", 1
	for _, c := range []struct {
		name   string
		change func(*v1alpha1.CAPApplication)
		want   bool
	}{
		{"status only (tenant counts)", func(ca *v1alpha1.CAPApplication) {
			ca.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionTypeAllTenantsReady, Status: "False", Message: "12 tenants are not Ready"}}
		}, false},
		{"spec (new generation)", func(ca *v1alpha1.CAPApplication) { ca.Generation = 2 }, true},
		{"annotations (version affinity)", func(ca *v1alpha1.CAPApplication) {
			ca.Annotations = map[string]string{v1alpha1.AnnotationEnableVersionAffinity: "true"}
		}, true},
		{"deletion", func(ca *v1alpha1.CAPApplication) { ca.DeletionTimestamp = &metav1.Time{Time: t0} }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			updated := base.DeepCopy()
			updated.ResourceVersion = "2"
			c.change(updated)
			if got := applicationMatters(base, updated); got != c.want {
				t.Errorf("applicationMatters = %v, want %v", got, c.want)
			}
		})
	}
}

// TestVersionUpdatesThatMatter: of a version's status, tenants wait only for its state.
func TestVersionUpdatesThatMatter(t *testing.T) {
	base := testCAV("1")
	base.ResourceVersion, base.Status.State = "1", v1alpha1.CAPApplicationVersionStateProcessing
	for _, c := range []struct {
		name   string
		change func(*v1alpha1.CAPApplicationVersion)
		want   bool
	}{
		{"condition message only", func(cav *v1alpha1.CAPApplicationVersion) {
			cav.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "False", Message: "waiting for deployment"}}
		}, false},
		{"becomes Ready", func(cav *v1alpha1.CAPApplicationVersion) { cav.Status.State = v1alpha1.CAPApplicationVersionStateReady }, true},
		{"deletion", func(cav *v1alpha1.CAPApplicationVersion) { cav.DeletionTimestamp = &metav1.Time{Time: t0} }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			updated := base.DeepCopy()
			updated.ResourceVersion = "2"
			c.change(updated)
			if got := versionMatters(base, updated); got != c.want {
				t.Errorf("versionMatters = %v, want %v", got, c.want)
			}
		})
	}
}
