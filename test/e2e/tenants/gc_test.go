package tenants

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller/capapplication"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestApplicationDeletionKeepsConsumers deletes a CAPApplication with subscribed consumers
// the way tools do (Argo CD prunes with foreground deletion, kubectl deletes in the
// background) while the real garbage collector of kube-controller-manager runs. A consumer
// tenant must stay Ready and undeleted: only its own deletion or an unsubscription may
// deprovision it. The application waits, saying why. The consumer starts with the controller
// owner reference earlier versions wrote, which the controller removes.
func TestApplicationDeletionKeepsConsumers(t *testing.T) {
	for name, policy := range map[string]metav1.DeletionPropagation{
		"foreground": metav1.DeletePropagationForeground,
		"background": metav1.DeletePropagationBackground,
	} {
		t.Run(name, func(t *testing.T) {
			env := testenv.Current()
			ns := env.NewNamespace(t)
			ctx := context.Background()
			client := sme(env).SmeV1alpha1()
			ca, v1, _ := startWithVersion1(t, env, ns)

			legacyRef := metav1.NewControllerRef(ca, v1alpha1.SchemeGroupVersion.WithKind("CAPApplication"))
			consumer := &v1alpha1.CAPTenant{
				ObjectMeta: metav1.ObjectMeta{Name: "consumer", Namespace: ns, OwnerReferences: []metav1.OwnerReference{*legacyRef},
					Labels: map[string]string{v1alpha1.LabelTenantType: v1alpha1.TenantTypeConsumer}},
				Spec: v1alpha1.CAPTenantSpec{CAPApplicationInstance: ca.Name,
					BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "consumer-one", TenantId: "consumer-id"}},
			}
			if _, err := client.CAPTenants(ns).Create(ctx, consumer, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			waitTenant(t, env, ns, "consumer", func(c *v1alpha1.CAPTenant) bool {
				return readyOn(v1.Name)(c) && len(c.OwnerReferences) == 0
			})
			// A canary with a plain (non-controller) owner reference shows that the
			// collector cascades: any owner reference would have taken the tenant along.
			canary := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "canary", Namespace: ns, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "CAPApplication", Name: ca.Name, UID: ca.UID}}}}
			if _, err := env.Clientset().CoreV1().ConfigMaps(ns).Create(ctx, canary, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}

			if err := client.CAPApplications(ns).Delete(ctx, ca.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(policy)}); err != nil {
				t.Fatal(err)
			}
			// The provider tenant goes (deprovisioned) as the application's guard decides.
			testenv.Eventually(t, timeout, func() (bool, error) {
				_, err := client.CAPTenants(ns).Get(ctx, providerTenant, metav1.GetOptions{})
				return apierrors.IsNotFound(err), err
			})
			if policy == metav1.DeletePropagationForeground {
				testenv.Eventually(t, timeout, func() (bool, error) {
					_, err := env.Clientset().CoreV1().ConfigMaps(ns).Get(ctx, canary.Name, metav1.GetOptions{})
					return apierrors.IsNotFound(err), err
				})
			}
			testenv.Eventually(t, timeout, func() (bool, error) {
				got, err := client.CAPApplications(ns).Get(ctx, ca.Name, metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionTypeReady)
				if got.Status.State != v1alpha1.CAPApplicationStateDeleting || c == nil || c.Reason != capapplication.ReasonTenantsExist ||
					!strings.Contains(c.Message, "1 consumer tenants are still subscribed") {
					return false, fmt.Errorf("state %q, Ready %+v", got.Status.State, c)
				}
				return true, nil
			})
			got := waitTenant(t, env, ns, "consumer", readyOn(v1.Name))
			if got.DeletionTimestamp != nil {
				t.Fatalf("the consumer tenant is being deleted: %v", got.DeletionTimestamp)
			}
			for _, op := range operations(t, env, ns, "consumer") {
				if op.Spec.Operation == "deprovisioning" {
					t.Fatalf("the consumer tenant was deprovisioned by %s", op.Name)
				}
			}

			// Unsubscribing the consumer lets the application go.
			if err := client.CAPTenants(ns).Delete(ctx, "consumer", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, timeout, func() (bool, error) {
				_, err := client.CAPApplications(ns).Get(ctx, ca.Name, metav1.GetOptions{})
				return apierrors.IsNotFound(err), err
			})
		})
	}
}
