package validation

import (
	"strconv"
	"strings"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capstan-io/capstan/internal/rollout"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// maxRolloutWaves bounds the waves of a rollout strategy (and the size of its status).
const maxRolloutWaves = 20

// validateRollout validates a CAPApplication's rollout strategy and rollout-action annotation.
func validateRollout(ca *v1alpha1.CAPApplication) field.ErrorList {
	var errs field.ErrorList
	if a, ok := ca.Annotations[v1alpha1.AnnotationRolloutAction]; ok {
		valid := []string{v1alpha1.RolloutActionResume, v1alpha1.RolloutActionRetry, v1alpha1.RolloutActionAbort}
		if !sets.New(valid...).Has(a) {
			errs = append(errs, field.NotSupported(field.NewPath("metadata", "annotations").Key(v1alpha1.AnnotationRolloutAction), a, valid))
		}
	}
	s := ca.Spec.RolloutStrategy
	if s == nil {
		return errs
	}
	path := field.NewPath("spec", "rolloutStrategy")
	errs = append(errs, validateIntOrPercent(s.MaxParallel, 1, path.Child("maxParallel"))...)
	errs = append(errs, validateIntOrPercent(s.MaxParallelProvisioning, 1, path.Child("maxParallelProvisioning"))...)
	errs = append(errs, validateIntOrPercent(s.MaxFailures, 0, path.Child("maxFailures"))...)
	if len(s.Waves) > maxRolloutWaves {
		errs = append(errs, field.TooMany(path.Child("waves"), len(s.Waves), maxRolloutWaves))
	}
	names := sets.New[string]()
	for i, w := range s.Waves {
		errs = append(errs, validateWave(w, names, path.Child("waves").Index(i))...)
		names.Insert(w.Name)
	}
	return errs
}

// validateWave validates one wave; names are the names of the waves before it.
func validateWave(w v1alpha1.RolloutWave, names sets.Set[string], path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Label(w.Name) {
		errs = append(errs, field.Invalid(path.Child("name"), w.Name, msg))
	}
	switch {
	case w.Name == rollout.RestWave:
		errs = append(errs, field.Invalid(path.Child("name"), w.Name, "the name rest is reserved for the tenants no wave selects"))
	case names.Has(w.Name):
		errs = append(errs, field.Duplicate(path.Child("name"), w.Name))
	}
	if w.Selector == nil && len(w.TenantIds) == 0 {
		errs = append(errs, field.Required(path, "a wave selects tenants by selector, tenantIds or both"))
	}
	if w.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(w.Selector, metav1validation.LabelSelectorValidationOptions{}, path.Child("selector"))...)
		if len(w.Selector.MatchLabels) == 0 && len(w.Selector.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(path.Child("selector"), "{}", "an empty selector selects no tenant; omit it or add matchLabels or matchExpressions"))
		}
	}
	ids := sets.New[string]()
	for j, id := range w.TenantIds {
		p := path.Child("tenantIds").Index(j)
		switch {
		case strings.TrimSpace(id) == "":
			errs = append(errs, field.Required(p, "a tenant ID must not be empty"))
		case ids.Has(id):
			errs = append(errs, field.Duplicate(p, id))
		}
		ids.Insert(id)
	}
	if w.HealthGate != nil {
		switch {
		case w.PauseAfter:
			errs = append(errs, field.Forbidden(path.Child("healthGate"), "set either pauseAfter or healthGate"))
		case w.HealthGate.Duration <= 0:
			errs = append(errs, field.Invalid(path.Child("healthGate"), w.HealthGate.Duration.String(), "must be positive"))
		}
	}
	return errs
}

// validateIntOrPercent checks a number of at least minimum or a percentage between minimum and
// 100 written as "N%".
func validateIntOrPercent(v *intstr.IntOrString, minimum int, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if v.Type == intstr.Int {
		if int(v.IntVal) < minimum {
			return field.ErrorList{field.Invalid(path, v.IntVal, "must be at least "+strconv.Itoa(minimum))}
		}
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	if err != nil || !strings.HasSuffix(v.StrVal, "%") {
		return field.ErrorList{field.Invalid(path, v.StrVal, "must be a number or a percentage such as 25%")}
	}
	if n < minimum || n > 100 {
		return field.ErrorList{field.Invalid(path, v.StrVal, "a percentage must be between "+strconv.Itoa(minimum)+"% and 100%")}
	}
	return nil
}
