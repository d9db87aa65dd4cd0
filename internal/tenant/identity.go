package tenant

import (
	"strconv"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Identity is the identity metadata of a tenant or of its operations: the labels and
// annotations by which the operator, the subscription server and users find them.
type Identity struct {
	Labels      map[string]string
	Annotations map[string]string
}

// TenantIdentity returns the identity of ca's tenant with the tenant id (spec section 0.1):
// the tenant id, the application's identifier and hash, the application as owner (its
// identifier, hash and generation), and, when given, the tenant type and the subscription
// GUID. The subscription server, the application controller (provider tenant) and the tenant
// controller (for tenants created by hand) all use it, so every tenant carries the same keys.
func TenantIdentity(ca *v1alpha1.CAPApplication, tenantID, tenantType, subscriptionGUID string) Identity {
	account := identity.AppAccount(ca.Spec.ProviderSubaccountId, ca.Spec.GlobalAccountId)
	id := Identity{
		Labels: map[string]string{
			v1alpha1.LabelBTPTenantIdentifier: tenantID,
			v1alpha1.LabelAppIdentifierHash:   identity.AppHash(account, ca.Spec.BTPAppName),
			v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(ca.Namespace, ca.Name),
			v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(ca.Generation, 10),
		},
		Annotations: map[string]string{
			v1alpha1.AnnotationAppIdentifier:   identity.AppID(account, ca.Spec.BTPAppName),
			v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(ca.Namespace, ca.Name),
		},
	}
	if tenantType != "" {
		id.Labels[v1alpha1.LabelTenantType] = tenantType
	}
	if subscriptionGUID != "" {
		id.Labels[v1alpha1.LabelSubscriptionGUID] = subscriptionGUID
		id.Annotations[v1alpha1.AnnotationSubscriptionGUID] = subscriptionGUID
	}
	return id
}

// ContextSecretLabels returns the labels of a tenant's subscription-context Secret: the
// tenant id and, when given, the subscription GUID.
func ContextSecretLabels(tenantID, subscriptionGUID string) map[string]string {
	labels := map[string]string{v1alpha1.LabelBTPTenantIdentifier: tenantID}
	if subscriptionGUID != "" {
		labels[v1alpha1.LabelSubscriptionGUID] = subscriptionGUID
	}
	return labels
}

// OperationIdentity returns the identity of an operation of the tenant: the tenant as owner
// (identifier, hash and generation), the operation type and the tenant id, and the tenant's
// application hash, type and subscription GUID where it has them; a provisioning also names
// the subscription-context Secret. The tenant controller sets it on the operations it
// creates and the operation controller on operations created by hand.
func OperationIdentity(cat *v1alpha1.CAPTenant, op v1alpha1.CAPTenantOperationType) Identity {
	id := Identity{
		Labels: map[string]string{
			v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(cat.Namespace, cat.Name),
			v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(cat.Generation, 10),
			v1alpha1.LabelTenantOperationType: string(op),
			v1alpha1.LabelBTPTenantIdentifier: cat.Spec.TenantId,
		},
		Annotations: map[string]string{
			v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(cat.Namespace, cat.Name),
		},
	}
	for _, key := range []string{v1alpha1.LabelAppIdentifierHash, v1alpha1.LabelTenantType, v1alpha1.LabelSubscriptionGUID} {
		if v := cat.Labels[key]; v != "" {
			id.Labels[key] = v
		}
	}
	if v := cat.Annotations[v1alpha1.AnnotationSubscriptionGUID]; v != "" {
		id.Annotations[v1alpha1.AnnotationSubscriptionGUID] = v
	}
	if v := cat.Annotations[v1alpha1.AnnotationSubscriptionContextSecret]; v != "" && op == v1alpha1.CAPTenantOperationTypeProvisioning {
		id.Annotations[v1alpha1.AnnotationSubscriptionContextSecret] = v
	}
	return id
}
