package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/server/directory"
	"github.com/capstan-io/capstan/internal/server/httperr"
	"github.com/capstan-io/capstan/internal/server/payload"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TenantName is the name of the consumer CAPTenant of tenantID under the CAPApplication
// caName: "<caName>-<tenantID>" when the tenant id is a lower-case DNS label (BTP tenant ids
// are GUIDs), else "<caName>-<first 12 hex digits of SHA-256(tenantID)>"; shortened like
// identity.DNSLabel when longer than 63 characters. Deterministic, so two concurrent
// subscriptions of one tenant race for one name and the API server lets only one create it.
func TenantName(caName, tenantID string) string {
	suffix := tenantID
	if len(validation.IsDNS1123Label(tenantID)) > 0 {
		suffix = identity.SHA256(tenantID)[:12]
	}
	return identity.DNSLabel(caName + "-" + suffix)
}

// appTenant finds the application's tenant with the tenant id in the cache: the one with the
// deterministic name, else (for tenants created with a generated name before) the one whose
// spec names the tenant id and the application. Several such tenants are refused.
func (s *Server) appTenant(ca *v1alpha1.CAPApplication, tenantID string) (*v1alpha1.CAPTenant, error) {
	cat, err := s.dir.Tenant(ca.Namespace, TenantName(ca.Name, tenantID))
	if err == nil && ownsTenant(ca, cat, tenantID) {
		return cat, nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	all, err := s.dir.TenantsWithID(ca.Namespace, tenantID)
	if err != nil {
		return nil, err
	}
	var mine []*v1alpha1.CAPTenant
	for _, cat := range all {
		if ownsTenant(ca, cat, tenantID) {
			mine = append(mine, cat)
		}
	}
	switch len(mine) {
	case 0:
		return nil, nil
	case 1:
		return mine[0], nil
	}
	return nil, httperr.New(http.StatusConflict, fmt.Sprintf("CAPApplication %s/%s has %d CAPTenants with tenant id %s (%s); delete the duplicates",
		ca.Namespace, ca.Name, len(mine), tenantID, strings.Join(tenantKeys(mine), ", ")), nil)
}

// ownsTenant reports whether cat is ca's tenant with the tenant id.
func ownsTenant(ca *v1alpha1.CAPApplication, cat *v1alpha1.CAPTenant, tenantID string) bool {
	return cat.Namespace == ca.Namespace && cat.Spec.CAPApplicationInstance == ca.Name && cat.Spec.TenantId == tenantID
}

// tenantKeys names tenants for messages.
func tenantKeys(cats []*v1alpha1.CAPTenant) []string {
	out := make([]string, len(cats))
	for i, cat := range cats {
		out[i] = directory.ObjectKey(cat.Namespace, cat.Name)
	}
	return out
}

// upsertTenant creates the tenant of a subscription, or updates the subscription GUID of the
// existing one. It returns the tenant and the response message.
func (s *Server) upsertTenant(ctx context.Context, ca *v1alpha1.CAPApplication, sub payload.Subscription, existing *v1alpha1.CAPTenant) (*v1alpha1.CAPTenant, string, error) {
	message := msgUpdated
	if existing == nil {
		created, cat, err := s.createTenant(ctx, ca, sub)
		if err != nil || created {
			return cat, msgCreated, err
		}
		existing = cat // a concurrent request created it first
	}
	if existing.Labels[v1alpha1.LabelSubscriptionGUID] == sub.GUID {
		return existing, msgExists, nil
	}
	cat, err := s.updateSubscription(ctx, existing, sub)
	return cat, message, err
}

// createTenant creates the subscription-context Secret and the CAPTenant under their
// deterministic names, then makes the tenant own the Secret. When a concurrent request created
// the tenant first it returns that tenant and created=false. A name taken by another tenant is
// a 409.
func (s *Server) createTenant(ctx context.Context, ca *v1alpha1.CAPApplication, sub payload.Subscription) (bool, *v1alpha1.CAPTenant, error) {
	logger := klog.FromContext(ctx)
	name := TenantName(ca.Name, sub.TenantID)
	version, err := s.dir.LatestVersion(ca)
	if err != nil {
		return false, nil, err
	}
	secret, createdSecret, err := s.writeContextSecret(ctx, ca.Namespace, name+"-context", sub)
	if err != nil {
		return false, nil, err
	}
	cat, err := s.sme.SmeV1alpha1().CAPTenants(ca.Namespace).Create(ctx, newTenant(ca, sub, name, secret.Name, version), metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		cur, getErr := s.sme.SmeV1alpha1().CAPTenants(ca.Namespace).Get(ctx, name, metav1.GetOptions{})
		if getErr != nil {
			return false, nil, fmt.Errorf("reading the CAPTenant %s: %w", name, getErr)
		}
		if !ownsTenant(ca, cur, sub.TenantID) {
			return false, nil, httperr.New(http.StatusConflict, fmt.Sprintf("CAPTenant %s/%s exists but is not the tenant %s of CAPApplication %s",
				ca.Namespace, name, sub.TenantID, ca.Name), nil)
		}
		return false, cur, nil
	}
	if err != nil {
		if createdSecret {
			if delErr := s.kube.CoreV1().Secrets(ca.Namespace).Delete(context.WithoutCancel(ctx), secret.Name, metav1.DeleteOptions{}); delErr != nil {
				logger.Error(delErr, "Removing the orphaned subscription-context Secret failed", "secret", klog.KObj(secret))
			}
		}
		return false, nil, fmt.Errorf("creating the CAPTenant: %w", err)
	}
	// The owner reference makes the Secret go with the tenant.
	secret.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "CAPTenant", Name: cat.Name, UID: cat.UID,
	}}
	if _, err := s.kube.CoreV1().Secrets(ca.Namespace).Update(ctx, secret, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return false, nil, fmt.Errorf("setting the owner of the subscription-context Secret: %w", err)
	}
	logger.Info("Created tenant", "tenant", klog.KObj(cat), "tenantId", sub.TenantID, "app", klog.KObj(ca))
	return true, cat, nil
}

