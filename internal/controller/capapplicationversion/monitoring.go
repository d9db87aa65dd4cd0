package capapplicationversion

import (
	"context"
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ensureServiceMonitor creates or corrects the ServiceMonitor of a workload with a scrape
// configuration. Without the ServiceMonitor API the configuration is skipped.
func (ctl *Controller) ensureServiceMonitor(ctx context.Context, in versionrender.Input, w *v1alpha1.WorkloadDetails) error {
	sm, err := versionrender.NewServiceMonitor(in, w)
	if err != nil || sm == nil {
		return err
	}
	if !ctl.c.APIs.ServiceMonitors || ctl.serviceMonitors == nil {
		klog.FromContext(ctx).Info("ServiceMonitor API not served, skipping the scrape configuration", "workload", w.Name)
		return nil
	}
	if _, _, err = controller.EnsureChild(ctx, ctl.serviceMonitorChild(), sm); err != nil {
		return fmt.Errorf("service monitor %s: %w", sm.Name, err)
	}
	return nil
}

func (ctl *Controller) serviceMonitorChild() controller.Child[*monitoringv1.ServiceMonitor] {
	return controller.Child[*monitoringv1.ServiceMonitor]{
		Kind: "ServiceMonitor",
		Live: controller.LiveMetadata(ctl.c.Clients.Metadata, monitoringv1.SchemeGroupVersion.WithResource("servicemonitors")),
		Get: func(ns, n string) (*monitoringv1.ServiceMonitor, error) {
			return ctl.serviceMonitors.ServiceMonitors(ns).Get(n)
		},
		Client: func(ns string) controller.Writer[*monitoringv1.ServiceMonitor] {
			return ctl.c.Clients.Monitoring.MonitoringV1().ServiceMonitors(ns)
		},
		Spec:     func(o *monitoringv1.ServiceMonitor) any { return o.Spec },
		SetSpec:  func(desired, actual *monitoringv1.ServiceMonitor) { actual.Spec = desired.Spec },
		DeepCopy: (*monitoringv1.ServiceMonitor).DeepCopy,
	}
}

// exposureDomainsReady makes a version with service exposures wait until every domain its
// application references is Ready, since its routes are served on them.
func (ctl *Controller) exposureDomainsReady(in versionrender.Input) *outcome {
	if len(in.CAV.Spec.ServiceExposures) == 0 {
		return nil
	}
	if _, err := domainref.Resolve(in.CA, ctl.domains, ctl.clusterDoms, ctl.c.Options.OperatorNamespace); err != nil {
		return ptr.To(waiting(ReasonWaitingForDNSEntries, "waiting for the application's domains: %v", err))
	}
	return nil
}
