// Package workload holds the pure builders shared by the controllers that turn
// CAPApplicationVersion workloads into pods: names, the container and pod template of a
// workload, the operator's environment variables and the VCAP_SERVICES content.
package workload

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Environment variables the operator sets.
const (
	EnvAppVersion   = "CAPOP_APP_VERSION"
	EnvVCAPServices = "VCAP_SERVICES"
	EnvDestinations = "destinations"
)

// reservedEnv are the names workloads may not set themselves.
var reservedEnv = []string{EnvAppVersion, EnvVCAPServices}

// Name returns the name of a workload's objects: `<cavName>-<lower(workloadName)>`.
func Name(cavName, workloadName string) string {
	return cavName + "-" + strings.ToLower(workloadName)
}

// ServiceName returns the name of a deployment workload's Service.
func ServiceName(cavName, workloadName string) string {
	return Name(cavName, workloadName) + "-svc"
}

// Common returns the container and pod settings of a workload, whichever kind it is.
func Common(w *v1alpha1.WorkloadDetails) *v1alpha1.CommonDetails {
	switch {
	case w.DeploymentDefinition != nil:
		return &w.DeploymentDefinition.CommonDetails
	case w.JobDefinition != nil:
		return &w.JobDefinition.CommonDetails
	}
	return nil
}

// CheckReservedEnv returns an error naming the first reserved variable a workload sets.
func CheckReservedEnv(w *v1alpha1.WorkloadDetails) error {
	common := Common(w)
	if common == nil {
		return nil
	}
	for _, e := range common.Env {
		for _, reserved := range reservedEnv {
			if e.Name == reserved {
				return fmt.Errorf("invalid env configuration for workload %s, remove entry %s", w.Name, reserved)
			}
		}
	}
	return nil
}

// Find returns the workload of the given name.
func Find(cav *v1alpha1.CAPApplicationVersion, name string) *v1alpha1.WorkloadDetails {
	for i := range cav.Spec.Workloads {
		if cav.Spec.Workloads[i].Name == name {
			return &cav.Spec.Workloads[i]
		}
	}
	return nil
}

// JobName returns a valid Job name (a lower-case DNS label of at most 63 characters) for base.
func JobName(base string) string {
	return identity.DNSLabel(base)
}

// VersionLabel returns the value of the cav-version label for a version.
func VersionLabel(version string) string {
	return identity.LabelValue(version)
}

// EnvFromSecret returns the envFrom entry that injects a VCAP_SERVICES Secret. It is optional
// so that a pod does not stay stuck when the Secret is replaced during a credential rollout.
func EnvFromSecret(secretName string) []corev1.EnvFromSource {
	if secretName == "" {
		return nil
	}
	optional := true
	return []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: secretName}, Optional: &optional,
	}}}
}

// ServicesOnly reports whether an application runs services only: it declares no provider
// and the version has no job other than Content ones and no Router. The Router condition goes
// beyond the previous implementation's rule: a multi-tenant version may omit its
// TenantOperation workload (the CAP workload stands in for it) and must not be mistaken for a
// services-only one, while services-only versions (like the published example) may run a CAP
// server, but never a Router, which only serves tenants.
func ServicesOnly(ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) bool {
	if ca.Spec.Provider != nil {
		return false
	}
	for _, w := range cav.Spec.Workloads {
		if w.JobDefinition != nil && w.JobDefinition.Type != v1alpha1.JobContent {
			return false
		}
		if d := w.DeploymentDefinition; d != nil && d.Type == v1alpha1.DeploymentRouter {
			return false
		}
	}
	return true
}