// writeContextSecret creates the subscription-context Secret (created=true), or takes over one
// left by an interrupted earlier attempt or written by a concurrent request for the same
// tenant id.
func (s *Server) writeContextSecret(ctx context.Context, namespace, name string, sub payload.Subscription) (*corev1.Secret, bool, error) {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: namespace,
			Labels:    tenant.ContextSecretLabels(sub.TenantID, sub.GUID),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{v1alpha1.SubscriptionContextKey: sub.Raw},
	}
	created, err := s.kube.CoreV1().Secrets(namespace).Create(ctx, secret, metav1.CreateOptions{FieldManager: FieldManager})
	if err == nil {
		return created, true, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, false, fmt.Errorf("creating the subscription-context Secret: %w", err)
	}
	var result *corev1.Secret
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := s.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading the subscription-context Secret: %w", err)
		}
		if cur.Labels[v1alpha1.LabelBTPTenantIdentifier] != sub.TenantID {
			return httperr.New(http.StatusConflict, fmt.Sprintf("Secret %s/%s exists but is not the subscription context of tenant %s", namespace, name, sub.TenantID), nil)
		}
		if len(cur.OwnerReferences) > 0 || cur.Labels[v1alpha1.LabelSubscriptionGUID] == sub.GUID {
			result = cur // a concurrent request for the same subscription wrote it
			return nil
		}
		cur.Labels[v1alpha1.LabelSubscriptionGUID] = sub.GUID
		cur.Data = secret.Data
		result, err = s.kube.CoreV1().Secrets(namespace).Update(ctx, cur, metav1.UpdateOptions{FieldManager: FieldManager})
		return err
	})
	if err != nil {
		var se *httperr.Error
		if errors.As(err, &se) {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("updating the subscription-context Secret: %w", err)
	}
	return result, false, nil
}

// newTenant builds a consumer CAPTenant as the tenant controller's prepare step would leave
// it (identity labels and annotations, finalizer, no owner reference: see
// tenant.WithoutApplicationOwner) and on the application's latest Ready version ("" when there
// is none yet: the application controller sets it). The controller then has nothing to update
// before it starts the provisioning.
func newTenant(ca *v1alpha1.CAPApplication, sub payload.Subscription, name, secretName, version string) *v1alpha1.CAPTenant {
	return ConsumerTenant(ca, sub.TenantID, sub.Subdomain, sub.GUID, name, secretName, version)
}

// ConsumerTenant builds the consumer CAPTenant name of ca that a subscription of the tenant
// creates (see newTenant); the benchmark creates its tenants with it.
func ConsumerTenant(ca *v1alpha1.CAPApplication, tenantID, subdomain, guid, name, secretName, version string) *v1alpha1.CAPTenant {
	id := tenant.TenantIdentity(ca, tenantID, v1alpha1.TenantTypeConsumer, guid)
	id.Annotations[v1alpha1.AnnotationSubscriptionContextSecret] = secretName
	return &v1alpha1.CAPTenant{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ca.Namespace,
			Labels: id.Labels, Annotations: id.Annotations,
			Finalizers: []string{v1alpha1.FinalizerCAPTenant},
		},
		Spec: v1alpha1.CAPTenantSpec{
			CAPApplicationInstance: ca.Name,
			BTPTenantIdentification: v1alpha1.BTPTenantIdentification{
				SubDomain: subdomain,
				TenantId:  tenantID,
			},
			Version: version,
		},
	}
}

// updateSubscription records a new subscription GUID on the tenant and its Secret.
func (s *Server) updateSubscription(ctx context.Context, cat *v1alpha1.CAPTenant, sub payload.Subscription) (*v1alpha1.CAPTenant, error) {
	cat = cat.DeepCopy()
	if cat.Labels == nil {
		cat.Labels = map[string]string{}
	}
	if cat.Annotations == nil {
		cat.Annotations = map[string]string{}
	}
	cat.Labels[v1alpha1.LabelSubscriptionGUID] = sub.GUID
	cat.Annotations[v1alpha1.AnnotationSubscriptionGUID] = sub.GUID
	updated, err := s.sme.SmeV1alpha1().CAPTenants(cat.Namespace).Update(ctx, cat, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, fmt.Errorf("updating the CAPTenant: %w", err)
	}
	if name := cat.Annotations[v1alpha1.AnnotationSubscriptionContextSecret]; name != "" {
		if err := s.updateContextSecret(ctx, cat.Namespace, name, sub); err != nil {
			return nil, err
		}
	}
	klog.FromContext(ctx).Info("Updated tenant subscription", "tenant", klog.KObj(updated), "tenantId", sub.TenantID)
	return updated, nil
}

// updateContextSecret stores the new payload and GUID in the subscription-context Secret.
func (s *Server) updateContextSecret(ctx context.Context, namespace, name string, sub payload.Subscription) error {
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
	secret.Labels[v1alpha1.LabelSubscriptionGUID] = sub.GUID
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	secret.Data[v1alpha1.SubscriptionContextKey] = sub.Raw
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
