package capapplication

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/util/retry"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// upgradeWorkers bounds the concurrent tenant updates of one upgrade pass.
const upgradeWorkers = 8

// upgradeTenants moves every tenant that follows the latest version to it, in one pass: each
// tenant is updated on its own, a conflict on one is retried for that tenant only, and one
// failure does not stop the others. It completes the outcome with AllTenantsReady.
func (ctl *Controller) upgradeTenants(ctx context.Context, ca *v1alpha1.CAPApplication, latest *v1alpha1.CAPApplicationVersion, o outcome) (outcome, error) {
	var toUpdate []*v1alpha1.CAPTenant
	notReady := 0
	tenants, err := ctl.appTenants(ca)
	if err != nil {
		return o, err
	}
	for _, t := range tenants {
		if needsUpgrade(t, latest) {
			toUpdate = append(toUpdate, t)
			continue
		}
		if !tenantReady(t, latest) {
			notReady++
		}
	}
	err = ctl.setTenantVersions(ctx, toUpdate, latest.Spec.Version)
	switch {
	case len(toUpdate) > 0:
		msg := fmt.Sprintf("moving %d tenants to version %s", len(toUpdate), latest.Spec.Version)
		ctl.c.Recorder.Eventf(ca, nil, corev1.EventTypeNormal, ReasonTenantUpgrade, "CheckForVersion", "%s", msg)
		o.state = v1alpha1.CAPApplicationStateProcessing
		o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeAllTenantsReady, false, ReasonTenantUpgrade, msg))
	case notReady > 0:
		o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeAllTenantsReady, false, ReasonNotAllTenantsReady, fmt.Sprintf("%d tenants are not Ready on their target version", notReady)))
	default:
		o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeAllTenantsReady, true, ReasonAllTenantsReady, "all tenants are Ready"))
	}
	return o, err
}

// needsUpgrade reports whether a tenant should be moved to the latest version: it follows
// upgrades, is not in the middle of an operation and targets another version.
func needsUpgrade(t *v1alpha1.CAPTenant, latest *v1alpha1.CAPApplicationVersion) bool {
	if t.Spec.VersionUpgradeStrategy == v1alpha1.VersionUpgradeStrategyNever || t.DeletionTimestamp != nil {
		return false
	}
	switch t.Status.State {
	case v1alpha1.CAPTenantStateProvisioning, v1alpha1.CAPTenantStateUpgrading, v1alpha1.CAPTenantStateDeleting:
		return false
	}
	return t.Spec.Version != latest.Spec.Version
}

// tenantReady reports whether a tenant is Ready and, when it follows upgrades, on the latest
// version.
func tenantReady(t *v1alpha1.CAPTenant, latest *v1alpha1.CAPApplicationVersion) bool {
	if t.Status.State != v1alpha1.CAPTenantStateReady {
		return false
	}
	return t.Spec.VersionUpgradeStrategy == v1alpha1.VersionUpgradeStrategyNever || t.Status.CurrentCAPApplicationVersionInstance == latest.Name
}

// setTenantVersions sets spec.version of the tenants, concurrently, retrying conflicts per
// tenant with a fresh read, and returns the aggregated failures.
func (ctl *Controller) setTenantVersions(ctx context.Context, tenants []*v1alpha1.CAPTenant, version string) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		work = make(chan *v1alpha1.CAPTenant)
	)
	for range min(upgradeWorkers, len(tenants)) {
		wg.Go(func() {
			for t := range work {
				if err := ctl.setTenantVersion(ctx, t, version); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, t := range tenants {
		work <- t
	}
	close(work)
	wg.Wait()
	return utilerrors.NewAggregate(errs)
}

// setTenantVersion sets one tenant's spec.version and records an event on it.
func (ctl *Controller) setTenantVersion(ctx context.Context, cached *v1alpha1.CAPTenant, version string) error {
	client := ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(cached.Namespace)
	t := cached.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		t.Spec.Version = version
		_, err := client.Update(ctx, t, metav1.UpdateOptions{FieldManager: controller.FieldManager})
		if err == nil {
			return nil
		}
		fresh, getErr := client.Get(ctx, t.Name, metav1.GetOptions{})
		if getErr != nil {
			return err
		}
		t = fresh
		return err
	})
	if err != nil {
		return fmt.Errorf("setting version %s on tenant %s: %w", version, cached.Name, err)
	}
	// No event per tenant: a rollout to hundreds of tenants would write as many events. The
	// application's NewCAVTriggeredTenantUpgrade event counts them, and each tenant records
	// its upgrade operation.
	return nil
}
