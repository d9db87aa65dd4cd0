package tenant

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Environment variables of tenant-operation Jobs, in the order they are set.
const (
	EnvTenantID            = "CAPOP_TENANT_ID"
	EnvTenantOperation     = "CAPOP_TENANT_OPERATION"
	EnvTenantSubdomain     = "CAPOP_TENANT_SUBDOMAIN"
	EnvTenantType          = "CAPOP_TENANT_TYPE"
	EnvAppName             = "CAPOP_APP_NAME"
	EnvGlobalAccountID     = "CAPOP_GLOBAL_ACCOUNT_ID"
	EnvProviderSubaccount  = "CAPOP_PROVIDER_SUBACCOUNT_ID"
	EnvProviderTenantID    = "CAPOP_PROVIDER_TENANT_ID"
	EnvProviderSubdomain   = "CAPOP_PROVIDER_SUBDOMAIN"
	EnvSubscriptionPayload = "CAPOP_SUBSCRIPTION_PAYLOAD"
	EnvMTXSOperation       = "CAPOP_TENANT_MTXS_OPERATION"
)

// Default command of a TenantOperation step whose workload sets none: the cds-mtxs CLI.
var defaultCommand = []string{"node", "./node_modules/@sap/cds-mtxs/bin/cds-mtx"}

// EnvInput is what the operator's environment of a step's Job depends on.
type EnvInput struct {
	// CA and CAV are the application and the version running the operation.
	CA  *v1alpha1.CAPApplication
	CAV *v1alpha1.CAPApplicationVersion
	// Operation is the CAPTenantOperation (spec and tenant-type label are read).
	Operation *v1alpha1.CAPTenantOperation
	// StepType is the type of the step.
	StepType v1alpha1.StepType
	// PayloadSecret is the subscription-context Secret of a provisioning operation; empty
	// when there is none (a tenant created without a subscription, e.g. with kubectl).
	PayloadSecret string
}

// Env returns the operator's variables of a step's Job, before the workload's own: the
// version, tenant, operation, subdomain, tenant type and app name, the global account when
// the application has one, the provider identifiers when set and, for TenantOperation steps,
// the subscription payload (provisioning with a subscription context) and the cds-mtxs
// operation.
func Env(in EnvInput) []corev1.EnvVar {
	spec := in.Operation.Spec
	env := []corev1.EnvVar{
		{Name: workload.EnvAppVersion, Value: in.CAV.Spec.Version},
		{Name: EnvTenantID, Value: spec.TenantId},
		{Name: EnvTenantOperation, Value: string(spec.Operation)},
		{Name: EnvTenantSubdomain, Value: spec.SubDomain},
		{Name: EnvTenantType, Value: in.Operation.Labels[v1alpha1.LabelTenantType]},
		{Name: EnvAppName, Value: in.CA.Spec.BTPAppName},
	}
	if in.CA.Spec.GlobalAccountId != "" {
		env = append(env, corev1.EnvVar{Name: EnvGlobalAccountID, Value: in.CA.Spec.GlobalAccountId})
	}
	if in.CA.Spec.ProviderSubaccountId != "" {
		env = append(env, corev1.EnvVar{Name: EnvProviderSubaccount, Value: in.CA.Spec.ProviderSubaccountId})
	}
	if p := in.CA.Spec.Provider; p != nil {
		env = append(env,
			corev1.EnvVar{Name: EnvProviderTenantID, Value: p.TenantId},
			corev1.EnvVar{Name: EnvProviderSubdomain, Value: p.SubDomain})
	}
	if in.StepType != v1alpha1.StepTenantOperation {
		return env
	}
	if hasPayload(in) {
		env = append(env, corev1.EnvVar{Name: EnvSubscriptionPayload, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: in.PayloadSecret},
				Key:                  v1alpha1.SubscriptionContextKey,
			},
		}})
	}
	return append(env, corev1.EnvVar{Name: EnvMTXSOperation, Value: MTXSOperation(spec.Operation)})
}

// hasPayload reports whether the Job receives the subscription payload.
func hasPayload(in EnvInput) bool {
	return in.Operation.Spec.Operation == v1alpha1.CAPTenantOperationTypeProvisioning && in.PayloadSecret != ""
}

// MTXSOperation returns the cds-mtxs command of an operation.
func MTXSOperation(op v1alpha1.CAPTenantOperationType) string {
	switch op {
	case v1alpha1.CAPTenantOperationTypeProvisioning:
		return "subscribe"
	case v1alpha1.CAPTenantOperationTypeDeprovisioning:
		return "unsubscribe"
	}
	return "upgrade"
}

// Command returns the command and arguments of a step's container: the workload's own, or,
// for a TenantOperation step without a command, the cds-mtxs CLI with the operation, the
// tenant and (when provisioning with a subscription context) the payload as body. A nil
// command keeps the workload's.
func Command(in EnvInput, common *v1alpha1.CommonDetails) (command, args []string) {
	if in.StepType != v1alpha1.StepTenantOperation || len(common.Command) > 0 {
		return nil, nil
	}
	args = []string{"$(" + EnvMTXSOperation + ")", in.Operation.Spec.TenantId}
	if hasPayload(in) {
		args = append(args, "--body", "$("+EnvSubscriptionPayload+")")
	}
	return defaultCommand, args
}
