package capapplication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// providerTenantName is the name of an application's provider tenant.
func providerTenantName(ca *v1alpha1.CAPApplication) string { return ca.Name + "-provider" }

// providerTenant creates the provider tenant of an application that declares a provider and
// reports, through blocked and the outcome, whether the application waits for it.
func (ctl *Controller) providerTenant(ctx context.Context, ca *v1alpha1.CAPApplication, latest *v1alpha1.CAPApplicationVersion, o *outcome) (blocked bool, err error) {
	if ca.Spec.Provider == nil {
		return false, nil
	}
	tenant, err := ctl.tenants.CAPTenants(ca.Namespace).Get(providerTenantName(ca))
	if apierrors.IsNotFound(err) {
		if err := ctl.createProviderTenant(ctx, ca, latest); err != nil {
			return true, err
		}
		*o = withReady(*o, v1alpha1.CAPApplicationStateProcessing, ReasonProviderTenantProcessing, "provider tenant created")
		return true, nil
	}
	if err != nil {
		return true, err
	}
	if ca.Spec.RolloutStrategy != nil && tenant.Status.CurrentCAPApplicationVersionInstance != "" {
		// Under a rollout strategy the provider tenant is one of the rollout's tenants: its
		// upgrade or failure is reported (and halts) there instead of blocking the rollout.
		return false, nil
	}
	switch tenant.Status.State {
	case v1alpha1.CAPTenantStateReady:
		return false, nil
	case v1alpha1.CAPTenantStateProvisioningError, v1alpha1.CAPTenantStateUpgradeError:
		*o = withReady(*o, v1alpha1.CAPApplicationStateError, ReasonProviderTenantError, fmt.Sprintf("provider tenant %s is in state %s", tenant.Name, tenant.Status.State))
	default:
		*o = withReady(*o, v1alpha1.CAPApplicationStateProcessing, ReasonProviderTenantProcessing, fmt.Sprintf("waiting for provider tenant %s to be Ready", tenant.Name))
	}
	return true, nil
}

// withReady returns o with the state and a false Ready condition set.
func withReady(o outcome, state v1alpha1.CAPApplicationState, reason, message string) outcome {
	o.state = state
	o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeReady, false, reason, message))
	return o
}

// subscriptionContext is the payload of a provider tenant's subscription-context Secret, in
// the shape the SaaS registry sends for consumers.
type subscriptionContext struct {
	SubscriptionAppName    string `json:"subscriptionAppName"`
	SubscribedTenantID     string `json:"subscribedTenantId"`
	SubscribedSubaccountID string `json:"subscribedSubaccountId"`
	SubscribedSubdomain    string `json:"subscribedSubdomain"`
	GlobalAccountGUID      string `json:"globalAccountGUID"`
}

// createProviderTenant creates the provider tenant with its subscription-context Secret.
// The tenant is created with the labels and finalizer the tenant controller would add, which
// saves it an update.
func (ctl *Controller) createProviderTenant(ctx context.Context, ca *v1alpha1.CAPApplication, latest *v1alpha1.CAPApplicationVersion) error {
	globalAccount := ca.Spec.GlobalAccountId
	if globalAccount == "" {
		globalAccount = ca.Annotations[v1alpha1.AnnotationGlobalAccountId]
	}
	payload, _ := json.Marshal(subscriptionContext{
		SubscriptionAppName: ca.Spec.BTPAppName, SubscribedTenantID: ca.Spec.Provider.TenantId,
		SubscribedSubaccountID: ca.Spec.ProviderSubaccountId, SubscribedSubdomain: ca.Spec.Provider.SubDomain,
		GlobalAccountGUID: globalAccount,
	})
	secrets := ctl.c.Clients.Kube.CoreV1().Secrets(ca.Namespace)
	secret, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: providerTenantName(ca) + "-", Namespace: ca.Namespace,
			Labels: tenant.ContextSecretLabels(ca.Spec.Provider.TenantId, ""),
		},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{v1alpha1.SubscriptionContextKey: string(payload)},
	}, metav1.CreateOptions{FieldManager: controller.FieldManager})
	if err != nil {
		return fmt.Errorf("creating the provider tenant's subscription context: %w", err)
	}
	cat, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(ca.Namespace).Create(ctx, newProviderTenant(ca, latest, secret.Name), metav1.CreateOptions{FieldManager: controller.FieldManager})
	if err != nil {
		err = fmt.Errorf("creating the provider tenant: %w", err)
		// The context Secret is useless without its tenant; a failed clean-up is reported with
		// the original error so that an orphaned Secret is visible.
		if delErr := secrets.Delete(ctx, secret.Name, metav1.DeleteOptions{}); delErr != nil && !apierrors.IsNotFound(delErr) {
			err = errors.Join(err, fmt.Errorf("deleting the orphaned subscription context %s: %w", secret.Name, delErr))
		}
		return err
	}
	secret.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(cat, v1alpha1.SchemeGroupVersion.WithKind("CAPTenant"))}
	if _, err := secrets.Update(ctx, secret, metav1.UpdateOptions{FieldManager: controller.FieldManager}); err != nil {
		return fmt.Errorf("making the provider tenant own its subscription context: %w", err)
	}
	ctl.c.Recorder.Eventf(ca, cat, corev1.EventTypeNormal, "ProviderTenantCreated", "ProviderTenantProcessing", "created provider tenant %s", cat.Name)
	return nil
}

// newProviderTenant builds the provider CAPTenant of an application.
func newProviderTenant(ca *v1alpha1.CAPApplication, latest *v1alpha1.CAPApplicationVersion, secretName string) *v1alpha1.CAPTenant {
	id := tenant.TenantIdentity(ca, ca.Spec.Provider.TenantId, v1alpha1.TenantTypeProvider, "")
	id.Annotations[v1alpha1.AnnotationSubscriptionContextSecret] = secretName
	return &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{
			Name: providerTenantName(ca), Namespace: ca.Namespace,
			Labels: id.Labels, Annotations: id.Annotations,
			// No owner reference to the application: see tenant.WithoutApplicationOwner.
			Finalizers: []string{v1alpha1.FinalizerCAPTenant},
		},
		Spec: v1alpha1.CAPTenantSpec{
			CAPApplicationInstance:  ca.Name,
			BTPTenantIdentification: *ca.Spec.Provider,
			Version:                 latest.Spec.Version,
		},
	}
}
