package captenant

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// computeStatus returns the status a decision gives the tenant.
func computeStatus(cat *v1alpha1.CAPTenant, d tenant.Decision) v1alpha1.CAPTenantStatus {
	status := *cat.Status.DeepCopy()
	if d.State != "" {
		status.State = d.State
	}
	if d.Condition != nil {
		c := *d.Condition
		c.ObservedGeneration = cat.Generation
		meta.SetStatusCondition(&status.Conditions, c)
		status.ObservedGeneration = cat.Generation
	}
	status.CurrentCAPApplicationVersionInstance = d.Current
	status.PreviousCAPApplicationVersions = d.Previous
	return status
}

// writeStatus writes the computed status when it differs from the stored one and reports
// whether it wrote.
func (ctl *Controller) writeStatus(ctx context.Context, cat *v1alpha1.CAPTenant, d tenant.Decision) (bool, error) {
	status := computeStatus(cat, d)
	if apiequality.Semantic.DeepEqual(status, cat.Status) {
		return false, nil
	}
	updated := cat.DeepCopy()
	updated.Status = status
	_, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(cat.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	return err == nil, err
}
