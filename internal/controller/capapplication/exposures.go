package capapplication

import (
	"context"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// exposureReconciler creates the service-exposure VirtualServices of an application's latest
// Ready version. It is provided by the networking code; nil when not wired.
type exposureReconciler func(ctx context.Context, ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) error

// reconcileExposures runs the service-exposure reconciler when one is wired.
func (ctl *Controller) reconcileExposures(ctx context.Context, ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) error {
	if ctl.exposures == nil {
		return nil
	}
	return ctl.exposures(ctx, ca, cav)
}
