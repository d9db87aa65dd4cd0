package server

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// first returns the first tenant by namespace and name, nil for none.
func first(items []v1alpha1.CAPTenant) *v1alpha1.CAPTenant {
	if len(items) == 0 {
		return nil
	}
	sort.Slice(items, func(i, j int) bool {
		return items[i].Namespace+"/"+items[i].Name < items[j].Namespace+"/"+items[j].Name
	})
	return &items[0]
}

// listTenants lists tenants in namespace ("" = all) by labels.
func (s *Server) listTenants(ctx context.Context, namespace string, set labels.Set) (*v1alpha1.CAPTenant, error) {
	list, err := s.sme.SmeV1alpha1().CAPTenants(namespace).List(ctx, metav1.ListOptions{LabelSelector: set.String()})
	if err != nil {
		return nil, fmt.Errorf("listing CAPTenants: %w", err)
	}
	return first(list.Items), nil
}

// appTenant finds the application's tenant with the tenant id.
func (s *Server) appTenant(ctx context.Context, ca *v1alpha1.CAPApplication, tenantID string) (*v1alpha1.CAPTenant, error) {
	return s.listTenants(ctx, ca.Namespace, labels.Set{
		v1alpha1.LabelBTPTenantIdentifier: tenantID,
		v1alpha1.LabelAppIdentifierHash:   appHash(ca),
	})
}

// appHash is the app-identifier-hash of a CA (spec section 0.1).
func appHash(ca *v1alpha1.CAPApplication) string {
	return identity.AppHash(identity.AppAccount(ca.Spec.ProviderSubaccountId, ca.Spec.GlobalAccountId), ca.Spec.BTPAppName)
}

// upsertTenant creates the tenant of a subscription, or updates the subscription GUID of an
// existing one. It returns the tenant and the response message.
func (s *Server) upsertTenant(ctx context.Context, ca *v1alpha1.CAPApplication, sub subscription) (*v1alpha1.CAPTenant, string, error) {
	cat, err := s.appTenant(ctx, ca, sub.tenantID)
	if err != nil {
		return nil, "", err
	}
	if cat == nil {
		cat, err = s.createTenant(ctx, ca, sub)
		return cat, msgCreated, err
	}
	if cat.Labels[v1alpha1.LabelSubscriptionGUID] == sub.guid {
		return cat, msgExists, nil
	}
	cat, err = s.updateSubscription(ctx, cat, sub)
	return cat, msgUpdated, err
}

// createTenant creates the subscription-context Secret and the CAPTenant, then makes the
// tenant own the Secret. If the tenant cannot be created the Secret is removed again.
func (s *Server) createTenant(ctx context.Context, ca *v1alpha1.CAPApplication, sub subscription) (*v1alpha1.CAPTenant, error) {
	logger := klog.FromContext(ctx)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: ca.Name + "-consumer-",
			Namespace:    ca.Namespace,
			Labels: map[string]string{
				v1alpha1.LabelBTPTenantIdentifier: sub.tenantID,
				v1alpha1.LabelSubscriptionGUID:    sub.guid,
			},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{v1alpha1.SubscriptionContextKey: sub.raw},
	}
	secret, err := s.kube.CoreV1().Secrets(ca.Namespace).Create(ctx, secret, metav1.CreateOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, fmt.Errorf("creating the subscription-context Secret: %w", err)
	}
	cat := newTenant(ca, sub, secret.Name)
	cat, err = s.sme.SmeV1alpha1().CAPTenants(ca.Namespace).Create(ctx, cat, metav1.CreateOptions{FieldManager: FieldManager})
	if err != nil {
		if delErr := s.kube.CoreV1().Secrets(ca.Namespace).Delete(context.WithoutCancel(ctx), secret.Name, metav1.DeleteOptions{}); delErr != nil {
			logger.Error(delErr, "Removing the orphaned subscription-context Secret failed", "secret", klog.KObj(secret))
		}
		return nil, fmt.Errorf("creating the CAPTenant: %w", err)
	}
	// The owner reference makes the Secret go with the tenant.
	secret.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "CAPTenant", Name: cat.Name, UID: cat.UID,
	}}
	if _, err := s.kube.CoreV1().Secrets(ca.Namespace).Update(ctx, secret, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return nil, fmt.Errorf("setting the owner of the subscription-context Secret: %w", err)
	}
	logger.Info("Created tenant", "tenant", klog.KObj(cat), "tenantId", sub.tenantID, "app", klog.KObj(ca))
	return cat, nil
}

