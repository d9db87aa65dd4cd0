package versioncleanup

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/capstan-io/capstan/internal/controller/capapplication"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Mode is what the sme.sap.com/enable-cleanup-monitoring annotation of a CAPApplication asks
// for.
type Mode string

// Modes of the annotation. Values are compared case-insensitively.
const (
	// ModeOff: the application's versions are not evaluated (annotation absent).
	ModeOff Mode = ""
	// ModeDelete ("true"): eligible versions are reported and deleted.
	ModeDelete Mode = "true"
	// ModeDryRun ("dry-run"): eligible versions are only reported.
	ModeDryRun Mode = "dry-run"
)

// ModeOf reads the annotation of an application. An unknown value yields ModeOff and an error
// that says which values are accepted.
func ModeOf(ca *v1alpha1.CAPApplication) (Mode, error) {
	value, ok := ca.Annotations[v1alpha1.AnnotationEnableCleanupMonitoring]
	if !ok {
		return ModeOff, nil
	}
	switch Mode(strings.ToLower(strings.TrimSpace(value))) {
	case ModeDelete:
		return ModeDelete, nil
	case ModeDryRun:
		return ModeDryRun, nil
	case "false", "":
		return ModeOff, nil
	}
	return ModeOff, fmt.Errorf("annotation %s has the value %q; use \"true\" (delete unused versions) or \"dry-run\" (only report them)",
		v1alpha1.AnnotationEnableCleanupMonitoring, value)
}

// Exclusion says why a version of an application may not be deleted whatever its metrics
// say, or returns "" when it is a candidate. versions are the application's versions and
// tenants its tenants, both as the informer caches hold them.
//
// Excluded are: versions being deleted; every version when none is Ready; the latest Ready
// version and every version at or above it (semantic-version order, so versions still being
// rolled out are kept); and any version a tenant runs (status.currentCAPApplicationVersionInstance)
// or is moving to (spec.version).
func Exclusion(cav *v1alpha1.CAPApplicationVersion, versions []*v1alpha1.CAPApplicationVersion, tenants []*v1alpha1.CAPTenant) string {
	if cav.DeletionTimestamp != nil {
		return "the version is already being deleted"
	}
	latest := LatestReady(versions)
	if latest == nil {
		return "the application has no Ready version"
	}
	if capapplication.CompareVersions(cav.Spec.Version, latest.Spec.Version) >= 0 {
		if cav.Name == latest.Name {
			return "it is the latest Ready version"
		}
		return fmt.Sprintf("it is not older than the latest Ready version %s", latest.Spec.Version)
	}
	for _, t := range tenants {
		switch {
		case t.Status.CurrentCAPApplicationVersionInstance == cav.Name:
			return fmt.Sprintf("tenant %s runs it", t.Name)
		case t.Spec.Version != "" && t.Spec.Version == cav.Spec.Version:
			return fmt.Sprintf("tenant %s requests version %s", t.Name, t.Spec.Version)
		}
	}
	return ""
}

// Candidates returns the versions that Exclusion lets through, in the given order.
func Candidates(versions []*v1alpha1.CAPApplicationVersion, tenants []*v1alpha1.CAPTenant) []*v1alpha1.CAPApplicationVersion {
	var out []*v1alpha1.CAPApplicationVersion
	for _, cav := range versions {
		if Exclusion(cav, versions, tenants) == "" {
			out = append(out, cav)
		}
	}
	return out
}

// LatestReady returns the highest version whose Ready condition is True, ignoring versions
// being deleted, or nil.
func LatestReady(versions []*v1alpha1.CAPApplicationVersion) *v1alpha1.CAPApplicationVersion {
	var latest *v1alpha1.CAPApplicationVersion
	for _, cav := range versions {
		if cav.DeletionTimestamp != nil || !meta.IsStatusConditionTrue(cav.Status.Conditions, v1alpha1.ConditionTypeReady) {
			continue
		}
		if latest == nil || capapplication.CompareVersions(cav.Spec.Version, latest.Spec.Version) > 0 {
			latest = cav
		}
	}
	return latest
}
