package validation

import (
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestRolloutStrategy(t *testing.T) {
	with := func(s v1alpha1.RolloutStrategy) func(*v1alpha1.CAPApplication) {
		return func(ca *v1alpha1.CAPApplication) { ca.Spec.RolloutStrategy = &s }
	}
	canary := v1alpha1.RolloutWave{Name: "canary", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"canary": "true"}}, PauseAfter: true}
	provider := v1alpha1.RolloutWave{Name: "provider", TenantIds: []string{"t-1"}, HealthGate: &metav1.Duration{Duration: time.Minute}}
	action := func(a string) func(*v1alpha1.CAPApplication) {
		return func(ca *v1alpha1.CAPApplication) {
			ca.Annotations = map[string]string{v1alpha1.AnnotationRolloutAction: a}
		}
	}
	cases := map[string]review{
		"full strategy": {op: admissionv1.Create, obj: app(with(v1alpha1.RolloutStrategy{
			MaxParallel: ptr.To(intstr.FromString("10%")), MaxParallelProvisioning: ptr.To(intstr.FromInt32(5)), MaxFailures: ptr.To(intstr.FromInt32(0)),
			Waves: []v1alpha1.RolloutWave{provider, canary}}))},
		"no strategy": {op: admissionv1.Create, obj: app()},
		"maxParallel zero": {op: admissionv1.Create, obj: app(with(v1alpha1.RolloutStrategy{MaxParallel: ptr.To(intstr.FromInt32(0))})),
			denied: []string{"spec.rolloutStrategy.maxParallel", "at least 1"}},
		"percent above 100": {op: admissionv1.Create, obj: app(with(v1alpha1.RolloutStrategy{MaxFailures: ptr.To(intstr.FromString("150%"))})),
			denied: []string{"spec.rolloutStrategy.maxFailures", "between 0% and 100%"}},
		"not a percent": {op: admissionv1.Create, obj: app(with(v1alpha1.RolloutStrategy{MaxParallelProvisioning: ptr.To(intstr.FromString("ten"))})),
			denied: []string{"spec.rolloutStrategy.maxParallelProvisioning", "percentage such as 25%"}},
		"duplicate and reserved wave names": {op: admissionv1.Create, obj: app(with(v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{canary, canary, {Name: "rest", TenantIds: []string{"x"}}}})),
			denied: []string{"spec.rolloutStrategy.waves[1].name: Duplicate", "spec.rolloutStrategy.waves[2].name", "reserved"}},
		"wave selects nothing": {op: admissionv1.Create, obj: app(with(v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{{Name: "w", Selector: &metav1.LabelSelector{}}, {Name: "v"}}})),
			denied: []string{"spec.rolloutStrategy.waves[0].selector", "empty selector", "spec.rolloutStrategy.waves[1]: Required"}},
		"invalid selector": {op: admissionv1.Create, obj: app(with(v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{{Name: "w", Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}}}})),
			denied: []string{"spec.rolloutStrategy.waves[0].selector.matchExpressions[0].operator"}},
		"pause and gate together": {op: admissionv1.Update, old: app(), obj: app(with(v1alpha1.RolloutStrategy{Waves: []v1alpha1.RolloutWave{{Name: "w", TenantIds: []string{"a", "a"}, PauseAfter: true, HealthGate: &metav1.Duration{Duration: time.Minute}}}})),
			denied: []string{"spec.rolloutStrategy.waves[0].healthGate", "either pauseAfter or healthGate", "spec.rolloutStrategy.waves[0].tenantIds[1]: Duplicate"}},
		"unknown rollout action": {op: admissionv1.Update, old: app(), obj: app(action("restart")),
			denied: []string{"metadata.annotations[sme.sap.com/rollout-action]", "resume"}},
		"known rollout action": {op: admissionv1.Update, old: app(), obj: app(action("retry"))},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) { runReview(t, r) })
	}
}