// newTenant builds a consumer CAPTenant. No version is set: the controller picks it.
func newTenant(ca *v1alpha1.CAPApplication, sub subscription, secretName string) *v1alpha1.CAPTenant {
	return &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: ca.Name + "-",
			Namespace:    ca.Namespace,
			Labels: map[string]string{
				v1alpha1.LabelBTPTenantIdentifier: sub.tenantID,
				v1alpha1.LabelSubscriptionGUID:    sub.guid,
				v1alpha1.LabelTenantType:          v1alpha1.TenantTypeConsumer,
				// The controller adds this too; setting it now lets a repeated request find the
				// tenant before the controller has seen it.
				v1alpha1.LabelAppIdentifierHash: appHash(ca),
			},
			Annotations: map[string]string{
				v1alpha1.AnnotationSubscriptionContextSecret: secretName,
				v1alpha1.AnnotationSubscriptionGUID:          sub.guid,
			},
		},
		Spec: v1alpha1.CAPTenantSpec{
			CAPApplicationInstance: ca.Name,
			BTPTenantIdentification: v1alpha1.BTPTenantIdentification{
				SubDomain: sub.subdomain,
				TenantId:  sub.tenantID,
			},
		},
	}
}

// updateSubscription records a new subscription GUID on the tenant and its Secret.
func (s *Server) updateSubscription(ctx context.Context, cat *v1alpha1.CAPTenant, sub subscription) (*v1alpha1.CAPTenant, error) {
	cat = cat.DeepCopy()
	if cat.Labels == nil {
		cat.Labels = map[string]string{}
	}
	if cat.Annotations == nil {
		cat.Annotations = map[string]string{}
	}
	cat.Labels[v1alpha1.LabelSubscriptionGUID] = sub.guid
	cat.Annotations[v1alpha1.AnnotationSubscriptionGUID] = sub.guid
	updated, err := s.sme.SmeV1alpha1().CAPTenants(cat.Namespace).Update(ctx, cat, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, fmt.Errorf("updating the CAPTenant: %w", err)
	}
	if name := cat.Annotations[v1alpha1.AnnotationSubscriptionContextSecret]; name != "" {
		if err := s.updateContextSecret(ctx, cat.Namespace, name, sub); err != nil {
			return nil, err
		}
	}
	klog.FromContext(ctx).Info("Updated tenant subscription", "tenant", klog.KObj(updated), "tenantId", sub.tenantID)
	return updated, nil
}

// updateContextSecret stores the new payload and GUID in the subscription-context Secret.
func (s *Server) updateContextSecret(ctx context.Context, namespace, name string, sub subscription) error {
	secret, err := s.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Info("Subscription-context Secret is missing", "secret", klog.KRef(namespace, name))
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the subscription-context Secret: %w", err)
	}
	if secret.Labels == nil {
		secret.Labels = map[string]string{}
	}
	secret.Labels[v1alpha1.LabelSubscriptionGUID] = sub.guid
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	secret.Data[v1alpha1.SubscriptionContextKey] = sub.raw
	if _, err := s.kube.CoreV1().Secrets(namespace).Update(ctx, secret, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("updating the subscription-context Secret: %w", err)
	}
	return nil
}

// deleteTenant deletes the tenant; one already gone counts as deleted.
func (s *Server) deleteTenant(ctx context.Context, cat *v1alpha1.CAPTenant) error {
	uid := cat.UID
	err := s.sme.SmeV1alpha1().CAPTenants(cat.Namespace).Delete(ctx, cat.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the CAPTenant: %w", err)
	}
	klog.FromContext(ctx).Info("Deleted tenant", "tenant", klog.KObj(cat), "tenantId", cat.Spec.TenantId)
	return nil
}
