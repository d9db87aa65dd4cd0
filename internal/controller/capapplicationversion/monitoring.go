package capapplicationversion

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/capapplicationversion/render"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ensureServiceMonitor creates or corrects the ServiceMonitor of a workload with a scrape
// configuration. ServiceMonitors are rare, so they are read from the API rather than
// through an informer. Without the ServiceMonitor API the configuration is skipped.
func (ctl *Controller) ensureServiceMonitor(ctx context.Context, in render.Input, w *v1alpha1.WorkloadDetails) error {
	sm, err := render.NewServiceMonitor(in, w)
	if err != nil || sm == nil {
		return err
	}
	if !ctl.c.APIs.ServiceMonitors {
		klog.FromContext(ctx).Info("ServiceMonitor API not served, skipping the scrape configuration", "workload", w.Name)
		return nil
	}
	client := ctl.c.Clients.Monitoring.MonitoringV1().ServiceMonitors(sm.Namespace)
	actual, err := client.Get(ctx, sm.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = client.Create(ctx, sm, metav1.CreateOptions{FieldManager: controller.FieldManager})
		return err
	}
	if err != nil {
		return fmt.Errorf("service monitor %s: %w", sm.Name, err)
	}
	if controller.ContainsAll(actual.Labels, sm.Labels) && !controller.Drifted(sm.Spec, actual.Spec) {
		return nil
	}
	updated := actual.DeepCopy()
	updated.Labels = controller.MergeMaps(actual.Labels, sm.Labels)
	updated.Spec = sm.Spec
	_, err = client.Update(ctx, updated, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	return err
}

// exposureDomainsReady makes a version with service exposures wait until every domain its
// application references is Ready, since its routes are served on them.
func (ctl *Controller) exposureDomainsReady(in render.Input) *outcome {
	if len(in.CAV.Spec.ServiceExposures) == 0 {
		return nil
	}
	if _, err := domainref.Resolve(in.CA, ctl.domains, ctl.clusterDoms, ctl.c.Options.OperatorNamespace); err != nil {
		return ptr.To(waiting(ReasonWaitingForDNSEntries, "waiting for the application's domains: %v", err))
	}
	return nil
}
